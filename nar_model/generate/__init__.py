"""Hierarchical generative NAS: a cell space and a macro space, their modules, zero-cost proxies, a graph
VAE with a conditional flow in its latent, a macro transformer and a two-phase evolution search.

Pure torch/numpy: tracing generated networks into `Graph` rows happens in the product layer (`nar.generate`).
"""

from .cell import Cell, cell_hash, decode_cell, encode_cell, is_valid, repair, sample_cell, sample_cells
from .modules import CellModule, Network, build_op
from .skeleton import Macro, Stage, build_network, count_cost, macro_hash, sample_skeleton, skeleton_hash
from .zc import zc_scores

__all__ = ["Cell", "CellModule", "Macro", "Network", "Stage", "build_network", "build_op", "cell_hash",
           "count_cost", "decode_cell", "encode_cell", "is_valid", "macro_hash", "repair", "sample_cell",
           "sample_cells", "sample_skeleton", "skeleton_hash", "zc_scores"]
