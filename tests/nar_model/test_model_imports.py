import subprocess
import sys


def test_import_nar_model_is_cheap_and_never_imports_prefect():
    code = ("import sys, nar_model, nar_model.metrics, nar_model.splits, nar_model.motifs, nar_model.search;"
            "bad = [m for m in ('prefect', 'torch_geometric') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
