"""The largest batch the limits allow is answered within Lambda's 6 MB response limit, as
the runtime client serialises it — or refused with a 413 naming the limit, never a 502."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest

from millicent.config import LAMBDA_RESPONSE_LIMIT, FunctionConfig, Limits
from millicent.errors import PayloadTooLarge
from millicent.runtime import events
from millicent.runtime.environment import FunctionEnvironment
from millicent.runtime.handler import handle
from millicent.store.memory import MemoryStore
from tests.conftest import REPO

KIM = REPO / "millicent" / "artifacts" / "kim-sst1-static"
LIMITS = Limits()


def _env() -> FunctionEnvironment:
    from millicent.runtime.registry import load_model

    rng = np.random.default_rng(0)
    words = ["the", "film", "a", "good", "bad"]
    store = MemoryStore.from_vectors(words, rng.normal(size=(len(words), 50)).astype(np.float32))
    config = FunctionConfig(models=(("kim", str(KIM)),), store_url=None, pack_path=None,
                            lru_size=0, store_deadline_s=1.0, limits=LIMITS)
    return FunctionEnvironment(config=lambda: config, models=lambda _: {"kim": load_model(KIM)},
                               store=lambda _: store)


def _event(body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body, ensure_ascii=False)
    assert len(text.encode("utf-8")) <= LIMITS.max_body_bytes
    return {"version": "2.0", "rawPath": "/classify", "body": text, "isBase64Encoded": False,
            "requestContext": {"http": {"method": "POST", "path": "/classify"}, "stage": "$default"}}


def _wire_bytes(response: Any) -> int:
    """What the runtime client sends back (its encoder, escaping non-ASCII: the larger)."""
    return len(json.dumps(response).encode("utf-8"))


def _largest_batch(word: Any) -> dict[str, Any]:
    """256 texts of up to 1,000 tokens each, as many as the 1 MB body holds."""
    texts, size = [], 20
    for i in range(LIMITS.max_batch):
        tokens = [word(i, j) for j in range(LIMITS.max_tokens)]
        text = " ".join(tokens)
        while size + len(text.encode("utf-8")) + 4 > LIMITS.max_body_bytes and tokens:
            tokens = tokens[: len(tokens) * 3 // 4]
            text = " ".join(tokens)
        if not tokens:
            break
        texts.append(text)
        size += len(text.encode("utf-8")) + 4
    return {"sentences": texts}


def test_a_full_batch_of_ordinary_words_is_answered_under_6_mb() -> None:
    vocab = ["the", "film", "is", "a", "good", "bad", "movie", "with", "great", "acting"]
    body = _largest_batch(lambda i, j: vocab[(i + j) % len(vocab)])
    out = handle(_event(body), None, _env())
    assert out["statusCode"] == 200
    results = json.loads(out["body"])["results"]
    assert len(results) == len(body["sentences"]) >= 100
    assert _wire_bytes(out) <= LAMBDA_RESPONSE_LIMIT


@pytest.mark.parametrize("alphabet", ["ascii", "accented", "cjk"])
def test_the_worst_full_batch_is_answered_under_6_mb_or_refused_with_a_413(alphabet: str) -> None:
    # distinct unknown words: every token comes back twice (tokens, unknown_words), and
    # non-ASCII letters escape to 6 bytes each on the wire
    rng = random.Random(7)
    letters = {"ascii": "bcdfghjklmnpqrstvwxz", "accented": "éèêëàâîïôûç",
               "cjk": "中文字词语言电影好坏"}[alphabet]
    body = _largest_batch(lambda i, j: "".join(rng.choice(letters) for _ in range(3)))
    out = handle(_event(body), None, _env())
    assert out["statusCode"] in (200, 413)
    assert _wire_bytes(out) <= LAMBDA_RESPONSE_LIMIT
    if out["statusCode"] == 413:
        answer = json.loads(out["body"])
        assert answer["error"] == "payload_too_large" and answer["limit"] == LAMBDA_RESPONSE_LIMIT


def test_the_size_check_refuses_what_lambda_would_refuse() -> None:
    events.check_response_size({"body": "x" * 1000})
    with pytest.raises(PayloadTooLarge, match="response limit of 100 bytes"):
        events.check_response_size({"body": "é" * 40}, limit=100)
    with pytest.raises(PayloadTooLarge):
        events.check_response_size({"tokens": ["x"] * 100}, limit=100)
