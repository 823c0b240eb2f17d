"""Imported by the tracing fork server (and by each worker): make the first real trace as fast as the rest.

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
    _done = True


warm_up()
