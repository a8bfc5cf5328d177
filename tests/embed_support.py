"""The embedding function the integration tests serve: the mean of GloVe-50 vectors, made
by ``millicent import vectors`` and loaded into a SQLite store by ``embeddings load``, each
through the CLI in a subprocess as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.servers import REPO


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], cwd=REPO, check=True,
                   capture_output=True, text=True)


def glove_mean(root: Path, data_dir: Path, *vocab: str) -> tuple[Path, str]:
    """``(artifact, store URL)`` under ``root``: the store holds the words of the
    ``--vocab-from`` specs ``vocab``."""
    artifact = root / "glove-mean"
    _cli("import", "vectors", "glove-50", "--role", "embed", "--out", str(artifact),
         "--data-dir", str(data_dir))
    store = f"sqlite:///{root / 'vectors.db'}"
    _cli("embeddings", "load", str(artifact), "--store", store,
         *(a for v in vocab for a in ("--vocab-from", v)), "--data-dir", str(data_dir), "--quiet")
    return artifact, store
