"""Every Python example in the README runs, against a live echo server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
PLACEHOLDER = "ws://127.0.0.1:8765/"


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index: int, tmp_path: Path) -> None:
    code = EXAMPLES[index]
    assert PLACEHOLDER in code, "examples talk to the placeholder echo server URL"
    # a tiny runner: start the embedded echo server, point the example at it, run it
    runner = tmp_path / "run_example.py"
    runner.write_text(
        "import asyncio, sys\n"
        "from omniws.cli.demo_server import start_echo_server\n"
        "async def start():\n"
        "    return await start_echo_server()\n"
        "loop = asyncio.new_event_loop()\n"
        "server = loop.run_until_complete(start())\n"
        "import threading\n"
        "threading.Thread(target=loop.run_forever, daemon=True).start()\n"
        f"code = {code!r}.replace({PLACEHOLDER!r}, server.url)\n"
        "exec(compile(code, 'README example', 'exec'), {'__name__': '__main__'})\n"
    )
    result = subprocess.run(
        [sys.executable, str(runner)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the example printed nothing"
