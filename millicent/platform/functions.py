"""Functions the platform serves, and the platform-wide settings.

``millicent serve --model kim=DIR`` makes a function ``kim`` whose environments run
``millicent.runtime.handler.handler`` with ``MILLICENT_MODELS=kim=DIR`` (plus the store
settings): the same configuration a deployed Lambda function gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from millicent.errors import ConfigError
from millicent.types import ROLES

#: The handler every millicent function runs (``module.function`` as Lambda spells it).
DEFAULT_HANDLER = "millicent.runtime.handler.handler"

#: Lambda's limits on memory size and function timeout.
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240
MAX_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its name, handler, resources and environment variables.

    ``role`` ("classify" | "rank" | "embed" | None) decides which function the
    ``/classify``, ``/rank`` and ``/embed`` aliases reach (the first of each role).
    """

    name: str
    handler: str = DEFAULT_HANDLER
    memory_mb: int = 128
    timeout_s: float = 30.0
    environment: Mapping[str, str] = field(default_factory=dict)
    role: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise ConfigError(f"function name must be letters, digits, '-' or '_': {self.name!r}")
        if not MIN_MEMORY_MB <= self.memory_mb <= MAX_MEMORY_MB:
            raise ConfigError(
                f"memory size must be {MIN_MEMORY_MB}..{MAX_MEMORY_MB} MB, got {self.memory_mb}"
            )
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise ConfigError(f"timeout must be in (0, {MAX_TIMEOUT_S:.0f}] s, got {self.timeout_s}")
        if "." not in self.handler:
            raise ConfigError(f"handler must be module.function, got {self.handler!r}")


@dataclass(frozen=True)
class PlatformSettings:
    """Scaling and bookkeeping settings shared by all functions."""

    max_concurrency: int = 32
    idle_timeout_s: float = 300.0
    #: Lambda allows 10 s for an on-demand INIT; past it the INIT is retried once, at the
    #: invocation, under the function's timeout
    init_timeout_s: float = 10.0
    #: a SnapStart INIT (the snapshot's) may run max(this, the function timeout)
    snapshot_init_timeout_s: float = 130.0
    region: str = "us-east-1"
    account_id: str = "123456789012"
    #: JSON-lines invocation records (None: keep only the totals)
    record_path: str | None = None
    #: where environment output goes (None: the platform's stderr)
    function_log_path: str | None = None
    #: working directory of the environments (Lambda's task root); None: the current one
    task_root: str | None = None
    python: str | None = None
    #: values of the platform's own environment that never reach a function's process
    #: (the gateway's API key, whatever variable holds it)
    withheld_values: frozenset[str] = frozenset()
    #: SnapStart: INIT once per function in a template process, each cold start a fork
    snapshot: bool = False
    #: kill an environment whose memory passes its function's memory size, as Lambda does
    #: (``Runtime.OutOfMemory``); False: Max Memory Used is only reported
    memory_limit: bool = True
    #: how often the memory of an environment that is starting or busy is read
    memory_poll_s: float = 0.01

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"


def alias_targets(functions: list[FunctionSpec]) -> dict[str, str]:
    """``{"classify": first classifier's name, "rank": first ranker's name, "embed": first
    embedder's name}`` (each when present): the functions ``/classify`` ... reach."""
    out: dict[str, str] = {}
    for spec in functions:
        if spec.role in ROLES:
            out.setdefault(spec.role, spec.name)
    return out
