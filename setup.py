"""Build the optional C accelerator (omniws.protocol._speedups).

Everything else is in pyproject.toml. The extension is skipped, with a warning, on
interpreters other than CPython, on Emscripten (Pyodide), when OMNIWS_NO_EXTENSIONS is set,
or when compiling fails (no compiler, no Python headers): the install then succeeds with the
pure-Python implementation, which omniws selects by itself at import.
"""

from __future__ import annotations

import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that warns and carries on, pure Python, when compiling fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # CCompilerError, DistutilsPlatformError, ...
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        message = (
            "WARNING: omniws: the optional C accelerator could not be built "
            f"({type(exc).__name__}: {exc}); installing the pure-Python implementation, "
            "which works everywhere but masks large messages more slowly."
        )
        print("*" * 78, message, "*" * 78, sep="\n", file=sys.stderr)


def extensions() -> list[Extension]:
    if (
        platform.python_implementation() != "CPython"
        or sys.platform == "emscripten"
        or os.environ.get("OMNIWS_NO_EXTENSIONS", "") not in ("", "0")
    ):
        return []
    args = [] if sys.platform == "win32" else ["-O3"]
    return [
        Extension(
            "omniws.protocol._speedups",
            ["src/omniws/protocol/_speedups.c"],
            depends=[f"src/omniws/protocol/_speedups_{h}.h" for h in ("mask", "decoder", "feed")],
            extra_compile_args=args,
            optional=True,
        )
    ]


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
