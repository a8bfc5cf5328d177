"""``bench --compare`` fills a store with the compared model's own keys (issue 19, bug 1):
a cased, whitespace-tokenized model trained on a user's CSV finds, through the store the
comparison prepared, exactly the vectors the in-process handler finds (before, the store
was filled with lower-cased PTB keys whatever the model's tokenizer). The whole comparison
through the local platform and dynalite: tests/integration/testbed/test_cased_keys.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from millicent.config import Limits
from millicent.harness.scenario import Configuration
from millicent.harness.workload import Workload, classify_requests
from millicent.runtime.handler import serve
from millicent.runtime.registry import load_model
from millicent.store import open_embeddings
from millicent.testbed.deployments import Prepared, Setup
from millicent.train.evaluate import memory_embeddings
from tests.cased_support import cased_texts, train_cased

pytestmark = pytest.mark.train
pytest.importorskip("torch")


def test_the_prepared_store_holds_a_cased_whitespace_models_keys(
        tmp_path: Path, data_dir: Path) -> None:
    files = train_cased(tmp_path)
    texts = cased_texts(files, 20)
    workload = Workload("mine", "test.csv", tuple(classify_requests(texts, "mine")), len(texts))
    setup = Setup(artifacts={"mine": files["artifact"]}, data_dir=data_dir,
                  work_dir=tmp_path / "deploy")
    url = Prepared(setup, [workload]).store_url(Configuration("bundled", store="none"))

    model = load_model(files["artifact"])
    reference = memory_embeddings(model, None, [t for x in texts for t in model.tokenize(x)])
    with open_embeddings(url) as prepared:
        got = [serve(model, "mine", prepared, {"sentence": t}, Limits()) for t in texts]
    want = [serve(model, "mine", reference, {"sentence": t}, Limits()) for t in texts]
    assert [b["unknown_words"] for b in got] == [b["unknown_words"] for b in want]
    assert [b["timings"]["lookups"]["missing"] for b in got] == [
        b["timings"]["lookups"]["missing"] for b in want]
    assert any(b["unknown_words"] for b in want)  # "wonderful" has a vector only as "Wonderful"
    assert [b["probabilities"] for b in got] == [b["probabilities"] for b in want]
