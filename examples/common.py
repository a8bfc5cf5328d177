"""What both examples share: millicent's tokenizer and vectors for training, the CLI, and a
short session on the local serverless platform.

Training must see exactly what serving will: texts split by millicent's tokenizer
(``millicent.runtime.tokenize``, PTB-style, lower-cased), each token looked up by its vector
key (``millicent.words.vector_key``) in the vectors the artifact names (``glove-50``), unknown
words as zero rows. Everything else in the examples is plain PyTorch.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing it


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

        vectors = load_vectors("glove-50", data_dir, vocab=set(tokens))
        self.row = {w: i for i, w in enumerate(vectors.words)}
        self.matrix = vectors.matrix
        self.dim = vectors.dim

    def embed(self, tokens: list[str]) -> np.ndarray:
        """(len(tokens), dim) float32; zero rows for unknown words."""
        from millicent.words import vector_key

        out = np.zeros((len(tokens), self.dim), dtype=np.float32)
        for i, t in enumerate(tokens):
            j = self.row.get(vector_key(t))
            if j is not None:
                out[i] = self.matrix[j]
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, path: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def on_platform(name: str, artifact: Path, out: Path, data_dir: Path,
                requests: list[dict[str, Any]]) -> list[Any]:
    """Load the artifact's vectors into SQLite, serve it with ``millicent serve`` (the local
    serverless platform: awslambdaric in its own process per environment) and POST
    ``requests`` to ``/{name}``; the answers."""
    store = f"sqlite:///{(out / 'vectors.db').resolve()}"
    cli("embeddings", "load", str(artifact), "--store", store, "--vocab-from", str(artifact),
        "--data-dir", str(data_dir), "--quiet")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    print(f"$ millicent serve --model {name}={artifact} --store {store} --port {port}", flush=True)
    log = open(out / "serve.log", "wb")  # noqa: SIM115 - closed with the process below
    proc = subprocess.Popen([sys.executable, "-m", "millicent.cli.main", "serve", "--model",
                             f"{name}={artifact}", "--store", store, "--port", str(port),
                             "--log-dir", str(out / "platform")], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"millicent serve did not start; see {out / 'serve.log'}")
                time.sleep(0.1)
        return [_post(port, f"/{name}", body) for body in requests]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        log.close()
