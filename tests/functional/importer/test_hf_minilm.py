"""The real all-MiniLM-L6-v2 from the data directory: imported, its table found through the
data catalog (so a shipped artifact works wherever the data directory is), ranked by
frequency, and the short versions of the experiments behind the figures (parity with torch,
numpy vs onnxruntime, memory). Skipped when the data directory is absent."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from millicent.data.token_table import locate, token_table
from millicent.importer.hf.run import import_hf
from millicent.runtime.artifact import read_manifest, vectors_source
from tests.servers import REPO

pytest.importorskip("transformers")
MODEL = "models/all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def minilm(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("minilm") / "artifact"
    import_hf(data_dir / MODEL, "embed", out, data_dir=data_dir)
    return out


def test_the_import_records_the_model(minilm: Path) -> None:
    m = read_manifest(minilm)
    section = m.sections["transformer"]
    assert (m.kind, m.role, m.dim) == ("transformer", "embed", 384)
    assert m.tokenizer.to_dict() == {"name": "hf", "lowercase": True, "version": "hf-1",
                                     "max_tokens": 256}  # max_seq_length, not the file's 128
    assert (section["pooling"], section["normalize"]) == ("mean", True)
    assert section["parity"]["max_abs_diff"] < 1e-5
    table = m.embedding.table
    assert table is not None and table["catalog"] == f"{MODEL}/model.safetensors"
    assert (table["rows"], table["keys"]) == (30522, 30522)
    assert m.training["files"]["model.safetensors"] == (
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
    sizes = {p.name: p.stat().st_size for p in minilm.iterdir()}
    assert set(sizes) == {"manifest.json", "model.onnx", "tokenizer.json"}
    assert sizes["model.onnx"] < 46_000_000  # 90.9 MB model less its 46.9 MB table


def test_a_shipped_artifact_finds_the_table_in_the_data_directory(minilm: Path, data_dir: Path,
                                                                  tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    shutil.copytree(minilm, shipped)
    manifest = json.loads((shipped / "manifest.json").read_text())
    manifest["embedding"]["table"]["path"] = "/elsewhere/model.safetensors"  # another machine
    (shipped / "manifest.json").write_text(json.dumps(manifest))
    table = vectors_source(shipped).token_table
    assert table is not None
    path, matrix = locate(table, data_dir)
    assert path == data_dir / MODEL / "model.safetensors" and matrix.shape == (30522, 384)
    empty = tmp_path / "no-data"
    empty.mkdir()
    from millicent.errors import DataError

    with pytest.raises(DataError, match="absent"):
        locate(table, empty)


def test_frequent_tokens_first(minilm: Path, data_dir: Path) -> None:
    vectors = token_table(vectors_source(minilm), data_dir)
    assert vectors.words[:6] == ["[CLS]", "[SEP]", "the", "to", "and", "of"]
    assert len(vectors.words) == 30522 and vectors.matrix.shape == (30522, 384)
    assert vectors.words.index("##ing") < vectors.words.index("[unused5]")


def _experiment(*args: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    return out


def test_parity_experiment_short(minilm: Path, data_dir: Path) -> None:
    out = _experiment("experiments/hf_parity.py", "--short", "--artifact", str(minilm),
                      "--data-dir", str(data_dir))
    for batch in ("batch 1", "batch 32"):
        assert out["embed"][batch]["n"] == 40 and out["embed"][batch]["min_cosine"] >= 0.99999
        assert out["classify"][batch]["max_abs_diff"] <= 1e-4
        assert out["classify"][batch]["same_label"] == 1.0
        assert out["rank"][batch]["n"] == 24 and out["rank"][batch]["max_abs_diff"] <= 1e-4


def test_numpy_vs_onnxruntime_experiment_short(minilm: Path, data_dir: Path) -> None:
    out = _experiment("experiments/hf_numpy_vs_ort.py", "--short", "--artifact", str(minilm),
                      "--data-dir", str(data_dir))
    assert out["numpy_max_abs_diff_vs_ort_fp32"] < 1e-3  # the numpy encoder is the same network
    for label in ("batch 1 x 20 tokens", "batch 32 (padded)"):
        assert set(out[label]) == {"onnxruntime fp32", "numpy fp32"}
        assert all(ms > 0 for ms in out[label].values())


def test_memory_experiment_short(minilm: Path, data_dir: Path, tmp_path: Path) -> None:
    out = _experiment("experiments/hf_memory.py", "--short", "--artifact", str(minilm),
                      "--data-dir", str(data_dir), "--work", str(tmp_path / "work"))
    floor = out["floor (numpy + onnxruntime + tokenizers)"]["peak_rss_mb"]
    assert 20 < floor < 200
    for batch in ("batch 1", "batch 32"):
        figures = out[batch]
        assert len(figures) == 4
        for name, f in figures.items():
            assert f["peak_rss_mb"] >= f["rss_built_mb"] > floor, name
            assert f["ms_per_request"] > 0
        # the whole fp32 model holds its 46.9 MB table; millicent's int8 layout does not
        assert (figures["whole fp32 (onnxruntime, table inside)"]["rss_built_mb"]
                > figures["millicent int8 (table-less + SQLite rows)"]["rss_built_mb"] + 40)
