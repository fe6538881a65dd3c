"""The documentation's Python examples run, against a live echo server, and its API reference
covers every public name.

Every ```python block under docs/ runs in a fresh interpreter, with ``ws://127.0.0.1:8765/``
pointed at omniws' embedded echo server (the mechanism of tests/test_readme.py). A block is
left out only when the line before it says so, with its reason:

    <!-- not run: needs a wss:// server with a certificate from that CA -->
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import omniws

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLACEHOLDER = "ws://127.0.0.1:8765/"
BLOCK = re.compile(r"(?:^<!--\s*(.*?)\s*-->\n)?^```python\n(.*?)^```", re.M | re.S)


def _blocks() -> list[tuple[str, str, str]]:
    """(where, marker, code) of every Python block of the docs' Markdown pages."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        if "_build" in page.parts:
            continue
        text = page.read_text()
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start(2))
            where = f"{page.relative_to(DOCS)}:{line}"
            found.append((where, match.group(1) or "", match.group(2)))
    return found


BLOCKS = _blocks()
RUN = [(where, marker, code) for where, marker, code in BLOCKS if not marker.startswith("not run")]


def test_the_docs_have_examples_and_few_are_left_out() -> None:
    assert len(RUN) >= 20
    left_out = [marker for _, marker, _ in BLOCKS if marker.startswith("not run")]
    assert len(left_out) <= len(BLOCKS) // 4
    for marker in left_out:  # each says why
        assert re.fullmatch(r"not run: \S.{10,}", marker), marker


def test_every_marker_is_known() -> None:
    for where, marker, _ in BLOCKS:
        assert marker == "" or re.fullmatch(r"not run: .+", marker), where


@pytest.mark.parametrize(("where", "marker", "code"), RUN, ids=[where for where, _, _ in RUN])
def test_docs_example_runs(where: str, marker: str, code: str, tmp_path: Path) -> None:
    runner = tmp_path / "run_example.py"
    runner.write_text(
        "import asyncio, threading\n"
        "from omniws.cli.demo_server import start_echo_server\n"
        "loop = asyncio.new_event_loop()\n"
        "server = loop.run_until_complete(start_echo_server())\n"
        "threading.Thread(target=loop.run_forever, daemon=True).start()\n"
        f"code = {code!r}.replace({PLACEHOLDER!r}, server.url)\n"
        f"exec(compile(code, {where!r}, 'exec'), {{'__name__': '__main__'}})\n"
    )
    result = subprocess.run(
        [sys.executable, str(runner)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"{where} failed:\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"{where} printed nothing"


def test_the_api_reference_covers_every_public_name() -> None:
    reference = (DOCS / "api" / "index.md").read_text()
    documented = set(re.findall(r"^\.\. (?:auto\w+|py:data):: omniws\.(\w+)", reference, re.M))
    assert documented == set(omniws.__all__)


def test_the_sync_reference_covers_omniws_sync() -> None:
    reference = (DOCS / "api" / "sync.md").read_text()
    documented = set(re.findall(r"^\.\. auto\w+:: omniws\.sync\.(\w+)", reference, re.M))
    import omniws.sync

    assert documented == set(omniws.sync.__all__) == {"connect", "Connection", "WebSocketClient"}
