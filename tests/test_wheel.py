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


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """``(venv, env)``: a fresh venv outside the checkout with the wheel installed, and the environment to run it."""
    tmp = tmp_path_factory.mktemp("installed")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, dict(os.environ))
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp,
                     dict(os.environ)).strip())
    (site / "shared-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", NAR_DATA_DIR=str(tmp / "data"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)],
         tmp, env)
    where = _run([str(py), "-c", "import nar_data, flows; print(nar_data.__file__); print(flows.__file__)"], tmp, env)
    assert str(ROOT) not in where and where.count(str(site)) == 2, f"not the wheel's code: {where}"
    return venv, env


def test_installed_wheel_reads_its_package_data(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    venv, env = installed
    out = _run([str(venv / "bin" / "python"), "-c", "from nar_data.presets import list_presets, load_preset; "
                "from nar_data.testing.hub_fixtures import load_base_configs; "
                "print(sorted(list_presets())); print(sorted(load_preset('tiny'))); print(len(load_base_configs()))"],
               tmp_path, env)
    presets, tiny, configs = out.strip().splitlines()[-3:]
    assert "'tiny'" in presets and "'demo'" in presets
    assert tiny == "['timm', 'torchvision']" and int(configs) > 0


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_installed_wheel_traces_a_preset_and_searches_outside_the_checkout(installed: tuple[Path, dict[str, str]],
                                                                           tmp_path: Path) -> None:
    """The whole round on the installed wheel: trace a preset, train, search (about a minute when quiet)."""
    venv, env = installed
    nar = str(venv / "bin" / "nar")
    data, ckpt = tmp_path / "data" / "tiny", tmp_path / "tiny.pt"
    out = _run([nar, "trace", "--preset", "tiny", "--workers", "1", "--data", str(data)], tmp_path, env)
    assert "0 failed" in out or "failed 0" in out, out
    _run([nar, "train", "--data", str(data), "--encoder", "wl", "--ckpt", str(ckpt)], tmp_path, env)
    out = _run([nar, "search", "timm:resnet10t", "--data", str(data), "--ckpt", str(ckpt), "-k", "3", "--no-server"],
               tmp_path, env)
    assert "resnet10t" in out, out
