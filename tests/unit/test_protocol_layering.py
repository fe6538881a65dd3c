"""protocol/ is sans-I/O and takes plain values: inside omniws it imports only protocol/,
messages and errors (DESIGN.md, layout), and never asyncio, ssl, socket or js."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import omniws.protocol

PROTOCOL = Path(omniws.protocol.__file__).parent
ALLOWED_OMNIWS = {"omniws.messages", "omniws.errors"}
FORBIDDEN = {"asyncio", "ssl", "socket", "js", "pyodide", "selectors"}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module imported by ``path`` (relative imports resolved)."""
    package = ["omniws", "protocol"]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module or "")
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1])
            if node.module is None:  # from . import x: x is a module of the package
                names.update(f"{base}.{alias.name}" for alias in node.names)
            else:
                names.add(f"{base}.{node.module}")
    return names


SOURCES = sorted(PROTOCOL.glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_protocol_imports_only_protocol_messages_and_errors(path: Path) -> None:
    for name in imported_modules(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}: protocol/ does no I/O"
        if top == "omniws":
            assert name.startswith("omniws.protocol") or name in ALLOWED_OMNIWS, (
                f"{path.name} imports {name}: protocol/ takes plain values and may import only "
                "omniws.protocol, omniws.messages and omniws.errors"
            )


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_protocol_files_stay_short(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 300, f"{path.name}: split it by responsibility"
