"""Which store keys each request reads, recomputed offline from the requests and a pack.

A request's texts are tokenized exactly as the function does (the runtime tokenizer and
:func:`millicent.words.vector_key`), its distinct keys taken once, and every key the
frequent-word pack holds dropped: the rest is what one BatchGetItem asks DynamoDB for.
No pack means every key goes to the store. This makes the per-key load real: the hottest
store key is e.g. ``the`` when the pack lacks it, and a rare word when it has it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from millicent.errors import DataError
from millicent.harness.workload import PlannedRequest
from millicent.runtime.tokenizers.ptb import tokenize
from millicent.store.base import storable_key
from millicent.words import vector_key


def request_texts(body: Any) -> list[str]:
    """The texts of one request body (single, batch, or question + answers)."""
    if not isinstance(body, dict):
        raise DataError("a request body must be a JSON object")
    texts: list[str] = []
    for key in ("sentence", "text", "question", "answer"):
        if isinstance(body.get(key), str):
            texts.append(body[key])
    for key in ("sentences", "answers"):
        if isinstance(body.get(key), list):
            texts.extend(t for t in body[key] if isinstance(t, str))
    for item in body.get("items", []) if isinstance(body.get("items"), list) else []:
        texts.extend(request_texts(item))
    return texts


def store_keys(texts: Iterable[str], pack: frozenset[str] | None, lowercase: bool = True) -> list[str]:
    """Distinct store keys of ``texts`` in first-seen order, without the pack's."""
    keys: dict[str, None] = {}
    for text in texts:
        for token in tokenize(text):
            key = vector_key(token, lowercase=lowercase)
            if storable_key(key) and (pack is None or key not in pack):
                keys.setdefault(key)
    return list(keys)


def workload_keys(requests: Sequence[PlannedRequest], pack: frozenset[str] | None) -> list[list[str]]:
    """Store keys of every planned request."""
    out = []
    for i, req in enumerate(requests):
        try:
            body = json.loads(req.body)
        except json.JSONDecodeError as exc:
            raise DataError(f"request {i} of the workload is not JSON: {exc}") from exc
        out.append(store_keys(request_texts(body), pack))
    return out


def pack_keys(path: Path) -> frozenset[str]:
    """The keys a frequent-word pack file holds."""
    from millicent.store.pack import FrequentWordPack

    return frozenset(FrequentWordPack.open(path).keys)
