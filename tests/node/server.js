#!/usr/bin/env node
// A Node.js `ws` server for the omniws integration tests, routed by path.
//
// Usage: node server.js --host 127.0.0.1 --port 8765
// Prints "READY <port>" once listening; stops on SIGTERM / SIGINT.
//
// Routes (the same contract as tests/integration/servers/py_server.py):
//   /echo                  echo text as text, binary as binary
//   /headers               send a JSON object of the request headers (lower-case), then echo
//   /subprotocol           the first offered of ["chat", "superchat"] is selected; send its
//                          name ("" when none), then echo
//   /close?code=C&reason=R close with that code and reason
//   /send?size=N           send one binary message of N bytes (bytes 0..255 repeated), then echo
//   /record?id=X           echo, and remember how the connection closed under X
//   /report?id=X           send {"code": ..., "reason": ...} recorded under X ({} if none), close
"use strict";

const http = require("http");
const { WebSocketServer } = require("ws");

const SUBPROTOCOLS = ["chat", "superchat"];
const MAX_RECORDS = 1000;

function parseArgs(argv) {
  const args = { host: "127.0.0.1", port: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--host") args.host = argv[++i];
    else if (argv[i] === "--port") args.port = Number(argv[++i]);
  }
  return args;
}

function pattern(size) {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 1) buf[i] = i & 0xff;
  return buf;
}

const closes = new Map();

function echo(ws) {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
}

function handle(ws, request) {
  const url = new URL(request.url, "http://localhost");
  const params = url.searchParams;
  switch (url.pathname) {
    case "/echo":
      echo(ws);
      break;
    case "/headers":
      ws.send(JSON.stringify(request.headers)); // Node lower-cases header names
      echo(ws);
      break;
    case "/subprotocol":
      ws.send(ws.protocol || "");
      echo(ws);
      break;
    case "/close":
      ws.close(Number(params.get("code") || "1000"), params.get("reason") || "");
      break;
    case "/send":
      ws.send(pattern(Number(params.get("size") || "0")), { binary: true });
      echo(ws);
      break;
    case "/record": {
      const id = params.get("id") || "";
      echo(ws);
      ws.on("close", (code, reason) => {
        if (closes.size >= MAX_RECORDS) closes.clear();
        closes.set(id, { code, reason: reason.toString("utf8") });
      });
      break;
    }
    case "/report": {
      const record = closes.get(params.get("id") || "") || {};
      ws.send(JSON.stringify(record), () => ws.close());
      break;
    }
    default:
      ws.close(4404, `no route ${url.pathname}`);
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const server = http.createServer((req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain" });
    res.end("WebSocket upgrade required\n");
  });
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: true,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (protocols) => {
      for (const name of protocols) {
        if (SUBPROTOCOLS.includes(name)) return name;
      }
      return false;
    },
  });
  wss.on("connection", handle);
  server.listen(args.port, args.host, () => {
    process.stdout.write(`READY ${server.address().port}\n`);
  });
  const stop = () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
