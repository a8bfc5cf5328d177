"""Helpers shared by the store integration tests: fresh store URLs per backend."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.servers import Server

#: backend variants the behavioural suite runs against
BACKENDS = ["sqlite", "dynamodb-binary", "dynamodb-list", "dynamodb-float16", "redis"]
_ids = itertools.count()


def fresh_url(
    backend: str, tmp: Path, dynalite: Server | None, redis: Server | None, endpoint: str | None = None
) -> tuple[str, dict[str, str]]:
    """``(url, load options)`` of a new, empty store of the given variant."""
    n = next(_ids)
    if backend == "sqlite":
        return f"sqlite:///{tmp}/store{n}.db", {}
    if backend.startswith("dynamodb"):
        assert dynalite is not None
        ep = endpoint or dynalite.endpoint
        variant = backend.split("-", 1)[1]
        opts = {"list": {"layout": "list"}, "float16": {"dtype": "float16"}}.get(variant, {})
        return f"dynamodb://vectors-{variant}-{n}?endpoint={ep}&region=us-east-1", opts
    if backend == "redis":
        assert redis is not None
        return f"redis://127.0.0.1:{redis.port}/0?prefix=t{n}:", {}
    raise ValueError(backend)
