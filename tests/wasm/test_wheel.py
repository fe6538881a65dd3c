"""The pure wheel that scripts/wheel builds installs with micropip inside Pyodide (Node.js)
from a local URL, and works there: omniws imports from site-packages, its metadata is the
checkout's version, and it echoes a message through a local server.

micropip is loaded into Pyodide from its wheel (scripts/setup-wasm.sh puts PyPI's copy in
tests/wasm/wheels/: the npm pyodide package ships none); the omniws wheel is installed with
``micropip.install(url)``, as a user would.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.server import ServerConnection, serve

from .conftest import HERE, ROOT, SETUP_HINT, require_node_modules

pytestmark = pytest.mark.wasm
VERSION = (ROOT / "src" / "omniws" / "_version.py").read_text().split('"')[1]
MICROPIP = HERE / "wheels" / "micropip-0.11.1-py3-none-any.whl"
TIMEOUT = 240.0  # seconds for building the wheel, or for loading Pyodide and installing


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/wheel's output, built into a temporary directory."""
    out = tmp_path_factory.mktemp("dist")
    argv = ["bash", str(ROOT / "scripts" / "wheel"), "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, f"scripts/wheel failed:\n{done.stderr[-3000:]}"
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == out / f"omniws-{VERSION}-py3-none-any.whl"
    return path


@pytest.fixture(scope="module")
def files_url(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 with the two wheels."""
    if not MICROPIP.is_file():
        pytest.fail(f"{MICROPIP} is missing: {SETUP_HINT}")
    root = tmp_path_factory.mktemp("served")
    for path in (wheel, MICROPIP):
        shutil.copy(path, root / path.name)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as http:
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{http.server_address[1]}"
        http.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    def echo(ws: ServerConnection) -> None:
        for message in ws:
            ws.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"
        server.shutdown()
        thread.join(timeout=10)


def test_the_wheel_is_pure(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith((".so", ".pyd", ".c"))]
    sources = ROOT / "src"
    modules = {p.relative_to(sources).as_posix() for p in sources.rglob("omniws/**/*.py")}
    assert modules and modules <= set(names)  # every module of the checkout is in it
    wheel_info = zipfile.ZipFile(wheel).read(f"omniws-{VERSION}.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: true" in wheel_info and "Tag: py3-none-any" in wheel_info


def test_micropip_installs_the_wheel_in_pyodide(
    wheel: Path, files_url: str, echo_url: str, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js (node) is not on PATH: install Node 18+ and {SETUP_HINT}")
    require_node_modules()
    out = tmp_path / "result.json"
    argv = [
        node,
        str(HERE / "install_wheel.mjs"),
        f"{files_url}/{MICROPIP.name}",
        f"{files_url}/{wheel.name}",
        echo_url,
        str(out),
    ]
    done = subprocess.run(
        argv, cwd=HERE, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert out.is_file(), f"node exited with {done.returncode}:\n{done.stderr[-3000:]}"
    report = json.loads(out.read_text())
    assert "fatal" not in report, report["fatal"]
    result = report["result"]
    assert done.returncode == 0
    assert result["micropip"] == "0.11.1"
    assert result["platform"] == "emscripten" and result["python"].startswith("3.")
    assert result["version"] == result["metadata_version"] == VERSION
    assert result["installer"] == "micropip"
    assert "/site-packages/omniws/" in result["file"]
    assert result["speedups"] == []
    assert "omniws" in result["listed"]
    assert result["echoed"] == "hello from the wheel"
