"""The always-on `server` baseline: the service core behind plain HTTP, vectors in memory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from millicent.baselines.server import answer, make_app
from millicent.config import Limits
from millicent.errors import InvalidInput, NotFound
from millicent.runtime.registry import load_model
from millicent.store.memory import MemoryStore
from tests.bench_support import kim_artifact, sm_artifact


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, MemoryStore]:
    root = tmp_path_factory.mktemp("server")
    models = {"kim": load_model(kim_artifact(root / "kim")), "sm": load_model(sm_artifact(root / "sm"))}
    rng = np.random.default_rng(0)
    words = ["a", "good", "film", "who", "did", "it", "?", "he", "."]
    return models, MemoryStore.from_vectors(words, rng.normal(size=(len(words), 50)).astype(np.float32))


def test_answers_with_the_contract_timings(served: tuple[dict, MemoryStore]) -> None:
    models, store = served
    out = answer(models, store, "/classify", {"sentence": "a good film"}, Limits(), cold=True)
    assert out["model"] == "kim" and out["label"] in models["kim"].labels
    t = out["timings"]
    assert t["cold_start"] is True and t["total_ms"] >= t["forward_ms"] and t["cpu_ms"] >= 0
    assert {"tokenize_ms", "fetch_ms", "other_ms", "lookups"} <= set(t)
    out = answer(models, store, "/sm", {"question": "who did it ?", "answer": "he did ."},
                 Limits(), cold=False)
    assert out["model"] == "sm" and 0 <= out["score"] <= 1 and out["scores"] == [out["score"]]
    with pytest.raises(InvalidInput):
        answer(models, store, "/kim", {"text": "x"}, Limits(), cold=False)
    with pytest.raises(NotFound):
        answer(models, store, "/bert", {"sentence": "x"}, Limits(), cold=False)


def test_http_errors_carry_their_status(served: tuple[dict, MemoryStore]) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    async def go() -> list[tuple[int, dict]]:
        async with TestClient(TestServer(make_app(*served))) as client:
            out = []
            for path, body in (("/kim", b'{"sentence": "a film"}'), ("/kim", b"not json"),
                               ("/rank", b'{"question": "who ?"}'), ("/nope", b"{}")):
                resp = await client.post(path, data=body)
                out.append((resp.status, json.loads(await resp.text())))
            return out

    (ok, bad_json, no_answer, unknown) = asyncio.run(go())
    assert ok[0] == 200 and ok[1]["timings"]["cold_start"] is True
    assert bad_json[0] == 400 and bad_json[1]["error"] == "invalid_input"
    assert no_answer[0] == 400
    assert unknown[0] == 404


def test_build_refuses_models_without_a_shared_source(tmp_path: Path) -> None:
    from millicent.baselines.server import build

    with pytest.raises(InvalidInput):
        build("", None)
