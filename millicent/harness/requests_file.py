"""A user's own requests for the benchmark: ``millicent bench --requests FILE.jsonl``.

Each line of the file is one request body, sent as it stands — to ``/{function}`` when a
function is named, else to the alias route its fields name (``sentence`` / ``input`` /
``sentences``: ``/classify``; ``question`` / ``sent1`` / ``items``: ``/rank`` — the request
edge's :func:`~millicent.runtime.requests.body_role`). With a batch size N > 1 the texts of
N consecutive single-text lines go in one batch request, joined by the request edge
(:func:`~millicent.runtime.requests.batch_body`), as the built-in workloads do. A line that
is not a JSON object, or that no route takes, is named by file and line; nothing is sent
before the whole file has been read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from millicent.errors import DataError, InvalidInput
from millicent.harness.workload import PlannedRequest, Workload, route
from millicent.runtime.requests import BATCH_ITEMS, BATCH_TEXTS, batch_body, body_role


def _route(body: dict[str, Any], where: str) -> str:
    role = body_role(body)
    if role is None:
        raise DataError(f"{where}: a request body needs \"sentence\" or \"sentences\" (classify) or "
                        "\"question\" or \"items\" (rank); name the function with --function "
                        "to send other bodies as they stand")
    return route(role)


def _texts(body: dict[str, Any]) -> int:
    for batch in (BATCH_TEXTS, BATCH_ITEMS):
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
        roles = {body_role(b) for _, b in group}
        role = roles.pop() if len(roles) == 1 else None
        try:
            if role is None:
                raise InvalidInput("lines of different kinds")
            payload = batch_body(role, [b for _, b in group])
        except InvalidInput as exc:
            n = group[0][0]
            raise DataError(f"{path}:{n}: --batch-size groups lines that each hold one text "
                            "of one kind (all \"sentence\" or all \"question\"), from this line "
                            f"on ({exc.message})") from exc
        target = f"/{function}" if function else route(role)
        out.append(PlannedRequest.json(target, payload, len(group)))
    return out


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
