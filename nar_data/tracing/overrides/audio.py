"""Input recipes for audio models the generic rules get wrong (see the package docstring)."""

from __future__ import annotations
