"""Preparing a :class:`~millicent.bench.scenario.Configuration` for ``bench --compare``:
fill its store, build its pack, start the process that serves it, stop it afterwards.

* serverless, store ``dynamodb``: a table per (layout, dimension) at ``--dynamodb-endpoint``
  holding the vectors of every word the evaluation requests contain (DynamoDB's latency and
  price per read do not depend on the table's size), loaded and verified by the store's
  bulk loader; served by ``millicent serve`` (the local Lambda platform) with the pack and
  LRU the configuration names, the numpy runtime or the PyTorch engine;
* serverless, store ``none``: the same vectors in a SQLite file bundled with the function;
* ``server``: ``python -m millicent.bench.server``, the whole vector table in memory.

Every process is started here, on a free loopback port, and terminated on exit.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from millicent.bench.scenario import Configuration
from millicent.bench.workload import Workload
from millicent.errors import ConfigError, DataError, InvalidInput

TABLE_PREFIX = "millicent-bench"


@dataclass(frozen=True)
class Setup:
    """What every configuration of one comparison shares."""

    artifacts: Mapping[str, Path]  #: function/model name → artifact directory
    data_dir: Path
    work_dir: Path  #: stores, packs and process logs go here
    dynamodb_endpoint: str | None = None
    region: str = "us-east-1"
    pack_top: int = 5000  #: words in the frequent-word pack (most frequent first)
    max_concurrency: int = 32
    startup_timeout_s: float = 120.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request_vocab(workloads: Sequence[Workload]) -> set[str]:
    """Every token the workloads' requests contain (tokenized as the function does)."""
    import json

    from millicent.runtime.tokenize import tokenize

    vocab: set[str] = set()
    for w in workloads:
        for req in w.requests:
            body = json.loads(req.body)
            for field in ("sentence", "question", "answer"):
                if isinstance(body.get(field), str):
                    vocab.update(tokenize(body[field]))
    return vocab


def vectors_source(setup: Setup) -> str:
    """The one embedding source the models share (one function, one table)."""
    import json

    sources = {}
    for name, path in setup.artifacts.items():
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path}/manifest.json: {exc}") from exc
        sources[name] = str(manifest.get("embedding", {}).get("source", ""))
    distinct = set(sources.values())
    if len(distinct) != 1 or "" in distinct or "artifact" in distinct:
        raise ConfigError("the compared models must share one pretrained embedding source, got "
                          + ", ".join(f"{n}: {s or '?'}" for n, s in sources.items()))
    return distinct.pop()


class Prepared:
    """Vectors and stores shared by the configurations, built once and on demand."""

    def __init__(self, setup: Setup, workloads: Sequence[Workload], log: IO[str] | None = None) -> None:
        self.setup = setup
        self.source = vectors_source(setup)
        self.vocab = request_vocab(workloads)
        self._log = log if log is not None else sys.stderr
        self._vectors: Any = None
        self._stores: dict[tuple[str, str], str] = {}
        self._pack: Path | None = None

    def say(self, msg: str) -> None:
        print(msg, file=self._log, flush=True)

    @property
    def vectors(self) -> Any:
        """The full vector table of the source, in its (frequency) order."""
        if self._vectors is None:
            from millicent.data.vectors import load_vectors

            self._vectors = load_vectors(self.source, self.setup.data_dir)
        return self._vectors

    def _subset(self) -> tuple[list[str], Any]:
        from millicent.words import vector_key

        wanted = {vector_key(t) for t in self.vocab}
        v = self.vectors
        rows = [i for i, w in enumerate(v.words) if vector_key(w) in wanted]
        return [v.words[i] for i in rows], v.matrix[rows]

    def store_url(self, config: Configuration) -> str:
        """A loaded, verified store for ``config`` (shared by configurations alike in it)."""
        kind = "dynamodb" if config.store == "dynamodb" else "sqlite"
        key = (kind, config.layout if kind == "dynamodb" else "binary")
        if key in self._stores:
            return self._stores[key]
        from millicent.store import open_store
        from millicent.store.loader import load_store

        words, matrix = self._subset()
        dim = int(matrix.shape[1])
        if kind == "dynamodb":
            if not self.setup.dynamodb_endpoint:
                raise ConfigError(f"configuration {config.name!r} needs --dynamodb-endpoint")
            url = (f"dynamodb://{TABLE_PREFIX}-{config.layout}-{dim}d?endpoint="
                   f"{self.setup.dynamodb_endpoint}&region={self.setup.region}")
        else:
            url = f"sqlite:///{(self.setup.work_dir / f'vectors-{dim}d.db').resolve()}"
        self.say(f"loading {len(words)} vectors ({self.source}, the requests' words) into {url}")
        store = open_store(url)
        try:
            report = load_store(store, words, matrix, source=self.source, layout=key[1],
                                progress=False)
        finally:
            store.close()
        self.say(f"  {report.written} written, {report.unchanged} already there, verified "
                 f"{report.verified}")
        self._stores[key] = url
        return url

    def pack_path(self) -> Path:
        """The frequent-word pack: the ``pack_top`` most frequent words of the source."""
        if self._pack is None:
            from millicent.store.pack import select_top, write_pack

            sel = select_top(self.vectors.words, self.vectors.matrix, top=self.setup.pack_top)
            self._pack = write_pack(self.setup.work_dir / f"pack-top{self.setup.pack_top}.bin",
                                    sel.keys, sel.matrix, source=self.source, by="glove")
            self.say(f"pack: {len(sel.keys)} most frequent words → {self._pack}")
        return self._pack


def serve_command(config: Configuration, prepared: Prepared, port: int, log_dir: Path,
                  max_concurrency: int) -> list[str]:
    """The command line that serves ``config`` on ``port``."""
    setup = prepared.setup
    if config.kind == "server":
        cmd = [sys.executable, "-m", "millicent.bench.server", "--port", str(port),
               "--data-dir", str(setup.data_dir), "--vectors", prepared.source]
        for name, path in setup.artifacts.items():
            cmd += ["--model", f"{name}={path.resolve()}"]
        return cmd
    store = prepared.store_url(config)
    cmd = [sys.executable, "-m", "millicent.cli.main", "serve", "--port", str(port),
           "--memory-mb", str(config.memory_mb), "--lru-size", str(config.lru_size),
           "--max-concurrency", str(max_concurrency), "--idle-timeout", "3600",
           "--log-dir", str(log_dir)]
    pack = prepared.pack_path() if config.pack else None
    if config.engine == "numpy":
        cmd += ["--store", store] + (["--pack", str(pack)] if pack else [])
        for name, path in setup.artifacts.items():
            cmd += ["--model", f"{name}={path.resolve()}"]
        return cmd
    from millicent import config as env

    if len(setup.artifacts) != 1:
        # one function per model: each needs its own MILLICENT_MODELS
        raise InvalidInput("the torch engine compares one model at a time")
    ((name, path),) = setup.artifacts.items()
    cmd += ["--function", f"{name}=millicent.bench.torch_engine.handler",
            "--env", f"{env.MODELS}={name}={path.resolve()}", "--env", f"{env.STORE_URL}={store}"]
    if pack:
        cmd += ["--env", f"{env.PACK_PATH}={pack}"]
    return cmd


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ConfigError(f"the server exited with {proc.returncode} before listening; "
                              f"see {log}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise ConfigError(f"nothing listening on 127.0.0.1:{port} after {timeout:g}s; see {log}")


@contextlib.contextmanager
def deployment(config: Configuration, prepared: Prepared, max_concurrency: int) -> Iterator[str]:
    """Serve ``config`` while the block runs; yields its endpoint URL."""
    log_dir = prepared.setup.work_dir / config.name
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = serve_command(config, prepared, port, log_dir, max_concurrency)
    log = log_dir / "server.log"
    prepared.say(f"starting {config.name}: {' '.join(cmd[1:])}")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_listening(port, proc, prepared.setup.startup_timeout_s, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
