"""Fixtures of the reliability suite, shared by its modules (package scope): the shipped
artifacts, one SQLite store holding both models' vectors (loaded once by the real CLI) and
one ``millicent serve`` process with both models at the platform's default limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from millicent.testing.loopback import PlatformProcess, start_platform
from tests.reliability.support import load_vectors, require_artifacts


@pytest.fixture(scope="package")
def artifacts() -> tuple[Path, Path]:
    return require_artifacts()


@pytest.fixture(scope="package")
def sqlite_url(artifacts: tuple[Path, Path], data_dir: Path,
               tmp_path_factory: pytest.TempPathFactory) -> str:
    kim, sm = artifacts
    url = f"sqlite:///{tmp_path_factory.mktemp('reliability-store')}/vectors.db"
    load_vectors(kim, url, "sst-1:dev", data_dir)
    load_vectors(sm, url, "trecqa:raw-dev", data_dir)
    return url


@pytest.fixture(scope="package")
def platform(artifacts: tuple[Path, Path], sqlite_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    """kim (Kim CNN SST-1) and sm (SM CNN TrecQA) at the default limits; no --host given."""
    kim, sm = artifacts
    p = start_platform(["--model", f"kim={kim}", "--model", f"sm={sm}", "--store", sqlite_url,
                        "--max-concurrency", "4", "--idle-timeout", "900"],
                       tmp_path_factory.mktemp("reliability-serve"))
    yield p
    assert p.stop() == 0
