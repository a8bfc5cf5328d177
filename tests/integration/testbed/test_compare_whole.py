"""`millicent bench --compare sqlite,whole` of a transformer: millicent's layout (the
table-less graph, rows from a bundled SQLite store and the pack) against the same network
with its table inside (token ids in), both served by the real local platform.

A tiny BERT made here (random seeded weights, no download) is imported with `import hf`;
the testbed exports its whole model from the directory it was imported from (torch, in the
tooling), serves it with `millicent.baselines.whole_engine`, and the report sets the two
layouts side by side. The whole model answers what millicent's layout answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.config import FunctionConfig
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import handle
from tests.bench_support import kim_artifact
from tests.servers import REPO

pytestmark = pytest.mark.integration
pytest.importorskip("torch")

TEXTS = ["a charming, often affecting journey", "who wrote hamlet ?", "the film was boring",
         "Zoë's naïve façade 🍕"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from millicent.importer.hf.run import import_hf
    from tests.hf_support import bert_dir

    root = tmp_path_factory.mktemp("tiny-bert")
    source = bert_dir(root / "source")
    import_hf(source, "embed", root / "artifact", name="tiny")
    return root / "artifact"


def _compare(artifact: Path, data_dir: Path, out: Path, *extra: str) -> int:
    return main(["bench", "--compare", "sqlite,whole", "--model", f"tiny={artifact}",
                 "--concurrency", "1", "--limit", "12", "--warmup", "2", "--pack-top", "40",
                 "--cold-samples", "1", "--data-dir", str(data_dir), "--out", str(out),
                 "--no-progress", "--no-plots", *extra])


def test_whole_is_compared_with_millicents_layout(artifact: Path, data_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert _compare(artifact, data_dir, out, "--memory-mb", "192") == 0
    err = capsys.readouterr().err
    rows = {r["config"]: r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {"sqlite", "whole"}
    for name, row in rows.items():
        assert row["errors"] == 0 and row["ok"] == 12, name
        assert row["configuration"]["memory_mb"] == 192 and row["max_memory_mb"] > 0
    assert rows["whole"]["configuration"]["engine"] == "whole"
    assert rows["sqlite"]["configuration"]["engine"] == "onnxruntime"
    # the whole function looks nothing up; millicent's reads the pack and the store
    assert rows["whole"]["store"]["words_per_request"] == 0
    assert rows["sqlite"]["store"]["words_per_request"] > 0

    # the whole model was exported here, from the directory the artifact was imported from
    manifest = json.loads((artifact / "manifest.json").read_text())
    (whole_dir,) = (out / "deploy").glob("whole-embed-fp32-*")  # whole-cold: its logs
    description = json.loads((whole_dir / "whole.json").read_text())
    assert description["imported_from"] == manifest["training"]["imported_from"]
    assert description["files"] == manifest["training"]["files"]
    assert "whole: exporting" in err

    (goal,) = json.loads((out / "layout_goals.json").read_text())
    assert (goal["config"], goal["model"], goal["concurrency"]) == ("sqlite", "tiny", 1)
    assert goal["memory_mb"] == goal["whole_memory_mb"] == 192
    for key in ("max_memory_mb", "init_ms", "p50_ms", "cost_per_million"):
        assert goal[key] > 0 and goal[f"whole_{key}"] > 0, key
    report = (out / "report.md").read_text()
    assert "## millicent's layout vs `whole`" in report and "Compared at 192 MB" in report

    # a rerun finds the export and reuses it
    assert _compare(artifact, data_dir, out, "--memory-mb", "192") == 0
    status = json.loads((out / "deploy" / "prepared.json").read_text())["whole"]
    assert status["reused"] is True and status["path"] == str(whole_dir)
    assert "whole: exporting" not in capsys.readouterr().err


def test_a_given_whole_model_must_be_the_artifacts_network(artifact: Path, tmp_path: Path) -> None:
    from millicent.errors import ConfigError
    from millicent.importer.hf.whole import export_whole
    from millicent.testbed.whole import ensure_whole

    manifest = json.loads((artifact / "manifest.json").read_text())
    source = manifest["training"]["imported_from"]
    given = export_whole(source, "embed", tmp_path / "given").path
    status = ensure_whole(artifact, tmp_path / "work", given)
    assert status.path == str(given) and status.exported_from is None
    assert not (tmp_path / "work").exists()  # nothing exported
    other = export_whole(source, "embed", tmp_path / "int8", quantize="int8").path
    with pytest.raises(ConfigError, match="precision"):
        ensure_whole(artifact, tmp_path / "work", other)
    described = json.loads((given / "whole.json").read_text())
    described["files"]["model.safetensors"] = "0" * 64
    (given / "whole.json").write_text(json.dumps(described))
    with pytest.raises(ConfigError, match=r"model\.safetensors differ"):
        ensure_whole(artifact, tmp_path / "work", given)


def _embeddings(env: FunctionEnvironment) -> np.ndarray:
    body = handle({"sentences": TEXTS}, None, env)
    return np.array([r["embedding"] for r in body["results"]])


def test_the_whole_function_answers_as_millicents(artifact: Path, tmp_path: Path, data_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from millicent.baselines.whole_engine import WHOLE_MODEL, in_graph_table, load_whole_models
    from millicent.importer.hf.whole import export_whole

    manifest = json.loads((artifact / "manifest.json").read_text())
    whole = export_whole(manifest["training"]["imported_from"], "embed", tmp_path / "whole")
    store = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert main(["embeddings", "load", str(artifact), "--store", store]) == 0
    env = {"MILLICENT_MODELS": f"tiny={artifact}", "MILLICENT_STORE_URL": store}
    ours = FunctionEnvironment(config=lambda: FunctionConfig.from_env(env))
    monkeypatch.setenv(WHOLE_MODEL, str(whole.path))
    theirs = FunctionEnvironment(config=lambda: FunctionConfig.from_env(env),
                                 models=load_whole_models, store=in_graph_table)
    try:
        a, b = _embeddings(ours), _embeddings(theirs)
    finally:
        ours.close()
        theirs.close()
    assert a.shape == b.shape == (len(TEXTS), manifest["embedding"]["dim"])
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert "MILLICENT_WHOLE_MODEL" in os.environ

    # experiments/hf_whole_layout.py, short: both layouts alternating, and their INIT
    out = tmp_path / "layout.json"
    subprocess.run([sys.executable, str(REPO / "experiments" / "hf_whole_layout.py"),
                    "--artifact", str(artifact), "--whole", str(whole.path), "--store", store,
                    "--texts", "5", "--rounds", "1", "--init", "1", "--data-dir", str(data_dir),
                    "--out", str(out)], check=True, capture_output=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["texts"] == 5 and result["p50_millicent_over_whole"] > 0
    assert result["layouts"]["whole"]["fetch_ms_p50"] < result["layouts"]["millicent"]["fetch_ms_p50"]
    for layout in ("millicent", "whole", "imports only"):
        assert result["init"][layout]["runs"] == 1 and result["init"][layout]["process_ms_median"] > 0


def test_whole_refuses_a_model_that_is_not_a_transformer(data_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    kim = kim_artifact(tmp_path / "kim")
    code = main(["bench", "--compare", "sqlite,whole", "--model", f"kim={kim}",
                 "--concurrency", "1", "--limit", "4", "--data-dir", str(data_dir),
                 "--out", str(tmp_path / "cmp"), "--no-progress", "--no-plots"])
    assert code != 0
    err = capsys.readouterr().err
    assert "the whole configuration serves a Hugging Face encoder" in err
    assert "kim is a kim_cnn model" in err and "Traceback" not in err
