"""The wheel works on its own: built, installed into a fresh venv outside the checkout, `nar` traces and searches.

Offline and fast: the fresh venv reuses the current environment's third-party packages through a ``.pth`` line
(a path a ``.pth`` file adds gets no ``.pth`` processing of its own, so the editable install of this checkout
there stays inactive; the test checks that ``nar_data`` comes from the wheel) and the wheel is installed with
``--no-deps``. Nothing of the checkout is on the path: not the working directory, not ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    src = out / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    top = {".venv", "data", ".git", "build", "tests", ".pytest_cache"}  # only at the top: nar_data/build is code

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        return skip | (top & set(names) if Path(folder) == ROOT else set())

    shutil.copytree(ROOT, src, ignore=ignore)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
         out, dict(os.environ))
    (path,) = out.glob("nar-*.whl")
    return path


def test_the_wheel_carries_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("nar_data/catalog/labels.yaml", "nar_data/catalog/presets/demo.yaml",
                 "nar_data/catalog/presets/tiny.yaml", "nar_data/catalog/torch_hub.yaml",
                 "nar_data/testing/data/base_configs.json", "nar_data/build/synthesis.py",
                 "nar_data/build/shadow/values.py"):
        assert data in names, f"{data} is not in the wheel"
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_traces_a_preset_and_searches_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, dict(os.environ))
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path,
                     dict(os.environ)).strip())
    (site / "shared-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", NAR_DATA_DIR=str(tmp_path / "data"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         tmp_path, env)
    where = _run([str(py), "-c", "import nar_data, flows; print(nar_data.__file__); print(flows.__file__)"],
                 tmp_path, env)
    assert str(ROOT) not in where and where.count(str(site)) == 2, f"not the wheel's code: {where}"

    nar = str(venv / "bin" / "nar")
    data, ckpt = tmp_path / "data" / "tiny", tmp_path / "tiny.pt"
    out = _run([nar, "trace", "--preset", "tiny", "--workers", "1", "--out", str(data)], tmp_path, env)
    assert "0 failed" in out or "failed 0" in out, out
    _run([nar, "train", "--data", str(data), "--encoder", "wl", "--out", str(ckpt)], tmp_path, env)
    out = _run([nar, "search", "timm:resnet10t", "--data", str(data), "--ckpt", str(ckpt), "-k", "3", "--no-server"],
               tmp_path, env)
    assert "timm:resnet10t" in out or "resnet10t" in out, out
