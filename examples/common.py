"""What both examples share: millicent's tokenizer and vectors for training, the CLI, and a
short session on the local serverless platform.

Training must see exactly what serving will: texts split by the tokenizer the artifact will
record (``millicent import onnx``'s default: ``ptb``, PTB-style, lower-cased —
:data:`TOKENIZER`), each token looked up by its store key in the vectors the artifact names
(``glove-50``), unknown words as zero rows. Everything else in the examples is plain PyTorch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing it

from millicent.runtime.artifact import TokenizerSpec  # noqa: E402
from millicent.tokenizers import make_tokenizer  # noqa: E402

#: the tokenizer of the artifacts the examples import (``import onnx``'s default spec)
TOKENIZER = make_tokenizer(TokenizerSpec.of("ptb"))


def cli(*args: str) -> str:
    """Run ``millicent ARGS`` (this checkout's); its stdout, or exit with its error."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    print("$ millicent " + " ".join(args), flush=True)
    done = subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"millicent {args[0]} failed:\n{done.stderr}")
    return done.stdout


class Vectors:
    """GloVe-50 rows of the given tokens, looked up the way the function looks them up."""

    def __init__(self, tokens: Iterable[str], data_dir: Path) -> None:
        from millicent.data.vectors import load_vectors

        vectors = load_vectors("glove-50", data_dir, vocab=set(tokens),
                               key=TOKENIZER.vocabulary_key)
        self.row = {w: i for i, w in enumerate(vectors.words)}
        self.matrix = vectors.matrix
        self.dim = vectors.dim

    def embed(self, tokens: list[str]) -> np.ndarray:
        """(len(tokens), dim) float32; zero rows for unknown words."""
        out = np.zeros((len(tokens), self.dim), dtype=np.float32)
        for i, key in enumerate(TOKENIZER.keys(tokens)):
            j = self.row.get(key)
            if j is not None:
                out[i] = self.matrix[j]
        return out


def on_platform(name: str, artifact: Path, out: Path, data_dir: Path,
                requests: list[dict[str, Any]]) -> list[Any]:
    """Load the artifact's vectors into SQLite, serve it with ``millicent serve`` (the local
    serverless platform: awslambdaric in its own process per environment) and POST
    ``requests`` to ``/{name}``; the answers."""
    from millicent.testing.loopback import start_platform

    store = f"sqlite:///{(out / 'vectors.db').resolve()}"
    cli("embeddings", "load", str(artifact), "--store", store, "--vocab-from", str(artifact),
        "--data-dir", str(data_dir), "--quiet")
    print(f"$ millicent serve --model {name}={artifact} --store {store}", flush=True)
    platform = start_platform(["--model", f"{name}={artifact}", "--store", store], out / "platform")
    try:
        replies = [platform.post(f"/{name}", body) for body in requests]
    finally:
        platform.stop()
    for reply in replies:
        if reply.status != 200:
            sys.exit(f"POST /{name} answered {reply.status}: {reply.body[:300]!r}")
    return [reply.json() for reply in replies]


def arguments(doc: str, epochs: int, batch_size: int, lr: float) -> argparse.Namespace:
    """The options both examples take (with each one's defaults)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


class BestEpoch:
    """The weights of the best dev score so far, put back at the end of training."""

    def __init__(self) -> None:
        self.score = -1.0
        self.state: dict[str, Any] | None = None

    def keep(self, score: float, model: Any) -> None:
        if score > self.score:
            self.score = score
            self.state = {k: v.clone() for k, v in model.state_dict().items()}

    def restore(self, model: Any) -> Any:
        """``model`` with the best weights, in eval mode."""
        if self.state is not None:
            model.load_state_dict(self.state)
        return model.eval()
