"""Which store keys each request reads, recomputed offline from the requests and a pack.

A request's body is read by the request edge for the model's role
(:func:`millicent.runtime.requests.parse_request`) and its keys are those the function
reads with the model's own tokenizer (:func:`millicent.runtime.encoding.request_keys`:
distinct, in the order the store is asked for them); every key the frequent-word pack holds
is dropped: the rest is what one BatchGetItem asks DynamoDB for. No pack means every key
goes to the store. This makes the per-key load real: the hottest store key is e.g. ``the``
when the pack lacks it, and a rare word when it has it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from millicent.config import Limits
from millicent.errors import DataError, InvalidInput
from millicent.harness.workload import PlannedRequest
from millicent.runtime.encoding import request_keys
from millicent.runtime.requests import Request, parse_request
from millicent.runtime.requests import request_texts as texts_of
from millicent.store.base import storable_key
from millicent.tokenizers.base import Tokenizer

#: the requests are the benchmark's own, sent and answered: only the function's edge checks
LIMITS = Limits()


def request_texts(body: Any, role: str) -> list[str]:
    """The texts of one request body for a model of ``role`` (as the function reads them)."""
    return texts_of(parse_request(role, body, LIMITS))


def store_keys(request: Request, pack: frozenset[str] | None, tokenizer: Tokenizer) -> list[str]:
    """Distinct store keys ``request`` reads with the model's ``tokenizer``, in first-seen
    order, without the pack's (and without keys no store holds)."""
    return [k for k in request_keys(tokenizer, request, LIMITS)
            if storable_key(k) and (pack is None or k not in pack)]


def workload_keys(requests: Sequence[PlannedRequest], pack: frozenset[str] | None,
                  tokenizer: Tokenizer, role: str) -> list[list[str]]:
    """Store keys of every planned request to a model of ``role`` and ``tokenizer``."""
    out = []
    for i, req in enumerate(requests):
        try:
            request = parse_request(role, json.loads(req.body), LIMITS)
            out.append(store_keys(request, pack, tokenizer))
        except json.JSONDecodeError as exc:
            raise DataError(f"request {i} of the workload is not JSON: {exc}") from exc
        except InvalidInput as exc:
            raise DataError(f"request {i} of the workload is not a {role} request: "
                            f"{exc.message}") from exc
    return out


def pack_keys(path: Path) -> frozenset[str]:
    """The keys a frequent-word pack file holds."""
    from millicent.store.pack import FrequentWordPack

    return frozenset(FrequentWordPack.open(path).keys)
