"""One module per command group of the `nar` CLI; each exposes `register(app)`."""
