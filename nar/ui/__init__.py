"""nar's web page: `nar ui` serves search, a side-by-side graph view, an embedding map and a dataset page.

`nar.ui.server.create_app` builds the FastAPI app over a `nar.ui.backend.UiBackend`; the data behind each
view is computed in plain modules (`graphview`, `explanation`, `embedmap`, `datasetview`) that tests call
without a browser.
"""
