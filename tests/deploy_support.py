"""Helpers of the packaging and deployment tests: the local wheel directory, a tiny
artifact, and moto's server (a real process on a loopback port, control plane only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import servers

#: Manifest of a tiny Kim CNN (random weights): loadable by the runtime, not a trained model.
TINY_MANIFEST = {
    "kind": "kim_cnn",
    "task": "sst-2",
    "config": {"n_classes": 2, "dim": 4, "widths": [1, 2], "n_maps": 3},
    "labels": ["negative", "positive"],
    "embedding": {"dim": 4, "dtype": "float32", "source": "glove-50", "variant": "static"},
    "tokenizer": {"version": "ptb-1"},
}


def wheel_dir(python_tag: str) -> Path:
    """``$MILLICENT_WHEEL_DIR`` (filled by scripts/test) holding a numpy wheel for ``python_tag``."""
    path = Path(os.environ.get("MILLICENT_WHEEL_DIR") or servers.REPO / ".cache" / "wheels")
    if not list(path.glob(f"numpy-*-{python_tag}-*manylinux*x86_64*.whl")):
        what = f"a numpy {python_tag} manylinux wheel in {path} (scripts/test downloads it)"
        if os.environ.get("MILLICENT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{what} is required here")
        pytest.skip(f"{what} not available")
    return path


def tiny_artifact(path: Path, learned_table: bool = False) -> Path:
    """A tiny valid Kim CNN artifact (random weights) for packaging tests."""
    from millicent.runtime.artifact import save_artifact

    rng = np.random.default_rng(0)
    table = (["the", "film"], rng.normal(size=(2, 4)).astype(np.float32)) if learned_table else None
    weights = {f"convs.{i}.{p}": rng.normal(size=(3, 4, k) if p == "weight" else 3)
               for i, k in enumerate((1, 2)) for p in ("weight", "bias")}
    weights |= {"fc.weight": rng.normal(size=(2, 6)), "fc.bias": rng.normal(size=2)}
    return save_artifact(path, dict(TINY_MANIFEST), weights, embeddings=table)


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1:<free port>, killed by :meth:`stop`."""

    def __init__(self) -> None:
        self.port = servers.free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        servers.wait_listening(self.port, self.proc, timeout=30)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        servers.Server(self.proc, self.port).stop()
