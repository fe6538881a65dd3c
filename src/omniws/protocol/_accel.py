"""Choose between the compiled accelerator and the pure-Python reference, once, at import.

The compiled module (``_speedups``, built from ``_speedups.c`` when a C compiler was
present at install time) is used whenever it can be imported on CPython. Setting the
environment variable ``OMNIWS_PURE_PYTHON`` to anything but ``""`` or ``"0"`` before omniws
is imported forces the pure-Python implementation (the reference; PyPy and Pyodide always
use it).
"""

from __future__ import annotations

import os
import platform
from types import ModuleType

__all__ = ["PURE_PYTHON_REQUESTED", "implementation", "speedups"]

PURE_PYTHON_REQUESTED = os.environ.get("OMNIWS_PURE_PYTHON", "") not in ("", "0")


def _load() -> ModuleType | None:
    if PURE_PYTHON_REQUESTED or platform.python_implementation() != "CPython":
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


_SPEEDUPS = _load()


def speedups() -> ModuleType | None:
    """The compiled module when it is in use, else None."""
    return _SPEEDUPS


def implementation() -> str:
    """``"compiled"`` when the C accelerator is in use, ``"python"`` otherwise."""
    return "compiled" if _SPEEDUPS is not None else "python"
