"""The same client tests as in Pyodide (suite.py), run natively on CPython."""

from __future__ import annotations

import pytest

from . import suite


@pytest.mark.parametrize("name", suite.names("native"))
async def test_native(wasm_servers: dict[str, str], name: str) -> None:
    await suite.run_one(name, wasm_servers)
