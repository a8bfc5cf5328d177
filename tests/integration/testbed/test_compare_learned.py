"""`millicent bench --compare` of a model with its own learned table (a `rand` Kim CNN's
embeddings.npz), with the PyTorch baseline: its vectors — not GloVe's — land in the dynalite
tables and the pack, and the report weighs cold start, memory and package size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.data.vocab import token_counts
from millicent.runtime.artifact import save_artifact
from millicent.store import open_store
from millicent.store.pack import FrequentWordPack
from millicent.tokenizers.ptb import ptb_key as vector_key
from tests import servers
from tests.bench_support import kim_artifact

pytestmark = pytest.mark.integration
pytest.importorskip("torch")

DIM = 24


def _rand_artifact(path: Path, data_dir: Path) -> tuple[Path, list[str], np.ndarray]:
    """A Kim CNN whose table is its own: the SST-1 train words, in first-seen order."""
    art = kim_artifact(path, dim=DIM)
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["embedding"].update(source="artifact", variant="rand", pretrained=None)
    save_artifact(art, manifest, dict(np.load(art / "weights.npz")))
    words = list(dict.fromkeys(vector_key(t) for t in token_counts("sst-1", data_dir, ["train"])))
    matrix = np.random.default_rng(5).uniform(-0.25, 0.25, (len(words), DIM)).astype(np.float32)
    np.savez(art / "embeddings.npz", words=np.array(words), matrix=matrix)
    return art, words, matrix


def test_compare_loads_the_artifacts_own_table(dynalite: servers.Server, data_dir: Path,
                                               tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    art, words, matrix = _rand_artifact(tmp_path / "kim-rand", data_dir)
    out = tmp_path / "cmp"
    argv = ["bench", "--compare", "paper,torch,millicent,server", "--model", f"kim={art}",
            "--dynamodb-endpoint", dynalite.endpoint, "--concurrency", "2", "--limit", "20",
            "--warmup", "4", "--pack-top", "300", "--data-dir", str(data_dir),
            "--cold-samples", "1", "--out", str(out), "--no-progress", "--no-plots"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    rows = {r["config"]: r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {"paper", "torch", "millicent", "server"}
    assert all(r["errors"] == 0 and r["ok"] == 20 for r in rows.values())

    # the DynamoDB tables hold the artifact's vectors, named by the table's digest
    index = {w: i for i, w in enumerate(words)}
    assert "artifact:kim-rand@" in captured.err
    tables = {line.split("dynamodb://")[1].split("?")[0] for line in captured.err.splitlines()
              if line.startswith("store: ")}
    assert {t.split(f"{DIM}d-")[0] for t in tables} == {"millicent-bench-list-",
                                                       "millicent-bench-binary-"}
    for table in tables:
        assert f"-{DIM}d-kim-rand-" in table
        url = f"dynamodb://{table}?endpoint={dynalite.endpoint}&region=us-east-1"
        with open_store(url, read_only=True) as store:
            assert store.meta.dim == DIM and store.meta.source.startswith("artifact:kim-rand@")
            got = store.get_many(["the", "film", ","])
        for w, v in got.items():
            np.testing.assert_array_equal(v, matrix[index[w]])
        assert len(got) == 3

    # the pack: the 300 most frequent SST-1 train words (not the table's first-seen order)
    (pack_file,) = (out / "deploy").glob("pack-kim-rand-*-top300.bin")
    pack = FrequentWordPack.open(pack_file)
    assert pack.header["by"] == "sst-1 train counts" and len(pack) == 300
    assert pack.keys[:3] != words[:3] and {"the", ",", "."} <= set(pack.keys[:5])
    np.testing.assert_array_equal(pack.get_many(["the"])["the"], matrix[index["the"]])
    assert rows["millicent"]["cache_hit_rate"] > 0.4

    # cold start, memory and package size: torch against the lean runtime
    footprint = json.loads((out / "footprint.json").read_text())
    sizes = footprint["dependencies"]
    assert sizes["torch"]["total_mb"] > 5 * sizes["numpy"]["total_mb"]
    cold = {c["config"]: c for c in footprint["isolated_cold_start"]}
    assert set(cold) == {"paper", "torch", "millicent"}
    for c in cold.values():  # the first request from zero, alone
        assert c["cold"] is True and c["status"] == 200 and c["init_ms"] > 0
        assert c["timings"]["init_ms"] > 0 and c["in_flight"] == 1
    # torch's import lands in the function's init, on the first request of an environment
    assert cold["torch"]["timings"]["init_ms"] > cold["millicent"]["timings"]["init_ms"]
    assert cold["torch"]["latency_ms"] > cold["millicent"]["latency_ms"]
    assert cold["torch"]["max_memory_mb"] > cold["millicent"]["max_memory_mb"]
    # the cold starts are measured on a deployment of their own: the scenario's starts from
    # zero, so C = 2 costs two cold starts, in the warm-up
    torch_init = rows["torch"]["init"]
    assert torch_init["cold_starts"] == 2 and torch_init["init_ms"]["n"] == 2
    summaries = {c["config"]: c for c in footprint["cold_starts"]}
    assert set(summaries) == {"paper", "torch", "millicent"}
    for c in summaries.values():  # one isolated cold start, then C = 2 at once from zero
        assert (c["samples"], c["ok"], c["cold"]) == (1, 1, 1)
        assert c["init_duration_ms"] > 0 and c["restore_duration_ms"] is None
        assert c["burst"]["concurrency"] == 2 and c["burst"]["cold"] == 2
    assert summaries["torch"]["first_request_ms"] > summaries["millicent"]["first_request_ms"]
    assert rows["torch"]["max_memory_mb"] > rows["millicent"]["max_memory_mb"]
    assert (out / "records" / "torch-kim-cold.jsonl").is_file()
    assert "## Cold start, memory and package size" in captured.out
    assert "## Targets" in captured.out
    targets = json.loads((out / "targets.json").read_text())
    assert len(targets) == 1 and targets[0]["p50_lower"] > 0

    # a rerun writes nothing: the tables and the pack are found complete and verified
    assert main([*argv[:argv.index("--compare")], "--compare", "paper,millicent",
                 *argv[argv.index("--model"):]]) == 0
    err = capsys.readouterr().err
    assert err.count("complete already, verified") == 2 and "(complete already)" in err
