"""Sphinx configuration of the fieldnn documentation (Markdown pages via MyST)."""

from __future__ import annotations

import fieldnn

project = "fieldnn"
author = "The fieldnn developers"
copyright = "2026, the fieldnn developers"
release = fieldnn.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "markdown"}
myst_enable_extensions = ["dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3
napoleon_numpy_docstring = True
napoleon_google_docstring = False
# "Attributes" as :ivar: fields, so a documented attribute that is also a property is not
# described twice; "Public names" (the subpackages' module docstrings) as a plain section.
napoleon_use_ivar = True
napoleon_custom_sections = ["Public names"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
exclude_patterns = ["_build", "_*.md"]
html_static_path = ["_static"]
# Types in NumPy docstrings such as "array (P, d_in)" are prose, not references: an ambiguous
# word in them is not an error.
suppress_warnings = ["ref.python"]
html_theme = "alabaster"
nitpicky = False
