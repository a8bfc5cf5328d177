"""What an execution environment builds once and reuses while warm: models and the store.

Lambda keeps a process alive between invocations, so anything built at module scope (or
held by a module-level object, as here) costs its time only on the cold start. Building
is lazy — on the first invocation, not at import — so importing the handler stays cheap
and a configuration error becomes a clear error response instead of an init crash.
A failed build is not cached: the next invocation tries again (the store may be back).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from millicent.config import STORE_URL, FunctionConfig
from millicent.errors import ConfigError, NotFound

if TYPE_CHECKING:  # numpy-backed; imported lazily by the default builders
    from millicent.runtime.model import Classifier, Ranker
    from millicent.types import Embeddings


def load_models(config: FunctionConfig) -> dict[str, Classifier | Ranker]:
    """Every configured model, in configuration order (default model builder)."""
    from millicent.runtime.model import load_model

    return {name: load_model(path) for name, path in config.models}


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


@dataclass
class Loaded:
    """The built environment: models by name (configuration order) and the embeddings."""

    config: FunctionConfig
    models: dict[str, Classifier | Ranker]
    embeddings: Embeddings

    def first(self, role: str) -> str:
        """Name of the first model with ``role`` ("classify" | "rank"), or NotFound."""
        for name, model in self.models.items():
            if model.role == role:
                return name
        raise NotFound(f"this function has no {'classification' if role == 'classify' else 'ranking'} model",
                       models=list(self.models))


class FunctionEnvironment:
    """Holds the per-environment state; one module-level instance lives in the handler."""

    def __init__(
        self,
        config: Callable[[], FunctionConfig] = FunctionConfig.from_env,
        models: Callable[[FunctionConfig], dict[str, Classifier | Ranker]] = load_models,
        store: Callable[[FunctionConfig], Embeddings] = open_store,
    ) -> None:
        self._config_loader = config
        self._models_builder = models
        self._store_builder = store
        self._config: FunctionConfig | None = None
        self._models: dict[str, Classifier | Ranker] | None = None
        self._embeddings: Embeddings | None = None
        self.invocations = 0
        self.created = time.monotonic()

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

    def load(self) -> tuple[Loaded, float | None]:
        """The built environment, and the ms spent building it now (None when already built)."""
        if self._models is not None and self._embeddings is not None:
            return Loaded(self.config, self._models, self._embeddings), None
        t0 = time.perf_counter()
        config = self.config
        if self._models is None:
            self._models = self._models_builder(config)
        if self._embeddings is None:
            self._embeddings = self._store_builder(config)
        init_ms = (time.perf_counter() - t0) * 1000.0
        return Loaded(config, self._models, self._embeddings), init_ms

    def close(self) -> None:
        """Release the store (tests; Lambda simply freezes or kills the process)."""
        if self._embeddings is not None:
            self._embeddings.close()
        self._embeddings = None
        self._models = None
