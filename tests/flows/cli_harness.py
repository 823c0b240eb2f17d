"""`nar` for subprocess tests: the `testing` source registered, tracing workers that import only torch.

``NAR_TEST_NAMES=mlp,cnn,sleep`` picks the testing models a trace selects; each progress step prints
``ADVANCE <n>`` on stderr so a test knows when to send a signal.
"""

import functools
import os
import sys

import nar_data.testing  # noqa: F401 - registers the `testing` source
from flows import steps
from flows._progress import Reporter


def _patch() -> None:
    names = [n for n in os.environ.get("NAR_TEST_NAMES", "").split(",") if n]
    select, advance = steps.select_refs, Reporter.advance

    def select_refs(sources, preset=None, limit=None, names_=None, data=None):
        return select(sources, preset, limit, names or names_, data)

    def announce(self, *args, **kwargs):
        advance(self, *args, **kwargs)
        sys.stderr.write(f"ADVANCE {self.done}\n")  # not print(): a Prefect task would log it instead
        sys.stderr.flush()

    steps.select_refs = select_refs
    steps.trace = functools.partial(steps.trace, preload=["torch", "nar_data.testing"])
    Reporter.advance = announce


if __name__ == "__main__":  # the tracing fork server imports this module again: patch and run only once
    _patch()
    from flows.cli import main

    main()
