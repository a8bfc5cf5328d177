"""The repository's root and the loopback servers the tests start (dynalite,
redis-server), which live in the package (:mod:`millicent.testing.loopback`) so the
benchmark scripts share them."""

from __future__ import annotations

from pathlib import Path

from millicent.testing.loopback import (  # noqa: F401 - the tests' names for them
    Server,
    dynalite_bin,
    free_port,
    start_dynalite,
    start_redis,
    wait_listening,
)

REPO = Path(__file__).resolve().parents[1]
