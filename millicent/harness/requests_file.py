"""A user's own requests for the benchmark: ``millicent bench --requests FILE.jsonl``.

Each line of the file is one request body, sent as it stands — to ``/{function}`` when a
function is named, else to ``/classify`` or ``/rank`` by its fields (``sentence`` /
``input`` / ``sentences`` classify; ``question`` / ``sent1`` / ``items`` rank). With a
batch size N > 1 the texts of N consecutive single-text lines go in one batch request
(``{"sentences": [...]}`` / ``{"items": [...]}``), as the built-in workloads do. A line that
is not a JSON object, or that no route takes, is named by file and line; nothing is sent
before the whole file has been read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from millicent.errors import DataError
from millicent.harness.workload import PlannedRequest, Workload

_CLASSIFY = ("sentence", "input", "sentences")
_RANK = ("question", "sent1", "items")


def _route(body: dict[str, Any], where: str) -> str:
    if any(f in body for f in _CLASSIFY):
        return "/classify"
    if any(f in body for f in _RANK):
        return "/rank"
    raise DataError(f"{where}: a request body needs \"sentence\" or \"sentences\" (classify) or "
                    "\"question\" or \"items\" (rank); name the function with --function "
                    "to send other bodies as they stand")


def _texts(body: dict[str, Any]) -> int:
    for batch in ("sentences", "items"):
        if isinstance(body.get(batch), list):
            return max(1, len(body[batch]))
    return 1


def _read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    bodies: list[tuple[int, dict[str, Any]]] = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    body = json.loads(line)
                except ValueError as exc:
                    raise DataError(f"{path}:{n}: not a JSON request body: {exc}") from exc
                if not isinstance(body, dict):
                    raise DataError(f"{path}:{n}: a request body must be a JSON object")
                bodies.append((n, body))
    except FileNotFoundError as exc:
        raise DataError(f"requests file {path} not found") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text: {exc}") from exc
    if not bodies:
        raise DataError(f"{path}: no request bodies in it")
    return bodies


def _batched(bodies: list[tuple[int, dict[str, Any]]], size: int, path: Path,
             function: str | None) -> list[PlannedRequest]:
    out: list[PlannedRequest] = []
    for start in range(0, len(bodies), size):
        group = bodies[start : start + size]
        if all("sentence" in b or "input" in b for _, b in group):
            payload: dict[str, Any] = {"sentences": [b.get("sentence", b.get("input")) for _, b in group]}
        elif all("question" in b for _, b in group):
            payload = {"items": [_item(b) for _, b in group]}
        else:
            n = group[0][0]
            raise DataError(f"{path}:{n}: --batch-size groups lines that each hold one text "
                            "of one kind (all \"sentence\" or all \"question\"), from this line on")
        route = f"/{function}" if function else _route(payload, f"{path}:{group[0][0]}")
        out.append(PlannedRequest.json(route, payload, len(group)))
    return out


def _item(body: dict[str, Any]) -> dict[str, Any]:
    answers = body["answers"] if "answers" in body else [body.get("answer", body.get("sent2"))]
    return {"question": body["question"], "answers": answers}


def requests_workload(path: str | Path, function: str | None = None, batch_size: int = 1,
                      limit: int | None = None) -> Workload:
    """The requests of a JSONL file as a benchmark workload (see the module docstring)."""
    p = Path(path)
    bodies = _read(p)
    full = sum(_texts(b) for _, b in bodies)
    if limit is not None:
        bodies = bodies[:limit]
    if batch_size > 1:
        requests = _batched(bodies, batch_size, p, function)
    else:
        requests = [PlannedRequest.json(f"/{function}" if function else _route(b, f"{p}:{n}"), b,
                                        _texts(b)) for n, b in bodies]
    return Workload(function or "requests", f"{p.name} ({len(bodies)} request bodies)",
                    tuple(requests), full, batch_size)
