"""Model-specific input recipes, registered into `nar_data.build.inputs.OVERRIDES` on import.

The generic rules of `nar_data.build.inputs` cover most models from their forward signature and
config; a model type they get wrong gets a small function here, in the module of its modality, with
``@override("model_type", ...)``. Each recipe returns the forward's keyword arguments (meta tensors,
or small CPU integer tensors whose values the forward reads, e.g. grids or token ids).
"""

from . import audio, multimodal, special  # noqa: F401  (registers their recipes)
