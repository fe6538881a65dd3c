"""examples/browser/serve.py as a process: a busy port and a browser that goes away while it
downloads are one line each on stderr, never a traceback; the page names the wheel it serves.

Pyodide and the wheel are stand-ins in a temporary directory (--pyodide, --wheel): these tests
need neither npm packages nor a build.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVE = Path(__file__).resolve().parents[2] / "examples" / "browser" / "serve.py"
BIG = 8 << 20  # bytes of the fake pyodide.asm.wasm: more than the socket buffers hold


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def stand_ins(tmp_path: Path) -> list[str]:
    pyodide = tmp_path / "pyodide"
    pyodide.mkdir()
    (pyodide / "pyodide.js").write_text("// not Pyodide\n")
    (pyodide / "pyodide.asm.wasm").write_bytes(b"\0" * BIG)
    wheel = tmp_path / "omniws-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"PK not really a wheel")
    return ["--pyodide", str(pyodide), "--wheel", str(wheel)]


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(SERVE), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("flag", "what"), [("--port", "the page"), ("--ws-port", "the echo server")]
)
def test_a_busy_port_is_one_line_and_exit_status_1(
    busy_port: int, stand_ins: list[str], flag: str, what: str
) -> None:
    other = "--ws-port" if flag == "--port" else "--port"
    done = serve(flag, str(busy_port), other, str(free_port()), *stand_ins)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"serve.py: port {busy_port} ({what}) is in use, by another serve.py perhaps: "
        f"stop that, or pass {flag} with a free port\n"
    )


def test_a_missing_pyodide_is_one_line(tmp_path: Path) -> None:
    done = serve("--pyodide", str(tmp_path), "--port", str(free_port()))
    assert done.returncode == 1
    assert done.stderr == (
        f"serve.py: no Pyodide in {tmp_path}: run scripts/setup-wasm.sh (or pass --pyodide)\n"
    )


def test_a_browser_leaving_mid_download_is_one_line(stand_ins: list[str], tmp_path: Path) -> None:
    http_port = free_port()
    argv = [sys.executable, str(SERVE), "--port", str(http_port), "--ws-port", str(free_port())]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err:
        proc = subprocess.Popen([*argv, *stand_ins], stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[2].startswith(f"open http://127.0.0.1:{http_port}/"), lines
        page = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=10).read()
        assert b'const OMNIWS_WHEEL = "/dist/omniws-9.9.9-py3-none-any.whl";' in page
        wheel_url = f"http://127.0.0.1:{http_port}/dist/omniws-9.9.9-py3-none-any.whl"
        assert urllib.request.urlopen(wheel_url, timeout=10).read() == b"PK not really a wheel"
        for _ in range(2):  # a tab closed while Pyodide downloads: a reset mid-answer
            with socket.create_connection(("127.0.0.1", http_port), timeout=10) as tab:
                tab.sendall(b"GET /pyodide/pyodide.asm.wasm HTTP/1.1\r\nHost: x\r\n\r\n")
                assert tab.recv(100).startswith(b"HTTP/1.0 200")
                tab.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        deadline = time.monotonic() + 30
        while err_path.read_text().count("went away") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None  # still serving
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    errors = err_path.read_text()
    assert "Traceback" not in errors
    gone = [line for line in errors.splitlines() if "went away" in line]
    assert len(gone) == 2
    assert all(line.startswith("http: 127.0.0.1 went away mid-answer (") for line in gone)
