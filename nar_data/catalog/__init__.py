"""Reviewed data shipped inside the package: label rules, presets, the PyTorch Hub allow-list.

The files are package data (``pyproject.toml`` declares them), so a wheel install reads the same
catalog as a checkout. Library code reaches them only through `catalog_file`.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["CATALOG_DIR", "catalog_file"]

#: The folder holding the catalog files of the installed package.
CATALOG_DIR = Path(str(importlib.resources.files(__name__)))


def catalog_file(*parts: str) -> Path:
    """Path of a catalog file, e.g. ``catalog_file("presets", "demo.yaml")``."""
    return CATALOG_DIR.joinpath(*parts)
