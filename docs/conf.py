"""Sphinx configuration of the omniws documentation (scripts/docs builds it)."""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "src"))  # the checkout's omniws, installed or not

from omniws import __version__  # noqa: E402

project = "omniws"
author = "the omniws authors"
copyright = "the omniws authors, MIT licence"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"omniws {__version__}"
html_static_path: list[str] = []


def setup(app: Sphinx) -> dict[str, bool]:
    return {"parallel_read_safe": True}
