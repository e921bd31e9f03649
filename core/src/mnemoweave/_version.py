"""The version of the whole mnemoweave suite: every distribution is released with this number.

This file is the one place to change it. The other packages' ``_version.py`` are symlinks to it,
and each ``pyproject.toml`` reads it through hatchling's dynamic version (see docs/packaging.md).
"""

__version__ = "0.2.0"
