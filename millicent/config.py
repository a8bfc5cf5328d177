"""Environment-variable names and typed configuration shared by every layer.

All names live here so the handler, the platform, the packager and the CLI agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from millicent.errors import ConfigError

N = TypeVar("N", int, float)

# --- data ---------------------------------------------------------------------------
DATA_DIR = "MILLICENT_DATA_DIR"  #: local copy of the public datasets
CACHE_DIR = "MILLICENT_CACHE_DIR"  #: download cache (`millicent data fetch`)

# --- the function (read by runtime/handler.py inside an execution environment) --------
MODELS = "MILLICENT_MODELS"  #: "name=dir[,name=dir...]"; the first classifier/ranker get the aliases
STORE_URL = "MILLICENT_STORE_URL"  #: sqlite:///x.db | dynamodb://table?... | redis://host:port/0
PACK_PATH = "MILLICENT_PACK"  #: frequent-word pack file (optional)
LRU_SIZE = "MILLICENT_LRU_SIZE"  #: words kept in the in-function LRU (0 disables)
MAX_BODY_BYTES = "MILLICENT_MAX_BODY_BYTES"
MAX_TOKENS = "MILLICENT_MAX_TOKENS"
MAX_ANSWERS = "MILLICENT_MAX_ANSWERS"
MAX_BATCH = "MILLICENT_MAX_BATCH"  #: most texts (or rank items) in one batch request
STORE_DEADLINE_S = "MILLICENT_STORE_DEADLINE_S"  #: retry budget for one store read
INIT_MODE = "MILLICENT_INIT"  #: "eager" (default: build during Lambda's INIT) | "lazy" (first invocation)
API_KEY = "MILLICENT_API_KEY"  #: when set, the gateway requires `x-api-key`
#: onnxruntime's own switch for the telemetry it keeps under ~/.cache (set to 1 before it loads)
ORT_DISABLE_TELEMETRY = "ORT_DISABLE_TELEMETRY"
FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"  #: set by Lambda and by the local platform

DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_MAX_TOKENS = 1_000
DEFAULT_MAX_ANSWERS = 1_000
DEFAULT_MAX_BATCH = 256
#: Lambda refuses a function's answer over 6 MB (the invocation payload limit, both ways)
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
DEFAULT_LRU_SIZE = 50_000
DEFAULT_STORE_DEADLINE_S = 5.0
INIT_EAGER, INIT_LAZY = "eager", "lazy"


def init_mode(env: dict[str, str] | None = None) -> str:
    """``MILLICENT_INIT``: ``eager`` (default) or ``lazy``; anything else is a ConfigError."""
    raw = ((env if env is not None else os.environ).get(INIT_MODE) or INIT_EAGER).strip().lower()
    if raw not in (INIT_EAGER, INIT_LAZY):
        raise ConfigError(f"{INIT_MODE} must be {INIT_EAGER!r} or {INIT_LAZY!r}, got {raw!r}")
    return raw


def _number(name: str, default: N, env: dict[str, str] | None, cast: Callable[[str], N]) -> N:
    """The variable ``name`` read with ``cast`` (``default`` when unset or empty)."""
    raw = (env if env is not None else os.environ).get(name)
    if raw is None or raw == "":
        return default
    try:
        return cast(raw)
    except ValueError as exc:
        what = "an integer" if cast is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from exc


def _int(name: str, default: int, env: dict[str, str] | None = None) -> int:
    return _number(name, default, env, int)


def _float(name: str, default: float, env: dict[str, str] | None = None) -> float:
    return _number(name, default, env, float)


@dataclass(frozen=True)
class Limits:
    """Request limits enforced by the function (and the gateway for the body)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_answers: int = DEFAULT_MAX_ANSWERS
    max_batch: int = DEFAULT_MAX_BATCH

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        limits = cls(
            max_body_bytes=_int(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, env),
            max_tokens=_int(MAX_TOKENS, DEFAULT_MAX_TOKENS, env),
            max_answers=_int(MAX_ANSWERS, DEFAULT_MAX_ANSWERS, env),
            max_batch=_int(MAX_BATCH, DEFAULT_MAX_BATCH, env),
        )
        for name, value in ((MAX_BODY_BYTES, limits.max_body_bytes), (MAX_TOKENS, limits.max_tokens),
                            (MAX_ANSWERS, limits.max_answers), (MAX_BATCH, limits.max_batch)):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        return limits


def parse_models(spec: str) -> list[tuple[str, str]]:
    """Parse ``"kim=artifacts/kim,sm=artifacts/sm"`` into ``[(name, dir), ...]``."""
    out: list[tuple[str, str]] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, path = part.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"model spec must be NAME=DIR, got {part!r}")
        if any(n == name for n, _ in out):
            raise ConfigError(f"model name {name!r} given twice")
        out.append((name.strip(), path.strip()))
    return out


@dataclass(frozen=True)
class FunctionConfig:
    """What one execution environment needs to build its models and store."""

    models: tuple[tuple[str, str], ...]
    store_url: str | None
    pack_path: str | None
    lru_size: int
    store_deadline_s: float
    limits: Limits

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> FunctionConfig:
        e = env if env is not None else dict(os.environ)
        models = tuple(parse_models(e.get(MODELS, "")))
        if not models:
            raise ConfigError(f"{MODELS} is empty: set it to NAME=ARTIFACT_DIR[,NAME=DIR...]")
        return cls(
            models=models,
            store_url=e.get(STORE_URL) or None,
            pack_path=e.get(PACK_PATH) or None,
            lru_size=_int(LRU_SIZE, DEFAULT_LRU_SIZE, e),
            store_deadline_s=_float(STORE_DEADLINE_S, DEFAULT_STORE_DEADLINE_S, e),
            limits=Limits.from_env(e),
        )


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The local data directory: ``--data-dir``, else ``$MILLICENT_DATA_DIR``, else the cache."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(DATA_DIR)
    if env:
        return Path(env)
    return cache_dir() / "data"


def cache_dir() -> Path:
    """Where downloads and generated stores go: ``$MILLICENT_CACHE_DIR`` or ``~/.cache/millicent``."""
    env = os.environ.get(CACHE_DIR)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "millicent"
