"""nar_model: Graph -> motifs -> macro graph -> encoders -> embeddings -> search and metrics.

Importing this package is cheap: torch and torch_geometric load only when an encoder is built.
Entry points: `nar_model.encoders.get_encoder`, `nar_model.data.load_graphs`,
`nar_model.evaluation.run_protocol`, `nar_model.checkpoint.load_checkpoint`.
"""

__all__ = ["checkpoint", "config", "data", "embed", "encoders", "evaluation", "losses", "macro", "metrics",
           "motifs", "nas", "search", "splits", "train"]
