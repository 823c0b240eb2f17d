"""Imported by the tracing fork server (and by each worker): make the first real trace as fast as the rest.

It also sets up the process for tracing (one thread, quiet library warnings, torch's C++ meta kernels where its
Python ones shadow them: `nar_data.build.meta_kernels`), so it is for trace processes, not a user's.

The first trace in a process imports and initialises much of torch (``torch._dispatch``, fake tensors,
the python dispatcher): seconds that must not be billed to, or time out, the first model.
"""

from __future__ import annotations

_done = False


def warm_up() -> None:
    global _done
    if _done:
        return
    import torch

    torch.set_num_threads(1)  # one core per worker; also no OpenMP pool exists before the fork
    from .build.meta_kernels import prefer_native_meta_kernels

    prefer_native_meta_kernels()  # C++ meta kernels where torch's Python ones shadow them (a trace process only)
    import logging
    import warnings

    # Default configs trip many harmless library warnings (token ids, init changes): keep the logs readable.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in ("transformers", "timm", "torch._export", "torch.export"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
    except ImportError:
        pass
    from .build.tiny import tiny_model
    from .tracing import library_versions, trace_module

    library_versions()
    module, args = tiny_model("transformer_block")
    trace_module(module, args)
    _warm_transformers()
    _done = True


def _warm_transformers() -> None:
    """Build and trace a one-layer BERT: the first transformers model of a process otherwise pays for importing
    ``modeling_utils`` and the attention, mask and output-capturing code (about 2 s, on every fresh worker)."""
    import importlib.util

    if importlib.util.find_spec("transformers") is None:
        return
    from .sources import ModelRef
    from .sources.transformers import build_from_config
    from .tracing import trace_built

    config = {"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 16, "num_attention_heads": 2,
              "intermediate_size": 32, "vocab_size": 64, "max_position_embeddings": 32}
    try:
        trace_built(ModelRef("local", "warm-up"), build_from_config(config, architecture="BertModel"), {})
    except Exception:  # noqa: BLE001 - a warm-up only; a broken transformers shows on the first real model
        pass


warm_up()
