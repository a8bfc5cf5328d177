"""The one response builder: a typed :class:`~millicent.runtime.service.Answer` → JSON body.

A single request answers with its one result's fields at the top level, as the paper's
API did (``{"label": ..., "probabilities": ..., "timings": ...}``; an embedding model's
``{"embedding": [...], "tokens": [...], ...}``); a batch answers
``{"results": [...], "timings": ...}`` in request order. Both carry ``model`` (the name
that served it) and one ``timings`` for the whole request. The handler and the in-memory
server baseline both build their bodies here.
"""

from __future__ import annotations

from typing import Any

from millicent.runtime.requests import Request
from millicent.runtime.service import Answer


def body(answer: Answer, request: Request, model_name: str) -> dict[str, Any]:
    """The response body of ``answer`` to ``request``, served by the model ``model_name``."""
    if request.batch:
        out: dict[str, Any] = {"results": [r.to_dict() for r in answer.results]}
    else:
        (result,) = answer.results
        out = result.to_dict()
    out["timings"] = answer.timings
    out["model"] = model_name
    return out
