"""Helpers of the reliability suite: the shipped artifacts, loading vectors with the real
CLI, and a store proxy that can also be slow or go down (on top of ``FaultProxy``).


"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from tests.integration.faultproxy import FaultProxy
from tests.servers import REPO

KIM = REPO / "millicent" / "artifacts" / "kim-sst1-static"
SM = REPO / "millicent" / "artifacts" / "sm-trecqa"


def require_artifacts() -> tuple[Path, Path]:
    """The shipped Kim CNN SST-1 and SM CNN TrecQA artifacts (they are in the repo)."""
    for path in (KIM, SM):
        if not (path / "manifest.json").exists():
            raise FileNotFoundError(f"shipped artifact missing: {path}")
    return KIM, SM


def load_vectors(artifact: Path, store_url: str, vocab: str, data_dir: Path) -> None:
    """The real CLI: ``millicent embeddings load ARTIFACT --store URL --vocab-from VOCAB``."""
    done = subprocess.run(
        [sys.executable, "-m", "millicent.cli.main", "embeddings", "load", str(artifact),
         "--store", store_url, "--vocab-from", vocab, "--data-dir", str(data_dir), "--quiet"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"embeddings load failed: {done.stderr}")


class StoreProxy(FaultProxy):
    """:class:`FaultProxy` plus a delay before every request is forwarded (a slow store),
    and a fixed port, so a stopped proxy (the store down) can come back where it was."""

    def __init__(self, upstream: str, *, port: int | None = None, delay_s: float = 0.0,
                 seed: int = 0) -> None:
        super().__init__(upstream, seed=seed)
        if port is not None:
            self.port = port
        self.delay_s = delay_s

    async def _handle(self, request: web.Request) -> web.Response:
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        return await super()._handle(request)
