"""train -> embed -> search through the `nar` CLI, on a tiny dataset with planted twins."""

import re

import pytest
from typer.testing import CliRunner

from nar_data.parquet import write_shard
from nar_data.testing import tiny_model
from nar_data.tracing import trace_module
from nar_model.config import EncoderConfig
from nar_model.embed import read_embeddings



@pytest.fixture(scope="module")
def dataset(tmp_path_factory, make_tiny_families):
    root = tmp_path_factory.mktemp("ds")
    graphs = make_tiny_families(3)
    # planted twins: the tiny `testing` models at another width (same structure, other shapes/arch_id)
    for name in ("cnn", "mlp"):
        module, args = tiny_model(name, width=16)
        graphs.append(trace_module(module, args, model_id=f"planted:{name}-twin", source="planted",
                                   family=f"twin-{name}", coarse="cnn"))
    write_shard(root, "graphs", graphs)
    return root


def test_train_embed_search_finds_the_planted_twin(dataset, tmp_path):
    from flows.cli import app

    runner = CliRunner()
    ckpt = tmp_path / "nar.pt"
    r = runner.invoke(app, ["train", "--data", str(dataset), "--out", str(ckpt), "--epochs", "3",
                            "--motif-epochs", "1"])
    assert r.exit_code == 0, r.output
    assert ckpt.is_file()
    r = runner.invoke(app, ["embed", "--data", str(dataset), "--ckpt", str(ckpt)])
    assert r.exit_code == 0, r.output
    version = re.search(r"with (nar-[0-9a-f]+)", r.output).group(1)
    ids, vectors = read_embeddings(dataset, version)
    c = EncoderConfig()
    assert len(ids) == 3 * 6 + 2 and vectors.shape[1] == c.dim <= 512
    for name in ("cnn", "mlp"):
        # an unseen model, built and traced on the fly by the `testing` source
        r = runner.invoke(app, ["search", f"testing:{name}", "--data", str(dataset), "--ckpt", str(ckpt), "-k", "3"])
        assert r.exit_code == 0, r.output
        first = [line for line in r.output.splitlines() if re.match(r"\s*│\s*1\s*│", line)]
        assert first and f"planted:{name}-twin" in first[0], r.output


def test_eval_prints_table1_and_writes_json(dataset, tmp_path):
    import json

    from flows.cli import app

    out = tmp_path / "eval.json"
    r = CliRunner().invoke(app, ["eval", "--data", str(dataset), "--encoders", "wl", "--test-fraction", "0.4",
                                 "--json-file", str(out)])
    assert r.exit_code == 0, r.output
    assert "| Data | Method | MRR@20/50/100" in r.output
    result = json.loads(out.read_text())["wl"]
    assert result["queries"] > 0 and 0.0 <= result["standard"]["map@20"] <= 1.0


def test_search_rejects_an_unresolvable_query(dataset, tmp_path):
    from flows.cli import app

    r = CliRunner().invoke(app, ["search", "no-such-arch", "--data", str(dataset), "--ckpt", str(tmp_path / "x.pt")])
    assert r.exit_code == 1 and "'no-such-arch' is not in the dataset" in r.output, r.output
    assert "Traceback" not in r.output


def test_search_server_answers_the_cli_and_says_what_is_wrong(dataset, tmp_path):
    import os

    from flows.cli import app
    from nar.search import make_server
    from nar_model.service import SERVER_FILE, SearchServiceError, find_server, remote_search

    ckpt = tmp_path / "wl.pt"
    r = CliRunner().invoke(app, ["train", "--data", str(dataset), "--out", str(ckpt), "--encoder", "wl"])
    assert r.exit_code == 0, r.output
    server = make_server(dataset, ckpt, warm=False).start()
    version = server.searcher.version
    try:
        assert server.url.startswith("http://127.0.0.1:") and find_server(dataset, version, ckpt) == server.url
        # the CLI finds the server through DATA/_search/server.json and prints its answer
        r = CliRunner().invoke(app, ["search", "testing:cnn", "--data", str(dataset), "--ckpt", str(ckpt), "-k", "3"])
        assert r.exit_code == 0 and f"by {server.url}" in r.output, r.output
        first = [line for line in r.output.splitlines() if re.match(r"\s*│\s*1\s*│", line)]
        assert first and "planted:cnn-twin" in first[0], r.output
        # the same one-line reason as in process, never a traceback
        with pytest.raises(SearchServiceError, match="'no-such-arch' is not in the dataset") as e:
            remote_search(server.url, {"query": "no-such-arch"})
        assert e.value.status == 400 and "Traceback" not in str(e.value)
        r = CliRunner().invoke(app, ["search", "testing:not-a-model", "--data", str(dataset), "--ckpt", str(ckpt)])
        # a build failure on the server: the same one line the CLI prints in process
        assert r.exit_code == 1 and r.output.startswith("Error: cannot build testing:not-a-model: ValueError: "
                                                        "Unknown tiny model"), r.output
        assert len(r.output.strip().splitlines()) == 1
        # a retrained checkpoint (new mtime) is not served by the old process
        os.utime(ckpt, (ckpt.stat().st_atime, ckpt.stat().st_mtime + 10))
        assert find_server(dataset, version, ckpt) is None
    finally:
        server.close()
    assert not (dataset / SERVER_FILE).exists() and find_server(dataset, version) is None
