"""Preparing a :class:`~millicent.harness.scenario.Configuration` for ``bench --compare``:
fill its store, build its pack, start the process that serves it, stop it afterwards.

The vectors are the models' shared table (:class:`~millicent.data.embedding_source.
EmbeddingSource`): a pretrained source such as GloVe-50, or a model's own learned table
(``embeddings.npz`` of a ``rand`` / ``non-static`` artifact).

* serverless, store ``dynamodb``: a table per (layout, dimension, source) at
  ``--dynamodb-endpoint`` holding the vectors of every word the evaluation requests contain
  (DynamoDB's latency and price per read do not depend on the table's size), loaded and
  verified by the store's bulk loader (a rerun only verifies); served by ``millicent
  serve`` (the local Lambda platform) with the pack and LRU the configuration names, the
  numpy runtime or the PyTorch engine; a ``snapshot`` configuration with ``--snapshot``
  (INIT once per function in a template process, each cold start a fork of it);
* serverless, store ``none``: the same vectors in a SQLite file bundled with the function;
* ``server``: ``python -m millicent.baselines.server``, the whole vector table in memory.

Every process is started here, on a free loopback port, and terminated on exit.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from millicent.data.embedding_source import EmbeddingSource
from millicent.errors import ConfigError, InvalidInput
from millicent.harness.scenario import Configuration
from millicent.harness.workload import Workload
from millicent.store.pack import DEFAULT_PACK_MB
from millicent.testing.loopback import free_port, stop_process, wait_listening

if TYPE_CHECKING:
    from millicent.tokenizers.base import Tokenizer

TABLE_PREFIX = "millicent-bench"


@dataclass(frozen=True)
class Setup:
    """What every configuration of one comparison shares."""

    artifacts: Mapping[str, Path]  #: function/model name → artifact directory
    data_dir: Path
    work_dir: Path  #: stores, packs and process logs go here
    dynamodb_endpoint: str | None = None
    region: str = "us-east-1"
    #: the frequent-word pack's size (most frequent words first): a budget in MiB, or a
    #: word count when ``pack_top`` is given (then ``pack_mb`` must be None)
    pack_mb: float | None = DEFAULT_PACK_MB
    pack_top: int | None = None
    max_concurrency: int = 32
    startup_timeout_s: float = 120.0
    #: isolated cold starts measured per serverless configuration (the first request from
    #: zero, alone; medians reported), and whether to add a burst of C at once from zero
    cold_samples: int = 3
    cold_burst: bool = True
    #: the always-on ``server`` configuration's price, for its cost per query at its throughput
    instance_usd_per_hour: float = 0.0168
    #: the ``whole`` configuration's model (``export_whole``'s directory); None: exported
    #: here from the artifact's source directory (:mod:`millicent.testbed.whole`)
    whole_model: Path | None = None


def request_vocab(workloads: Sequence[Workload], tokenizer: Tokenizer) -> set[str]:
    """Every store key the workloads' requests read: each body read by the request edge for
    its workload's role and encoded by the models' ``tokenizer``, as the function does."""
    import json

    from millicent.config import Limits
    from millicent.runtime.encoding import request_keys
    from millicent.runtime.requests import body_role, parse_request

    limits = Limits()
    vocab: set[str] = set()
    for w in workloads:
        for req in w.requests:
            body = json.loads(req.body)
            role = w.spec.role if w.spec is not None else body_role(body) or "classify"
            vocab.update(request_keys(tokenizer, parse_request(role, body, limits), limits))
    return vocab


class Prepared:
    """Vectors, stores and the pack shared by the configurations, built once and on demand.

    Stores and the pack are reused across runs when they already hold exactly these
    vectors (verified by reading them back; see :mod:`millicent.testbed.prepare`).
    """

    def __init__(self, setup: Setup, workloads: Sequence[Workload], log: IO[str] | None = None) -> None:
        self.setup = setup
        self.source = EmbeddingSource.of_artifacts(setup.artifacts)
        #: the store keys the requests read, made by the models' own tokenizer
        self.vocab = request_vocab(workloads, self.source.keys)
        self._log = log if log is not None else sys.stderr
        self._vectors: tuple[list[str], Any] | None = None
        self._stores: dict[tuple[str, str], str] = {}
        self._pack: Path | None = None
        self._whole: Path | None = None
        #: what each preparation found and did (for the run's report)
        self.status: dict[str, Any] = {}

    def say(self, msg: str) -> None:
        print(msg, file=self._log, flush=True)

    @property
    def vectors(self) -> tuple[list[str], Any]:
        """The source's whole table ``(keys, matrix)``, most frequent words first."""
        if self._vectors is None:
            self._vectors = self.source.load(self.setup.data_dir)
        return self._vectors

    def _subset(self) -> tuple[list[str], Any]:
        """The rows of the keys the requests read (the table's words are keys already)."""
        keys, matrix = self.vectors
        rows = [i for i, k in enumerate(keys) if k in self.vocab]
        return [keys[i] for i in rows], matrix[rows]

    def store_url(self, config: Configuration) -> str:
        """A loaded, verified store for ``config`` (shared by configurations alike in it)."""
        from millicent.testbed.prepare import ensure_store

        kind = "dynamodb" if config.store == "dynamodb" else "sqlite"
        key = (kind, config.layout if kind == "dynamodb" else "binary")
        if key in self._stores:
            return self._stores[key]
        words, matrix = self._subset()
        dim = int(matrix.shape[1])
        name = f"{TABLE_PREFIX}-{key[1]}-{dim}d-{self.source.slug}"
        if kind == "dynamodb":
            if not self.setup.dynamodb_endpoint:
                raise ConfigError(f"configuration {config.name!r} needs --dynamodb-endpoint")
            url = (f"dynamodb://{name}?endpoint={self.setup.dynamodb_endpoint}"
                   f"&region={self.setup.region}")
        else:
            url = f"sqlite:///{(self.setup.work_dir / f'{name}.db').resolve()}"
        self.say(f"store: {len(words)} vectors ({self.source.label}, the requests' words) "
                 f"→ {url}")
        st = ensure_store(url, words, matrix, source=self.source.label, layout=key[1])
        self.say("  " + ("complete already, verified" if st.reused else
                         f"{st.written} written, verified") + f" in {st.seconds:.1f} s")
        self.status[f"store-{kind}-{key[1]}"] = st.to_dict()
        self._stores[key] = url
        return url

    def pack_path(self) -> Path:
        """The frequent-word pack: the most frequent words of the source that fit
        ``pack_mb`` MiB (or the ``pack_top`` most frequent)."""
        if self._pack is None:
            from millicent.testbed.prepare import ensure_pack, pack_size

            words, matrix = self.vectors
            top, mb = self.setup.pack_top, self.setup.pack_mb
            path = self.setup.work_dir / f"pack-{self.source.slug}-{pack_size(top, mb)}.bin"
            st = ensure_pack(path, words, matrix, top=top, budget_mb=mb,
                             source=self.source.label, by=self.source.ranking)
            self.say(f"pack: {st.words} most frequent words ({self.source.ranking}, "
                     f"{st.bytes / 2**20:.1f} MB) → {path}"
                     + (" (complete already)" if st.reused else ""))
            self.status["pack"] = st.to_dict()
            self._pack = path
        return self._pack


    def whole_dir(self) -> Path:
        """The ``whole`` configuration's model: the one model's network with its table inside."""
        if self._whole is None:
            from millicent.testbed.whole import ensure_whole

            ((_, artifact),) = self.setup.artifacts.items()
            st = ensure_whole(artifact, self.setup.work_dir, self.setup.whole_model, self._log)
            self.say(f"whole: {st.path} ({st.precision}"
                     + (", given" if st.exported_from is None else
                        ", reused" if st.reused else f", exported in {st.seconds:.1f} s") + ")")
            self.status["whole"] = st.to_dict()
            self._whole = Path(st.path)
        return self._whole


def _function_command(config: Configuration, prepared: Prepared, store: str | None,
                      pack: Path | None) -> list[str]:
    """``serve`` arguments of a baseline engine's function (``torch``, ``whole``): one model,
    its own handler module, the function's environment variables."""
    from millicent import config as env

    setup = prepared.setup
    if len(setup.artifacts) != 1:
        # one function per model: each needs its own MILLICENT_MODELS
        raise InvalidInput(f"the {config.engine} engine compares one model at a time")
    ((name, path),) = setup.artifacts.items()
    module = f"millicent.baselines.{config.engine}_engine"
    cmd = ["--function", f"{name}={module}.handler",
           "--env", f"{env.MODELS}={name}={path.resolve()}"]
    if config.engine == "whole":
        from millicent.baselines.whole_engine import WHOLE_MODEL

        return [*cmd, "--env", f"{WHOLE_MODEL}={prepared.whole_dir().resolve()}"]
    cmd += ["--env", f"{env.STORE_URL}={store}"]
    return cmd + (["--env", f"{env.PACK_PATH}={pack}"] if pack else [])


def serve_command(config: Configuration, prepared: Prepared, port: int, log_dir: Path,
                  max_concurrency: int, idle_timeout_s: float = 3600.0) -> list[str]:
    """The command line that serves ``config`` on ``port``; serverless environments idle
    for ``idle_timeout_s`` are stopped (short: to measure cold starts from zero)."""
    setup = prepared.setup
    if config.kind == "server":
        cmd = [sys.executable, "-m", "millicent.baselines.server", "--port", str(port),
               "--data-dir", str(setup.data_dir)]
        if not prepared.source.learned:  # a learned table comes with its artifact
            cmd += ["--vectors", prepared.source.spec]
        for name, path in setup.artifacts.items():
            cmd += ["--model", f"{name}={path.resolve()}"]
        return cmd
    store = None if config.engine == "whole" else prepared.store_url(config)  # table inside
    cmd = [sys.executable, "-m", "millicent.cli.main", "serve", "--port", str(port),
           "--memory-mb", str(config.memory_mb), "--lru-size", str(config.lru_size),
           "--max-concurrency", str(max_concurrency), "--idle-timeout", f"{idle_timeout_s:g}",
           "--log-dir", str(log_dir)] + (["--snapshot"] if config.snapshot else [])
    pack = prepared.pack_path() if config.pack else None
    if config.engine in ("torch", "whole"):
        return cmd + _function_command(config, prepared, store, pack)
    cmd += ["--store", str(store)] + (["--pack", str(pack)] if pack else [])
    for name, path in setup.artifacts.items():  # millicent's runtime, by each artifact's kind
        cmd += ["--model", f"{name}={path.resolve()}"]
    return cmd


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    """:func:`~millicent.testing.loopback.wait_listening`, failing as a ConfigError that shows
    the end of the server's log."""
    try:
        wait_listening(port, proc, timeout)
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ConfigError(f"{exc}; see {log}:\n{tail}") from exc


@contextlib.contextmanager
def serving(cmd: Sequence[str], port: int, log: Path, timeout_s: float = 120.0,
            env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Iterator[str]:
    """Run ``cmd`` (a server that will listen on ``port``) while the block runs; yields
    ``http://127.0.0.1:PORT``. Output goes to ``log``. The process is stopped (SIGTERM,
    then SIGKILL) however the block ends — errors and Ctrl-C included."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT,
                                env=None if env is None else dict(env), cwd=cwd,
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        try:
            _wait_listening(port, proc, timeout_s, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(proc)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the parent dies, even by SIGKILL, so a
    killed benchmark leaves no server behind (the platform then stops its environments)."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextlib.contextmanager
def deployment(config: Configuration, prepared: Prepared, max_concurrency: int,
               idle_timeout_s: float = 3600.0, label: str | None = None,
               env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Iterator[str]:
    """Serve ``config`` while the block runs; yields its endpoint URL. Logs and REPORT
    records go to ``work_dir/LABEL`` (default: the configuration's name); ``env`` replaces
    the server's environment and ``cwd`` its working directory (another source tree: on
    ``PYTHONPATH`` and as the directory, since ``python -m`` puts it first on the path)."""
    log_dir = deployment_dir(prepared, label or config.name)
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = serve_command(config, prepared, port, log_dir, max_concurrency, idle_timeout_s)
    prepared.say(f"starting {label or config.name}: {' '.join(cmd[1:])}")
    with serving(cmd, port, log_dir / "server.log", prepared.setup.startup_timeout_s,
                 env=env, cwd=cwd) as url:
        yield url


def deployment_dir(prepared: Prepared, label: str) -> Path:
    """Where a deployment's server log and REPORT records (``invocations.jsonl``) go."""
    return prepared.setup.work_dir / label
