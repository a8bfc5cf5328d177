"""The one response builder: a typed :class:`~millicent.runtime.service.Answer` → JSON body.

A single request answers with its one result's fields at the top level, as the paper's
API did (``{"label": ..., "probabilities": ..., "timings": ...}``); a batch answers
``{"results": [...], "timings": ...}`` in request order. Both carry ``model`` (the name
that served it) and one ``timings`` for the whole request. The handler and the in-memory
server baseline both build their bodies here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from millicent.errors import ModelError
from millicent.runtime.requests import Request
from millicent.runtime.service import Answer

#: the numbers a result carries (a model's output): each must be finite
NUMERIC_FIELDS = ("probabilities", "scores", "score", "embedding")


def body(answer: Answer, request: Request, model_name: str) -> dict[str, Any]:
    """The response body of ``answer`` to ``request``, served by the model ``model_name``.

    A result holding NaN or ±inf is a :class:`~millicent.errors.ModelError` (500), never
    an answer: JSON has no such numbers, and the model or its vectors are broken.
    """
    results = [r.to_dict() for r in answer.results]
    for i, result in enumerate(results):
        _check_finite(result, model_name, i if request.batch else None)
    if request.batch:
        out: dict[str, Any] = {"results": results}
    else:
        (out,) = results
    out["timings"] = answer.timings
    out["model"] = model_name
    return out


def _check_finite(result: dict[str, Any], model_name: str, index: int | None) -> None:
    for name in NUMERIC_FIELDS:
        if name in result and not np.isfinite(np.asarray(result[name], dtype=np.float64)).all():
            where = f" (item {index})" if index is not None else ""
            raise ModelError(f"model {model_name!r} produced a non-finite {name}{where}: its "
                             "weights or the vectors it read hold NaN or inf",
                             model=model_name, field=name)
