"""Shadow values: real CPU values behind chosen meta tensors, so value-reading code runs on the meta device.

``values`` is the dispatch mode itself, ``indices`` the opt-in for Python-list indexing, ``wrap`` what a
source calls on a built model (`BuildConstants` while it is built, `with_shadow_values` on its forward).
"""

from .indices import SHADOW_LIST_INDICES, ListIndexShadows
from .values import DERIVED_LIMIT, SHADOW_LIMIT, ShadowValues
from .wrap import BuildConstants, with_shadow_values

__all__ = ["BuildConstants", "DERIVED_LIMIT", "SHADOW_LIMIT", "SHADOW_LIST_INDICES", "ListIndexShadows", "ShadowValues",
           "with_shadow_values"]
