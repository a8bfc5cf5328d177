"""A cased, whitespace-tokenized model trained on a user's CSV: the tools key its words as its
own tokenizer does (issue 19, bugs 1 and 2).

``bench --compare`` fills its stores (DynamoDB on dynalite, the server's in-memory table)
with the artifact's own keys — ``Great`` and ``great`` are two keys, ``-lrb-`` stays
``-lrb-`` — so the function finds exactly the vectors the in-process handler finds; and
``millicent plan`` recomputes the store keys of the run's requests exactly as the function
reads them. Before, both keyed every word as the lower-cased PTB tokenizer would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from millicent.cli.main import main
from millicent.config import Limits
from millicent.runtime.handler import serve
from millicent.runtime.registry import load_model
from millicent.store.base import storable_key
from millicent.train.evaluate import memory_embeddings
from tests import servers
from tests.cased_support import KeyLog, cased_texts, train_cased

pytestmark = [pytest.mark.integration, pytest.mark.train]
pytest.importorskip("torch")

N_REQUESTS = 16


@pytest.fixture(scope="module")
def cased(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The model: ``train kim --tokenizer whitespace --no-lowercase`` on a CSV, tiny."""
    return train_cased(tmp_path_factory.mktemp("cased"))


@pytest.fixture(scope="module")
def compared(cased: dict[str, Path], dynalite: servers.Server, data_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bench --compare millicent,server`` of the model, named as itself."""
    out = tmp_path_factory.mktemp("compare") / "run"
    rc = main(["bench", "--compare", "millicent,server", "--model", f"mine={cased['artifact']}",
               "--dynamodb-endpoint", dynalite.endpoint, "--concurrency", "1", "--warmup", "0",
               "--limit", str(N_REQUESTS), "--cold-samples", "0", "--data-dir", str(data_dir),
               "--out", str(out), "--no-progress", "--no-plots"])
    assert rc == 0
    return out


def _in_process(artifact: Path, texts: list[str]) -> tuple[list[dict[str, Any]], KeyLog]:
    """The handler's answers to ``{"sentence": text}`` in this process, with the model's
    vectors as evaluation reads them, and the keys it looked up."""
    model = load_model(artifact)
    tokens = [t for text in texts for t in model.tokenize(text)]
    store = KeyLog(memory_embeddings(model, None, tokens))
    bodies = [serve(model, "mine", store, {"sentence": text}, Limits()) for text in texts]
    return bodies, store


def _records(run: Path, slug: str) -> dict[int, dict[str, Any]]:
    lines = (run / "records" / f"{slug}.jsonl").read_text(encoding="utf-8").splitlines()
    out = {}
    for line in lines:
        r = json.loads(line)
        if r["phase"] == "measure":
            out[r["index"]] = r
    return out


def test_bench_compare_finds_a_cased_whitespace_models_vectors(
        cased: dict[str, Path], compared: Path) -> None:
    """Bug 1: the compared deployments' stores hold the artifact's own keys."""
    texts = cased_texts(cased, N_REQUESTS)
    bodies, _ = _in_process(cased["artifact"], texts)
    missing = [b["timings"]["lookups"]["missing"] for b in bodies]
    unknown = [len(b["unknown_words"]) for b in bodies]
    assert missing == unknown and sum(missing) > 0  # some words have no vector in this case
    for config in ("millicent", "server"):
        records = _records(compared, f"{config}-mine-c1")
        assert sorted(records) == list(range(N_REQUESTS))
        assert all(r["status"] == 200 for r in records.values())
        assert [records[i]["lookups"]["missing"] for i in range(N_REQUESTS)] == missing, config


def test_plan_store_keys_of_a_cased_whitespace_model_equal_the_functions(
        cased: dict[str, Path], compared: Path, data_dir: Path, tmp_path: Path) -> None:
    """Bug 2: the planner keys the run's requests with the artifact's own tokenizer."""
    profile = tmp_path / "profile.json"
    rc = main(["plan", "--traffic", "constant:1", "--days", "0.01", "--from-bench", str(compared),
               "--data-dir", str(data_dir), "--save-profile", str(profile),
               "--out", str(tmp_path / "plan"), "--no-plots"])
    assert rc == 0
    saved = json.loads(profile.read_text(encoding="utf-8"))
    planned = saved["store"]["request_keys"]
    texts = cased_texts(cased, N_REQUESTS)
    _, store = _in_process(cased["artifact"], texts)
    read = [[k for k in keys if storable_key(k)] for keys in store.asked]
    assert planned == read
    assert any(k[:1].isupper() for keys in planned for k in keys)  # case kept: "Great", "The"
