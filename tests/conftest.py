"""Shared fixtures: the data directory and the real servers (dynalite, redis-server).

When a server is not installed the tests that need it are skipped, except under
``MILLICENT_REQUIRE_SERVICES=1`` (set by ``scripts/test`` and CI), where it is an error:
a missing install step must not pass as green.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers

REPO = servers.REPO


def _require_or_skip(what: str) -> None:
    if os.environ.get("MILLICENT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required here (MILLICENT_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$MILLICENT_DATA_DIR``, else ``../shared/data`` beside the repo."""
    env = os.environ.get("MILLICENT_DATA_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not (path / "SOURCES.md").exists():
        _require_or_skip(f"data directory {path}")
    return path


@pytest.fixture(scope="session")
def dynalite() -> Iterator[servers.Server]:
    """A dynalite server (DynamoDB API, in memory) on a free loopback port."""
    if servers.dynalite_bin() is None:
        _require_or_skip("dynalite")
    server = servers.start_dynalite()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[servers.Server]:
    """A redis-server (no persistence) on a free loopback port."""
    try:
        server = servers.start_redis()
    except FileNotFoundError:
        _require_or_skip("redis-server")
        raise
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _aws_dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 needs *some* credentials to sign requests to dynalite / moto; never real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
