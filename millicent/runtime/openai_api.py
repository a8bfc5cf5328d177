"""The OpenAI embeddings API's wire format: what ``POST /v1/embeddings`` and ``GET /v1/models``
take and answer, so the ``openai`` client, LangChain's ``OpenAIEmbeddings`` and the tools
built on them talk to a millicent ``embed`` function as to OpenAI (``base_url=URL + "/v1"``).

Request (``POST /v1/embeddings``)::

    {"model": NAME, "input": "text" | ["text", ...],
     "encoding_format": "float" | "base64",      optional, default "float"
     "dimensions": N,                            optional, must be the model's width
     "user": "..."}                              optional, ignored

Response::

    {"object": "list", "model": NAME,
     "data": [{"object": "embedding", "index": i, "embedding": [...] | "BASE64"}, ...],
     "usage": {"prompt_tokens": n, "total_tokens": n}}

``base64`` is the vector's float32 values, little-endian, in order (``dim × 4`` bytes),
base64-encoded with the standard alphabet and padding — what the ``openai`` client decodes
with ``np.frombuffer(base64.b64decode(s), dtype="float32")``. It asks for it unless told
otherwise. ``float`` gives each float32 value as the JSON number of its exact float64 value,
so both formats decode to the same floats.

Tokens (``usage``) are the model's own: the tokens its tokenizer made of each input and the
model read (special tokens such as ``[CLS]`` / ``[SEP]`` included; a text truncated at the
model's limit counts what was read) — not tiktoken's count of the same text.

Limits: at most :data:`MAX_INPUTS` inputs (OpenAI's), and no more than fit one answer under
Lambda's 6 MB response limit (:func:`max_inputs`: ≈ 675 × 384-d vectors as ``float``, all
2,048 as ``base64``); past either, a 413 that names the number that fits and says to lower
``chunk_size``. Errors have OpenAI's shape (:func:`error_body`). Stdlib only (this ships in
the function).
"""

from __future__ import annotations

import base64
import math
import re
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from millicent.config import LAMBDA_RESPONSE_LIMIT
from millicent.errors import InvalidInput, MillicentError, NotFound, PayloadTooLarge

#: the API's routes; any path under :data:`PREFIX` (``/v1/...``) answers errors in OpenAI's
#: shape (``/v1`` alone may be a model's name)
PREFIX = "/v1"
EMBEDDINGS_PATH = "/v1/embeddings"
MODELS_PATH = "/v1/models"
#: OpenAI's limit on inputs per request
MAX_INPUTS = 2048
ENCODINGS = ("float", "base64")
FIELDS = ("model", "input", "encoding_format", "dimensions", "user")
OWNER = "millicent"
#: what the messages about request size advise
CHUNK_ADVICE = ("send fewer inputs per request (LangChain: OpenAIEmbeddings(chunk_size=N); "
                "the openai client: fewer texts per embeddings.create call)")
TOKEN_IDS_ADVICE = ("input holds token ids, not text: millicent embeds text with the model's own "
                    "tokenizer. LangChain's OpenAIEmbeddings sends tiktoken ids unless "
                    "OpenAIEmbeddings(check_embedding_ctx_length=False)")
#: the longest JSON number a float32 value's float64 repr takes, with its comma
#: ("-1.2345678901234567e-05,")
FLOAT_CHARS = 24
#: one data item's fixed part, the runtime client's escaping of its quotes included
ITEM_BYTES = 96
#: the envelope: object, model, usage, the HTTP response's own fields
ENVELOPE_BYTES = 4096


@dataclass(frozen=True)
class EmbeddingsRequest:
    """A checked ``POST /v1/embeddings`` body (whether the model exists is checked apart)."""

    model: str
    texts: tuple[str, ...]
    encoding_format: str = "float"
    dimensions: int | None = None


def is_openai_path(path: str | None) -> bool:
    """Whether ``path`` (normalised, as the handler routes it) belongs to this API."""
    return path is not None and path.startswith(PREFIX + "/")


def parse_embeddings(body: Any) -> EmbeddingsRequest:
    """The typed request of a decoded ``/v1/embeddings`` body; InvalidInput (400) naming the
    ``param`` for anything OpenAI's API would refuse, or that millicent cannot serve."""
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object", param=None)
    unknown = [k for k in body if k not in FIELDS]
    if unknown:
        raise InvalidInput(f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0])
    model = body.get("model")
    if "model" not in body:
        raise InvalidInput("you must provide a model parameter", param="model")
    if not isinstance(model, str) or not model:
        raise InvalidInput("'model' must be a non-empty string", param="model")
    texts = _texts(body.get("input"), "input" in body)
    fmt = body.get("encoding_format", "float")
    if fmt is None:
        fmt = "float"
    if fmt not in ENCODINGS:
        raise InvalidInput(f"'encoding_format' must be 'float' or 'base64', got {fmt!r}",
                           param="encoding_format")
    dims = body.get("dimensions")
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
        raise InvalidInput(f"'dimensions' must be a positive integer, got {dims!r}", param="dimensions")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise InvalidInput("'user' must be a string", param="user")
    return EmbeddingsRequest(model, texts, str(fmt), dims)


def _texts(value: Any, given: bool) -> tuple[str, ...]:
    if not given:
        raise InvalidInput("you must provide an input parameter", param="input")
    if isinstance(value, str):
        return (_text(value, "input"),)
    if not isinstance(value, list):
        raise InvalidInput("'input' must be a string or an array of strings", param="input")
    if not value:
        raise InvalidInput("'input' is empty: give at least one text", param="input")
    if any(_is_int(v) or isinstance(v, list) for v in value):
        raise InvalidInput(TOKEN_IDS_ADVICE, param="input")
    return tuple(_text(v, f"input[{i}]") for i, v in enumerate(value))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"'{where}' must be a string", param="input")
    if not value.strip():
        raise InvalidInput(f"'{where}' is empty or whitespace: OpenAI's API and millicent refuse "
                           "empty strings", param="input")
    try:  # JSON can carry lone surrogates ("\ud800"): not text
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"'{where}' is not valid Unicode: {exc.reason} at position {exc.start}",
                           param="input") from exc
    return value


def check_request(request: EmbeddingsRequest, widths: Mapping[str, int]) -> int:
    """The width of the ``embed`` model the request names (``widths``: name → width of every
    served embedding model): 404 ``model_not_found`` for another name, 400 for a
    ``dimensions`` the model does not give, 413 for more inputs than fit one answer."""
    if request.model not in widths:
        served = ", ".join(widths) or "none"
        raise NotFound(f"The model `{request.model}` does not exist: this function serves the "
                       f"embedding models {served}", param="model")
    width = widths[request.model]
    if request.dimensions is not None and request.dimensions != width:
        raise InvalidInput(f"model {request.model!r} gives {width}-d vectors; dimensions="
                           f"{request.dimensions} is not supported (leave it out or give {width})",
                           param="dimensions")
    most = max_inputs(width, request.encoding_format, len(request.model))
    if len(request.texts) > most:
        why = ("OpenAI's limit" if most == MAX_INPUTS else
               f"what fits Lambda's {LAMBDA_RESPONSE_LIMIT:,}-byte answer as {request.encoding_format}")
        raise PayloadTooLarge(f"{len(request.texts)} inputs; at most {most} per request ({why}): "
                              f"{CHUNK_ADVICE} with N ≤ {most}", param="input", limit=most)
    return width


def max_inputs(width: int, encoding_format: str, name_chars: int = 64,
               limit: int = LAMBDA_RESPONSE_LIMIT) -> int:
    """The most ``width``-d vectors one answer holds in ``encoding_format`` under ``limit``
    bytes (a bound on the largest each can be), at most :data:`MAX_INPUTS`."""
    per_vector = (4 * math.ceil(4 * width / 3) if encoding_format == "base64"
                  else FLOAT_CHARS * width) + ITEM_BYTES
    fits = (limit - ENVELOPE_BYTES - name_chars) // per_vector
    return max(1, min(MAX_INPUTS, fits))


def encode_base64(vector: Sequence[float]) -> str:
    """``vector`` as base64 of its little-endian float32 values."""
    values = array("f", vector)
    if sys.byteorder != "little":  # the wire format is little-endian whatever the host
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def embeddings_body(model: str, vectors: Sequence[Sequence[float]], prompt_tokens: int,
                    encoding_format: str = "float") -> dict[str, Any]:
    """The response body: ``vectors`` in input order, as floats or base64."""
    if encoding_format == "base64":
        data = [{"object": "embedding", "index": i, "embedding": encode_base64(v)}
                for i, v in enumerate(vectors)]
    else:
        data = [{"object": "embedding", "index": i, "embedding": list(v)}
                for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}


def models_body(names: Sequence[str], created: Mapping[str, int] | None = None) -> dict[str, Any]:
    """``GET /v1/models``: the embedding models served (``created``: Unix seconds by name)."""
    when = created or {}
    return {"object": "list",
            "data": [{"id": n, "object": "model", "created": int(when.get(n, 0)), "owned_by": OWNER}
                     for n in names]}


# ------------------------------------------------------------------------------- errors
#: OpenAI's error type by HTTP status (invalid_request_error for every other 4xx)
_TYPES = {401: "invalid_request_error", 403: "invalid_request_error", 429: "requests"}
_ITEM = re.compile(r"\bsentences\[(\d+)\]")


def error_body(exc: MillicentError) -> dict[str, Any]:
    """``exc`` in OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``.

    ``type`` follows the status (``invalid_request_error`` for 4xx, ``server_error`` for
    5xx); ``code`` is OpenAI's where it has one (``model_not_found``, ``invalid_api_key``,
    ``rate_limit_exceeded``), else millicent's own (``payload_too_large``,
    ``store_unavailable`` ...), null for a plain 400 as OpenAI answers.
    """
    status = exc.status
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    message, param = _message_and_param(exc)
    if status == 413 and "chunk_size" not in message:
        message = f"{message}: {CHUNK_ADVICE}"
    return {"error": {"message": message, "type": kind, "param": param, "code": _code(exc, param)}}


def _code(exc: MillicentError, param: str | None) -> str | None:
    if exc.status == 404 and param == "model":
        return "model_not_found"
    if exc.status in (401, 403):
        return "invalid_api_key"
    if exc.status == 429:
        return "rate_limit_exceeded"
    if type(exc) is InvalidInput:
        return None
    return exc.code


def _message_and_param(exc: MillicentError) -> tuple[str, str | None]:
    """The message with millicent's batch field names (``sentences[3]``, the service's token
    limits) said as this API's (``input[3]``), and the ``param`` it concerns."""
    message = _ITEM.sub(r"input[\1]", exc.message)
    if "param" in exc.details:
        param = exc.details["param"]
        return message, None if param is None else str(param)
    field = str(exc.details.get("field", ""))
    if field.startswith(("sentences", "text")):
        return message, "input"
    return message, None
