"""One measurement in its own process: ``python -m benchmarks.worker '<json>'``.

The JSON holds ``client``, ``loop`` (asyncio | uvloop), ``cpu`` (a core to pin to, or null) and
``params`` (the fields of ``common.Params``). The last stdout line is ``RESULT <json>``: the
client's own measurement, or ``{"skip": reason}`` when the client library does not import, or
``{"error": text}``. A blocking client (a module with ``run_sync``) is called from the main
thread without an event loop; the loop policy still applies to loops it creates. A trio
client (a module with ``run_trio``) runs under ``trio.run``, whatever ``loop`` says.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

CLIENT_MODULES = {
    "omniws": "benchmarks.clients.omniws_client",
    "websockets": "benchmarks.clients.websockets_client",
    "aiohttp": "benchmarks.clients.aiohttp_client",
    "picows": "benchmarks.clients.picows_client",
    "raw": "benchmarks.clients.raw_client",
    "omniws.sync": "benchmarks.clients.sync_omniws_client",
    "websockets.sync": "benchmarks.clients.sync_websockets_client",
    "websocket-client": "benchmarks.clients.sync_websocket_client_client",
    "omniws.trio": "benchmarks.clients.trio_omniws_client",
    "trio-websocket": "benchmarks.clients.trio_websocket_client",
    "websockets.trio": "benchmarks.clients.trio_websockets_client",
}


def _measure(spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.common import Params, raise_nofile

    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {int(spec["cpu"])})
    raise_nofile()
    os.environ.update(spec.get("env", {}))  # before the client imports (OMNIWS_TRANSPORT)
    try:
        module = importlib.import_module(CLIENT_MODULES[spec["client"]])
    except Exception as exc:  # a library being written may fail to import in any way
        traceback.print_exc()
        return {"skip": f"{spec['client']} does not import ({type(exc).__name__}: {exc})"}
    params = Params(**spec["params"])
    if spec["loop"] == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    if hasattr(module, "run_trio"):  # a trio client: no asyncio loop at all
        import trio

        trio_result: dict[str, Any] = trio.run(module.run_trio, params)
        return trio_result
    if hasattr(module, "run_sync"):  # a blocking client: called from this (the main) thread
        sync_result: dict[str, Any] = module.run_sync(params)
        return sync_result
    result: dict[str, Any] = asyncio.run(module.run(params))
    return result


def main() -> None:
    # measure the working tree's omniws, whether or not it is installed
    src = Path(__file__).resolve().parent.parent / "src"
    if (src / "omniws").is_dir():
        sys.path.insert(0, str(src))
    spec = json.loads(sys.argv[1])
    try:
        result = _measure(spec)
    except Exception as exc:
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print("RESULT " + json.dumps(result), flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no slow interpreter teardown: the measurement is done


if __name__ == "__main__":
    main()
