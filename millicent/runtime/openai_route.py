"""The handler's OpenAI routes: ``POST /v1/embeddings`` served by the service's ``embed`` core,
``GET /v1/models`` listing the function's embedding models (the wire format:
:mod:`.openai_api`).

The texts of one ``/v1/embeddings`` request are one batch for the service — encoded by the
model's tokenizer, their distinct store keys looked up once, the forward passes in bounded
chunks — exactly what ``POST /embed`` with ``{"sentences": [...]}`` runs; the answer's
vectors are the service's, the usage the tokens the model read. Stdlib here; the service
(numpy and the models) is passed in by the handler.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from millicent.config import Limits
from millicent.runtime import openai_api
from millicent.runtime.requests import TextsRequest

if TYPE_CHECKING:
    from millicent.runtime.environment import Loaded
    from millicent.runtime.roles import Embedder
    from millicent.runtime.service import Answer, Embedding
    from millicent.types import Embeddings

    EmbedCore = Callable[[Embedder, Embeddings, TextsRequest, Limits], Answer]


def widths(loaded: Loaded) -> dict[str, int]:
    """Every embedding model's name and width, in configuration order."""
    return {name: int(cast("Embedder", model).out_dim)
            for name, model in loaded.models.items() if model.role == "embed"}


def embeddings(loaded: Loaded, raw: Any, limits: Limits, embed: EmbedCore) -> dict[str, Any]:
    """The ``/v1/embeddings`` answer to the decoded body ``raw`` (MillicentError for a bad
    one, which the handler answers in OpenAI's shape)."""
    request = openai_api.parse_embeddings(raw)
    openai_api.check_request(request, widths(loaded))
    model = cast("Embedder", loaded.models[request.model])
    answer = embed(model, loaded.embeddings, TextsRequest(request.texts, batch=True), limits)
    results = cast("list[Embedding]", answer.results)
    return openai_api.embeddings_body(request.model, [r.embedding for r in results],
                                      sum(len(r.tokens) for r in results),
                                      request.encoding_format)


def models(loaded: Loaded) -> dict[str, Any]:
    """The ``/v1/models`` answer: the embedding models, each ``created`` when its artifact's
    manifest was written."""
    names = list(widths(loaded))
    return openai_api.models_body(names, {n: _created(loaded.models[n]) for n in names})


def _created(model: Any) -> int:
    artifact = getattr(model, "artifact", None)
    try:
        return int(os.stat(Path(artifact.path) / "manifest.json").st_mtime) if artifact else 0
    except OSError:
        return 0
