// Install omniws' pure wheel inside Pyodide (Node.js) with micropip, from a local URL, the
// way a user installs it, and use it: import it, read its metadata, echo one message.
//
//   node tests/wasm/install_wheel.mjs <micropip wheel URL> <omniws wheel URL> <echo ws URL> <out.json>
//
// Pyodide comes from tests/wasm/node_modules/pyodide (no network); the npm package ships no
// micropip, so micropip itself is loaded first with pyodide.loadPackage from its wheel's URL
// (scripts/setup-wasm.sh fetches that wheel). Writes {result} or {fatal} as JSON.
import { writeFileSync } from "node:fs";
import { loadPyodide } from "./node_modules/pyodide/pyodide.mjs";
import WebSocket from "./node_modules/ws/index.js";

const [micropipUrl, wheelUrl, echoUrl, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node install_wheel.mjs <micropip URL> <wheel URL> <echo URL> <out.json>");
  process.exit(2);
}
function fatal(what, error) {
  writeFileSync(outPath, JSON.stringify({ fatal: `${what}: ${error && error.stack ? error.stack : error}` }));
  process.exit(1);
}
process.on("uncaughtException", (error) => fatal("uncaught exception", error));
process.on("unhandledRejection", (error) => fatal("unhandled rejection", error));

globalThis.WebSocket = WebSocket;
let result;
try {
  const pyodide = await loadPyodide({ stdout: (s) => console.log(s), stderr: (s) => console.error(s) });
  await pyodide.loadPackage(micropipUrl);
  pyodide.globals.set("WHEEL_URL", wheelUrl);
  pyodide.globals.set("ECHO_URL", echoUrl);
  result = await pyodide.runPythonAsync(`
import json
import sys
from importlib import metadata

import micropip

await micropip.install(WHEEL_URL)
import omniws

async with omniws.connect(ECHO_URL) as ws:
    await ws.send("hello from the wheel")
    echoed = await ws.recv()

dist = metadata.distribution("omniws")
json.dumps({
    "micropip": micropip.__version__,
    "python": sys.version.split()[0],
    "platform": sys.platform,
    "version": omniws.__version__,
    "metadata_version": dist.version,
    "installer": (dist.read_text("INSTALLER") or "").strip(),
    "file": omniws.__file__,
    "speedups": [f.name for f in (dist.files or []) if f.name.endswith((".so", ".c"))],
    "listed": sorted(p for p in micropip.list()),
    "echoed": echoed,
})
`);
} catch (error) {
  fatal("installing or using the wheel failed", error);
}
writeFileSync(outPath, JSON.stringify({ result: JSON.parse(result) }));
process.exit(0);
