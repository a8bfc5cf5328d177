"""``millicent train`` → artifact → ``millicent eval`` (manifest source and a SQLite store agree)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.errors import ArtifactError
from millicent.runtime.artifact import load_artifact
from millicent.store import open_store
from millicent.store.loader import load_store
from millicent.tokenizers.ptb import ptb_key as vector_key
from millicent.train.shipped import artifacts_dir


def _eval(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    assert main(["eval", *argv]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    out: dict = json.loads(line)  # type: ignore[type-arg]
    return out


def _sqlite(tmp_path: Path, words: list[str], matrix: np.ndarray) -> str:
    url = f"sqlite:///{tmp_path / 'vectors.db'}"
    store = open_store(url)
    load_store(store, words, matrix, source="test", progress=False)
    store.close()
    return url


def test_eval_shipped_kim_from_glove_and_from_a_sqlite_store(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = str(artifacts_dir() / "kim-sst1-static")
    from_source = _eval(capsys, artifact, "--split", "test", "--data-dir", str(data_dir))
    assert from_source["split"] == "test" and from_source["n"] == 2210
    assert from_source["accuracy"] == load_artifact(artifact).manifest.metrics["test"]["accuracy"]
    from millicent.data.vectors import load_vectors
    from millicent.data.vocab import dataset_tokens

    vectors = load_vectors("glove-50", data_dir=data_dir, vocab=dataset_tokens("sst-1", data_dir), key=vector_key)
    url = _sqlite(tmp_path, vectors.words, vectors.matrix)
    from_store = _eval(capsys, artifact, "--split", "test", "--data-dir", str(data_dir), "--store", url)
    assert from_store == from_source


def test_eval_shipped_sm_reports_map_and_mrr(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _eval(capsys, str(artifacts_dir() / "sm-trecqa"), "--split", "test", "--data-dir", str(data_dir))
    assert set(out) >= {"map", "mrr", "n", "split"}
    assert out["split"] == "raw-test" and out["n"] == 1517
    assert 0.63 <= out["map"] <= out["mrr"] + 1e-9 < 1.0


@pytest.mark.train
def test_train_non_static_exports_its_table_and_eval_agrees_with_a_store(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    out = tmp_path / "kim"
    rc = main(["train", "kim", "--task", "sst-2", "--variant", "non-static", "--epochs", "1",
               "--threads", "1", "--data-dir", str(data_dir), "--out", str(out)])
    assert rc == 0
    art = load_artifact(out)
    m = art.manifest
    assert m.embedding.source == "artifact" and m.embedding.variant == "non-static"
    assert m.training["command"].startswith("millicent train kim --task sst-2 --variant non-static")
    table = art.embedding_table()
    assert table is not None
    words, matrix = table
    # fine-tuned: the table moved away from GloVe for some training words
    from millicent.data.vectors import load_vectors

    glove = load_vectors("glove-50", data_dir=data_dir, vocab=words[:200], key=vector_key)
    index = {w: i for i, w in enumerate(words)}
    moved = [w for w, v in zip(glove.words, glove.matrix, strict=True)
             if not np.allclose(matrix[index[w]], v)]
    assert moved
    from_table = _eval(capsys, str(out), "--split", "dev", "--data-dir", str(data_dir))
    assert from_table["accuracy"] == m.metrics["dev"]["accuracy"]
    url = _sqlite(tmp_path, words, matrix)
    from_store = _eval(capsys, str(out), "--split", "dev", "--data-dir", str(data_dir), "--store", url)
    assert from_store == from_table


def test_eval_refuses_a_future_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 99, "kind": "kim_cnn"}))
    with pytest.raises(ArtifactError):
        load_artifact(tmp_path)
    assert main(["eval", str(tmp_path), "--split", "dev"]) == 1
    assert "unknown artifact format version 99" in capsys.readouterr().err
