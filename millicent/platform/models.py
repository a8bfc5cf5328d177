"""Functions that serve millicent artifacts: one :class:`FunctionSpec` per model, and the
functions of other Python handlers, for ``millicent serve``.

Each model's artifact is loaded once here (a broken one is refused before anything
listens); its function gets the model, the store, the pack and the limits through the
function environment variables the runtime reads (:mod:`millicent.config`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from millicent import config
from millicent.errors import ConfigError
from millicent.platform.functions import FunctionSpec


def parse_pairs(items: Sequence[str], what: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` items as pairs; ConfigError naming ``what`` for anything else."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"{what} must be NAME=VALUE, got {item!r}")
        out.append((key, value))
    return out


def absolute_store(url: str) -> str:
    """Make a relative ``sqlite:///`` path absolute (environments may run elsewhere)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        path, sep, query = url[len(prefix):].partition("?")
        return prefix + str(Path(path).resolve()) + sep + query
    return url


def _one_store(models: dict[str, Any]) -> None:
    """The functions share one ``--store`` and ``--pack``: their models must read the same
    vectors, or a model would be served another model's table."""
    from millicent.runtime.one_table import check_one_table

    check_one_table({name: m.manifest for name, m in models.items()},
                    {name: m.artifact.path for name, m in models.items()})


def build_functions(models: Sequence[tuple[str, Path]], handlers: Sequence[tuple[str, str]],
                    store: str | None, pack: str | None, environment: Mapping[str, str],
                    memory_mb: int, timeout_s: float) -> list[FunctionSpec]:
    """FunctionSpecs for ``models`` (name, artifact directory: the role read from the
    artifact) and ``handlers`` (name, ``module.function``), each with ``environment``."""
    from millicent.runtime.registry import load_model  # validates each artifact up front

    if models and not store:
        raise ConfigError("--store is required with --model (the word vectors live there)")
    loaded = {name: load_model(Path(directory).resolve()) for name, directory in models}
    _one_store(loaded)
    specs = []
    for name, model in loaded.items():
        env = {**environment, config.MODELS: f"{name}={model.artifact.path}",
               config.STORE_URL: absolute_store(str(store))}
        if pack:
            env[config.PACK_PATH] = str(Path(pack).resolve())
        specs.append(FunctionSpec(name, memory_mb=memory_mb, timeout_s=timeout_s,
                                  environment=env, role=model.role))
    for name, handler in handlers:
        specs.append(FunctionSpec(name, handler=handler, memory_mb=memory_mb,
                                  timeout_s=timeout_s, environment=dict(environment)))
    if not specs:
        raise ConfigError("nothing to serve: give --model NAME=ARTIFACT_DIR (or --function NAME=MODULE.FUNC)")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"function names must be unique: {names}")
    return specs
