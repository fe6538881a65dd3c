"""The `omniws` command piped, as a script runs it: what it sends and prints, exit statuses."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from integration.support import free_port

from .conftest import COLOUR, SRC, environment, run

STAMP = r"\d\d:\d\d:\d\d\.\d\d\d"


def test_send_argument_print_reply_and_exit(py_server: str) -> None:
    result = run(f"{py_server}/echo", "-s", "hello", "-n", "1", "-t", "10")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{STAMP} > hello$", result.stdout, re.M)
    assert re.search(rf"^{STAMP} < hello$", result.stdout, re.M)
    assert "connected to" in result.stderr  # status lines go to standard error
    assert not COLOUR.search(result.stdout + result.stderr), "no colours when piped"


def test_piped_lines_are_sent_and_every_reply_printed(py_server: str) -> None:
    lines = [f"line {i}" for i in range(20)]
    result = run(f"{py_server}/echo", "-t", "20", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    received = re.findall(rf"^{STAMP} < (.*)$", result.stdout, re.M)
    assert received == lines
    assert "connection closed: 1000" in result.stderr


def test_raw_output_and_file_input(py_server: str, tmp_path: Path) -> None:
    messages = tmp_path / "messages.txt"
    messages.write_text("first\nsecond\n")
    result = run(f"{py_server}/echo", "-f", str(messages), "-n", "2", "--raw", "-t", "10")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "first\nsecond\n"
    assert result.stderr == ""


def test_headers_reach_the_server(py_server: str) -> None:
    result = run(
        f"{py_server}/headers",
        "-H",
        "X-Token: secret 1",
        "-H",
        "X-Other:2",
        "-n",
        "1",
        "--raw",
        "-t",
        "10",
    )
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout)
    assert headers["x-token"] == "secret 1"
    assert headers["x-other"] == "2"


def test_subprotocol_is_negotiated(py_server: str) -> None:
    result = run(f"{py_server}/subprotocol", "-p", "nope", "-p", "chat", "-n", "1", "-t", "10")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{STAMP} < chat$", result.stdout, re.M)
    assert "(subprotocol chat)" in result.stderr


def test_json_is_pretty_printed(py_server: str) -> None:
    result = run(
        f"{py_server}/echo",
        "-s",
        '{"a": [1, 2], "b": "c"}',
        "-n",
        "1",
        "--json",
        "--raw",
        "-t",
        "10",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == json.dumps({"a": [1, 2], "b": "c"}, indent=2) + "\n"


def test_binary_is_shown_as_hex(py_server: str) -> None:
    result = run(f"{py_server}/send?size=5", "-n", "1", "-t", "10")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{STAMP} < \[binary, 5 bytes\] 00 01 02 03 04$", result.stdout, re.M)


def test_refused_connection_exits_1() -> None:
    result = run(f"ws://127.0.0.1:{free_port()}/", "-s", "x", "-t", "20")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("omniws: error:")]
    assert len(errors) == 1 and "connect" in errors[0], result.stderr


def test_http_401_exits_1(py_server: str) -> None:
    result = run(f"{py_server}/status/401", "-s", "x", "-t", "20")
    assert result.returncode == 1
    assert "omniws: error: server rejected the WebSocket handshake with HTTP 401" in result.stderr


def test_bad_url_exits_2() -> None:
    result = run("http://127.0.0.1:1/", "-s", "x")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "omniws: error: url: scheme must be ws or wss, got 'http' (use ws:// instead)"
    )
    assert run("ws://", "-s", "x").returncode == 2
    missing = run("127.0.0.1:8765", "-s", "x")
    assert missing.returncode == 2 and "did you mean 'ws://127.0.0.1:8765/'?" in missing.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("ws://127.0.0.1:1/", "-H", "no colon").returncode == 2
    assert run("ws://127.0.0.1:1/", "-f", str(tmp_path / "missing")).returncode == 2
    assert run("ws://127.0.0.1:1/", "--insecure").returncode == 2  # TLS options need wss://
    assert run("ws://127.0.0.1:1/", "--max-size", "lots").returncode == 2
    assert run("ws://127.0.0.1:1/", "-p", "not a token", "-s", "x").returncode == 2
    assert run().returncode == 2  # no URL


def test_timeout_exits_3(py_server: str) -> None:
    result = run(f"{py_server}/echo", "-s", "once", "-n", "2", "-t", "1")
    assert result.returncode == 3
    assert "timed out after 1 s (--timeout), received 1 of 2 messages" in result.stderr


def test_server_close_without_reconnect(py_server: str) -> None:
    normal = run(f"{py_server}/close?code=1000", "--no-reconnect", "-t", "10")
    assert normal.returncode == 0, normal.stderr
    failed = run(f"{py_server}/close?code=4001&reason=bye", "--no-reconnect", "-t", "10")
    assert failed.returncode == 1
    assert "omniws: error: connection closed with code 4001 ('bye')" in failed.stderr


def test_insecure_warns_loudly() -> None:
    result = run(f"wss://127.0.0.1:{free_port()}/", "--insecure", "-s", "x", "-t", "10")
    assert result.returncode == 1
    assert "WARNING: --insecure: the server's certificate is NOT verified" in result.stderr


def test_help_documents_the_exit_statuses() -> None:
    result = run("--help")
    assert result.returncode == 0
    for line in (
        "0    done",
        "1    the connection failed",
        "2    usage",
        "3    --timeout",
        "130  interrupted",
    ):
        assert line in result.stdout


def test_demo_sends_and_exits(tmp_path: Path) -> None:
    """What `scripts/demo -s hello -n 1` runs: the installed console script."""
    script = Path(sys.executable).with_name("omniws")
    result = run("demo", "-s", "hello", "-n", "1", "-t", "10")
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{STAMP} < hello$", result.stdout, re.M)
    assert "demo: an echo server is listening on ws://127.0.0.1:" in result.stderr
    if script.exists():
        import subprocess

        piped = subprocess.run(
            [str(script), "demo", "-t", "10"],
            input="one\ntwo\n",
            capture_output=True,
            text=True,
            timeout=30,
            env=environment(),
        )
        assert piped.returncode == 0, piped.stderr
        assert re.findall(rf"^{STAMP} < (.*)$", piped.stdout, re.M) == ["one", "two"]


def test_the_command_runs_this_checkout_as_a_package() -> None:
    """``omniws.cli`` is a package (``main`` at its top, as the console script wants), and
    the processes the tests start import it from this checkout."""
    import subprocess

    code = "import omniws.cli as c, omniws; print(c.__file__); print(c.main.__module__)"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment()
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        str(SRC / "omniws" / "cli" / "__init__.py"),
        "omniws.cli.command",
    ]
    version = subprocess.run(
        [sys.executable, "-m", "omniws.cli", "--version"],
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert version.returncode == 0, version.stderr
    assert re.fullmatch(r"omniws \S+\n", version.stdout)
