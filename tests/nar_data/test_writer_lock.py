"""Two writers of one dataset: the second waits for the first's lock instead of writing beside it."""

import subprocess
import sys
import time
from pathlib import Path

from nar_data.dataset import writer_lock

HOLD = """
import sys, time
from pathlib import Path
from nar_data.dataset import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "1.5"], stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "held"
    start = time.monotonic()
    with writer_lock(tmp_path):
        waited = time.monotonic() - start
    first.wait()
    assert waited > 1.0, "the lock was taken while the first writer still held it (it holds it 1.5 s)"
    assert (tmp_path / ".lock").read_text().strip().isdigit()


def test_the_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with writer_lock(tmp_path):  # would block for a minute if kill -9 left the lock held
        pass
