"""What is benchmarked: a :class:`Configuration` (how the model is deployed) and a
:class:`Scenario` (one configuration × model × concurrency C).

A configuration describes a deployment completely enough to price it and, in phase 2, to
prepare it (store layout, frequent-word pack / LRU, gateway kind, memory, forward engine).
``millicent bench --endpoint URL`` benchmarks an already running deployment described by its
command-line flags; ``--compare`` prepares the named :data:`BASELINES` itself.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from millicent.economics.cost import STORES, CostOptions
from millicent.economics.prices import GATEWAYS, normalize_arch
from millicent.errors import ConfigError

_MODEL_NAME = re.compile(r"[A-Za-z0-9_.-]+")
KINDS = ("serverless", "server")
LAYOUTS = ("binary", "list")
#: the forward pass: millicent's numpy runtime, onnxruntime (an ONNX or transformer
#: artifact: millicent's runtime serving the graph), the PyTorch rebuild of a Kim / SM CNN
#: (the paper's engine), or ``whole``: a transformer's whole network with its token table
#: inside, token ids in, as others deploy it (:mod:`millicent.baselines.whole_engine`)
ENGINES = ("numpy", "onnxruntime", "torch", "whole")


@dataclass(frozen=True)
class Configuration:
    """One way of deploying a model, as the benchmark and the cost model need to know it."""

    name: str
    #: "serverless": pay per request (Lambda / the local platform); "server": always on
    kind: str = "serverless"
    #: where the word vectors live: "dynamodb" (priced per read) or "none" (bundled SQLite,
    #: in-memory, self-run Redis: nothing per read)
    store: str = "dynamodb"
    #: DynamoDB item layout: "binary" (float32 bytes) or "list" (the paper's List of Numbers)
    layout: str = "binary"
    pack: bool = True  #: the bundled frequent-word pack in front of the store
    lru_size: int = 50_000  #: the in-function LRU (0 disables it)
    gateway: str = "url"  #: "url" (Function URL), "http" / "rest" (API Gateway), "none"
    memory_mb: int = 128
    arch: str = "x86_64"
    #: forward pass: "numpy" / "onnxruntime" (millicent's runtime), "torch" or "whole"
    engine: str = "numpy"
    dynamodb_mode: str = "on-demand"  #: or "provisioned" (the paper's 500 RCU table)
    provisioned_rcu: int = 500
    #: SnapStart: served by ``millicent serve --snapshot`` (INIT once, cold starts restore)
    snapshot: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise ConfigError(f"configuration name must be [A-Za-z0-9_.-]+, got {self.name!r}")
        object.__setattr__(self, "arch", normalize_arch(self.arch))
        for value, allowed, what in ((self.kind, KINDS, "kind"), (self.store, STORES, "store"),
                                     (self.layout, LAYOUTS, "layout"),
                                     (self.gateway, GATEWAYS, "gateway"),
                                     (self.engine, ENGINES, "engine")):
            if value not in allowed:
                raise ConfigError(f"unknown {what} {value!r}; use one of {list(allowed)}")
        if self.lru_size < 0 or self.memory_mb < 1:
            raise ConfigError("lru_size must be ≥ 0 and memory_mb ≥ 1")
        if self.snapshot and self.kind != "serverless":
            raise ConfigError("snapshot (SnapStart) applies to serverless configurations only")

    def cost_options(self, billing: str = "1ms") -> CostOptions:
        """How this configuration is priced (always-on servers: see the break-even instead)."""
        return CostOptions(memory_mb=self.memory_mb, arch=self.arch, gateway=self.gateway,
                           billing=billing, store=self.store, dynamodb_mode=self.dynamodb_mode,
                           provisioned_rcu=self.provisioned_rcu)

    def with_(self, **changes: Any) -> Configuration:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Configuration:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


#: The comparisons of issue 5. Cost comparisons pin 128 MB, x86_64, 1 ms billing and today's
#: prices, each with its own gateway — except the PyTorch function, which peaks at ≈ 253 MB and
#: is killed for running out of memory at 128 MB (the platform enforces the size as Lambda does):
#: it is served, and priced, at 320 MB, the smallest round size it fits in. For a transformer
#: (``import hf``): ``sqlite`` is millicent's layout with its table in a SQLite file bundled
#: with the function (pack + LRU in front, no per-read price), ``whole`` the same network
#: with its table inside the graph (no store at all) — the layout others deploy.
BASELINES: dict[str, Configuration] = {
    "paper": Configuration("paper", layout="list", pack=False, lru_size=0, gateway="rest"),
    "torch": Configuration("torch", layout="list", pack=False, lru_size=0, gateway="rest",
                           engine="torch", memory_mb=320),
    "millicent": Configuration("millicent"),
    "snapshot": Configuration("snapshot", snapshot=True),
    "sqlite": Configuration("sqlite", store="none"),
    "whole": Configuration("whole", store="none", pack=False, lru_size=0, engine="whole"),
    "server": Configuration("server", kind="server", store="none", pack=False, lru_size=0,
                            gateway="none"),
}


@dataclass(frozen=True)
class Scenario:
    """One row of the report: a configuration, a model, a concurrency C."""

    config: Configuration
    #: the benchmarked model's name (its workload: :class:`~millicent.harness.workload.WorkloadSpec`)
    model: str
    concurrency: int
    requests: int  #: measured requests (≥ one full pass unless --limit)
    warmup: int  #: warm-up requests sent first, at the same C, excluded from every statistic

    def __post_init__(self) -> None:
        if not _MODEL_NAME.fullmatch(self.model):
            raise ConfigError(f"a scenario's model must be a name ([A-Za-z0-9_.-]+), got {self.model!r}")
        if self.concurrency < 1:
            raise ConfigError(f"concurrency must be ≥ 1, got {self.concurrency}")
        if self.requests < 1 or self.warmup < 0:
            raise ConfigError("a scenario needs ≥ 1 measured request and ≥ 0 warm-up requests")

    @property
    def slug(self) -> str:
        """File-name-safe id, e.g. ``millicent-kim-c20``."""
        return f"{self.config.name}-{self.model}-c{self.concurrency}"

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "config": self.config.to_dict(), "model": self.model,
                "concurrency": self.concurrency, "requests": self.requests, "warmup": self.warmup}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scenario:
        return cls(Configuration.from_dict(d["config"]), d["model"], int(d["concurrency"]),
                   int(d["requests"]), int(d["warmup"]))


def parse_int_list(spec: str, what: str = "concurrency") -> list[int]:
    """``"5,10,20,30"`` → ``[5, 10, 20, 30]`` (positive, order kept, duplicates refused)."""
    out: list[int] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            v = int(part)
        except ValueError:
            raise ConfigError(f"{what} must be integers, got {part!r}") from None
        if v < 1:
            raise ConfigError(f"{what} must be ≥ 1, got {v}")
        if v in out:
            raise ConfigError(f"{what} {v} given twice")
        out.append(v)
    if not out:
        raise ConfigError(f"no {what} given")
    return out


def parse_concurrency(spec: str) -> list[int]:
    """The ``--concurrency`` list, e.g. ``"5,10,20,30"``."""
    return parse_int_list(spec, "concurrency")


#: The paper's sweeps, by role (its Kim CNN classified, its SM CNN ranked; an embedding
#: model is swept as a classifier).
PAPER_CONCURRENCY = {"classify": [5, 10, 20, 30], "rank": [5, 10, 15, 20, 25],
                     "embed": [5, 10, 20, 30]}
