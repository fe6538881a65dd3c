// Run the omniws Pyodide suite (tests/wasm/suite.py) once in Node.js.
//
//   node tests/wasm/run_node.mjs <src dir> <suite.py> <env.json> <results.json>
//
// Loads Pyodide once from tests/wasm/node_modules/pyodide (no network), sets the npm `ws`
// client as globalThis.WebSocket (Node 20 has none by default, and its experimental one
// fires no close event after a failed handshake), mounts src/ read-only-in-spirit with
// mountNodeFS, runs the suite and writes {load_seconds, run_seconds, results} as JSON.
import { readFileSync, writeFileSync } from "node:fs";
import { loadPyodide } from "./node_modules/pyodide/pyodide.mjs";
import WebSocket from "./node_modules/ws/index.js";

const [srcDir, suitePath, envPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node run_node.mjs <src dir> <suite.py> <env.json> <results.json>");
  process.exit(2);
}

function fatal(what, error) {
  const text = `${what}: ${error && error.stack ? error.stack : error}`;
  console.error(text);
  writeFileSync(outPath, JSON.stringify({ fatal: text }));
  process.exit(1);
}
// A Python exception escaping a WebSocket callback would land here (and kill Node).
process.on("uncaughtException", (error) => fatal("uncaught exception", error));
process.on("unhandledRejection", (error) => fatal("unhandled rejection", error));

globalThis.WebSocket = WebSocket;
const t0 = performance.now();
const pyodide = await loadPyodide({ stdout: (s) => console.log(s), stderr: (s) => console.error(s) });
const loadSeconds = (performance.now() - t0) / 1000;

pyodide.FS.mkdirTree("/omniws_src");
pyodide.mountNodeFS("/omniws_src", srcDir);
pyodide.FS.mkdirTree("/omniws_tests");
pyodide.FS.writeFile("/omniws_tests/omniws_wasm_suite.py", readFileSync(suitePath));
pyodide.globals.set("ENV_JSON", readFileSync(envPath, "utf8"));

const t1 = performance.now();
let results;
try {
  results = await pyodide.runPythonAsync(`
import sys
sys.dont_write_bytecode = True  # nothing written into the mounted checkout
sys.path[:0] = ["/omniws_src", "/omniws_tests"]
import omniws_wasm_suite
await omniws_wasm_suite.run_all(ENV_JSON)
`);
} catch (error) {
  fatal("the suite did not run", error);
}
const runSeconds = (performance.now() - t1) / 1000;
writeFileSync(
  outPath,
  JSON.stringify({ load_seconds: loadSeconds, run_seconds: runSeconds, results: JSON.parse(results) }),
);
process.exit(0); // sockets still closing in the background must not keep Node alive
