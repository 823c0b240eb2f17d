"""The meta build: make a model's module on the meta device (no weights) with inputs it can run forward on.

``meta`` puts every parameter and buffer on meta, ``inputs`` holds the generic input rules and the recipe
registry, ``recipes/`` the per-model-type recipes, ``synthesis`` picks one for a model, ``shadow/`` gives the
few integer tensors a forward reads real CPU values, ``tiny`` builds tiny models for tests and warm-up, and
``tensors`` finds the tensors in an op's arguments (for the shadows and the recorder); ``meta_results``
reuses op results by argument metadata and ``meta_kernels`` lets trace processes run torch's C++ meta kernels.
Sources (`nar_data.sources`) build with these; `nar_data.tracing` only traces what was built. Importing
this package imports nothing heavy; torch loads with the modules that need it.
"""
