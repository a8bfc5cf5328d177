"""What an execution environment builds once and reuses while warm: models and the store.

Lambda keeps a process alive between invocations, so anything built at module scope (or
held by a module-level object, as here) costs its time only on the cold start. Inside an
execution environment the handler module builds everything while it is imported — Lambda's
INIT phase (:meth:`FunctionEnvironment.init`): INIT Duration then holds it, the first
invocation does not, and a SnapStart snapshot (or the local platform's fork-restore)
captures the built models, store client, pack and LRU. A failed INIT raises out of the
import, so the runtime client reports an init error and Lambda retries INIT in a new
environment. ``MILLICENT_INIT=lazy`` builds inside the first invocation instead (a failed
build is not cached: the next invocation tries again).

Snapshots: :func:`register_snapshot_hooks` registers :meth:`~FunctionEnvironment.before_snapshot`
and :meth:`~FunctionEnvironment.after_restore` with ``snapshot_restore_py`` (the SnapStart
runtime hooks, present in Lambda's Python runtimes and installed with awslambdaric): network
connections must not be shared by restored copies, so they are dropped before the snapshot
and reopened after each restore, and ``random`` is reseeded (the retry jitter); the client
objects, the pack and the LRU are kept warm.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from millicent.config import FUNCTION_NAME, INIT_EAGER, STORE_URL, FunctionConfig, init_mode
from millicent.errors import ConfigError, NotFound

if TYPE_CHECKING:  # numpy-backed; imported lazily by the default builders
    from millicent.runtime.roles import ServedModel
    from millicent.types import Embeddings


def load_models(config: FunctionConfig) -> dict[str, ServedModel]:
    """Every configured model, in configuration order (default model builder).

    A function has one store and one pack, so its models must read one table of vectors:
    a mix is refused here (INIT fails with the reason) rather than served wrong vectors.
    """
    from millicent.runtime.one_table import check_one_table
    from millicent.runtime.registry import load_model

    models = {name: load_model(path) for name, path in config.models}
    check_one_table({name: m.manifest for name, m in models.items()}, dict(config.models))
    return models


def open_store(config: FunctionConfig) -> Embeddings:
    """The serving store: backend + frequent-word pack + LRU (default store builder)."""
    from millicent.store import open_embeddings

    if not config.store_url:
        raise ConfigError(f"{STORE_URL} is not set: the function needs an embedding store")
    return open_embeddings(
        config.store_url,
        pack_path=config.pack_path,
        lru_size=config.lru_size,
        deadline_s=config.store_deadline_s,
    )


#: How a cold invocation's environment was built: during INIT (outside the invocation),
#: inside the invocation (``lazy``), or restored from a snapshot.
InitKind = Literal["eager", "lazy", "restore"]


@dataclass(frozen=True)
class InitInfo:
    """The build a cold invocation reports: its duration and where it happened."""

    ms: float
    kind: InitKind

    @property
    def inside_invocation(self) -> bool:
        """Whether the build ran inside the invocation (and so inside its ``total_ms``)."""
        return self.kind == "lazy"


@dataclass
class Loaded:
    """The built environment: models by name (configuration order) and the embeddings."""

    config: FunctionConfig
    models: dict[str, ServedModel]
    embeddings: Embeddings

    def first(self, *roles: str) -> str:
        """Name of the first model with the first of ``roles`` any model has, or NotFound
        naming the first role."""
        for role in roles:
            for name, model in self.models.items():
                if model.role == role:
                    return name
        what = {"classify": "classification", "rank": "ranking", "embed": "embedding"}
        raise NotFound(f"this function has no {what.get(roles[0], roles[0])} model",
                       models=list(self.models))


class FunctionEnvironment:
    """Holds the per-environment state; one module-level instance lives in the handler."""

    def __init__(
        self,
        config: Callable[[], FunctionConfig] = FunctionConfig.from_env,
        models: Callable[[FunctionConfig], dict[str, ServedModel]] = load_models,
        store: Callable[[FunctionConfig], Embeddings] = open_store,
    ) -> None:
        self._config_loader = config
        self._models_builder = models
        self._store_builder = store
        self._config: FunctionConfig | None = None
        self._models: dict[str, ServedModel] | None = None
        self._embeddings: Embeddings | None = None
        #: the INIT / restore not yet reported by an invocation
        self._pending: InitInfo | None = None
        self.invocations = 0

    def begin(self) -> bool:
        """Count an invocation; True for the first one in this process (the cold start)."""
        self.invocations += 1
        return self.invocations == 1

    @property
    def ready(self) -> bool:
        return self._embeddings is not None

    @property
    def config(self) -> FunctionConfig:
        """The configuration from the environment variables (read once)."""
        if self._config is None:
            self._config = self._config_loader()
        return self._config

    def _build(self) -> Loaded:
        config = self.config
        if self._models is None:
            self._models = self._models_builder(config)
        if self._embeddings is None:
            self._embeddings = self._store_builder(config)
        return Loaded(config, self._models, self._embeddings)

    def init(self, prime: Callable[[Loaded], None] | None = None) -> float:
        """Build models and store now — Lambda's INIT phase; returns the ms it took.

        ``prime``: then serve a first request in INIT (see :func:`init_at_import`). The next
        invocation reports it all (``init`` = ``"eager"``) without counting it in its own
        duration. Errors propagate: during INIT they must fail the environment.
        """
        t0 = time.perf_counter()
        loaded = self._build()
        if prime is not None:
            prime(loaded)
        ms = (time.perf_counter() - t0) * 1000.0
        self._pending = InitInfo(ms, "eager")
        return ms

    def load(self) -> tuple[Loaded, InitInfo | None]:
        """The built environment, and the build this invocation reports (None when warm).

        Built already (eagerly or by an earlier invocation): the pending INIT or restore,
        reported once. Not built: built now, inside this invocation (``lazy``).
        """
        if self._models is not None and self._embeddings is not None:
            pending, self._pending = self._pending, None
            return Loaded(self.config, self._models, self._embeddings), pending
        t0 = time.perf_counter()
        loaded = self._build()
        self._pending = None
        return loaded, InitInfo((time.perf_counter() - t0) * 1000.0, "lazy")

    def before_snapshot(self) -> None:
        """Drop network connections before a snapshot (restored copies must not share one)."""
        if self._embeddings is not None:
            self._embeddings.disconnect()

    def after_restore(self) -> float:
        """Reopen connections and reseed ``random`` in a restored copy; returns its ms.

        The next invocation reports it as a ``restore``; models, pack and LRU stay warm.
        """
        t0 = time.perf_counter()
        self.invocations = 0  # a restored copy's first invocation is its cold start
        random.seed(os.urandom(16))
        if self._embeddings is not None:
            self._embeddings.reconnect()
        ms = (time.perf_counter() - t0) * 1000.0
        self._pending = InitInfo(ms, "restore")
        return ms

    def close(self) -> None:
        """Release the store (tests; Lambda simply freezes or kills the process)."""
        if self._embeddings is not None:
            self._embeddings.close()
        self._embeddings = None
        self._models = None


def register_snapshot_hooks(env: FunctionEnvironment) -> bool:
    """Register ``env``'s snapshot hooks with ``snapshot_restore_py``; False if it is absent.

    The hooks run only when a snapshot is taken and restored (SnapStart, ``millicent serve
    --snapshot``); registering them costs nothing otherwise.
    """
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(env.before_snapshot)
    register_after_restore(env.after_restore)
    return True


def init_at_import(env: FunctionEnvironment, prime: Callable[[Loaded], None] | None = None) -> bool:
    """Run Lambda's INIT for ``env`` when imported inside an execution environment.

    Called at module scope by a handler module. Inside an environment
    (``AWS_LAMBDA_FUNCTION_NAME`` set) and unless ``MILLICENT_INIT=lazy``, builds models and
    store now, primes them with ``prime`` (what AWS recommends before a SnapStart snapshot:
    the first real invocation then finds every module it needs imported and the store
    client's request path run once) and registers the snapshot hooks; returns whether it
    did. A failure raises out of the import, so the runtime client reports an init error
    (the platform answers 502 and the next request tries INIT again in a new environment).
    """
    if FUNCTION_NAME not in os.environ or init_mode() != INIT_EAGER:
        return False
    env.init(prime)
    register_snapshot_hooks(env)
    return True
