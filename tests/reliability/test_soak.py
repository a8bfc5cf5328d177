"""The soak benchmark (experiments/soak.py), short: C = 32 for 10 s against ``millicent serve``
with the DynamoDB store on dynalite, every request reading the store. The criteria are the
benchmark's — zero errors and never a changed answer, the same environments throughout,
environment RSS growth under 10 % — with a p99 tolerance for a loaded 2-core machine
(last window ≤ 2 × the first, where the full run allows 1.5 ×)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.servers import REPO, Server

pytestmark = pytest.mark.integration


def soak_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("millicent_soak", REPO / "experiments" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_short_soak(dynalite: Server, data_dir: Path, tmp_path: Path) -> None:
    from millicent.data.sst import load_sst

    soak = soak_module()
    url = soak.prepare_table(dynalite.endpoint, data_dir)
    sentences = [ex.text for ex in load_sst(data_dir, "sst-1", "dev")]
    platform = soak.start_soak_platform(url, 32, tmp_path)
    try:
        result = soak.soak(platform, sentences, concurrency=32, duration_s=10.0, warmup_s=3.0)
    finally:
        assert platform.stop() == 0
    failed = soak.check(result, soak.Criteria(max_p99_ratio=2.0))
    print(soak.summary(result, failed))
    assert not failed, soak.summary(result, failed)
    assert result.environments == 32 and result.requests >= 500
