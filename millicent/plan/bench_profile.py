"""A service profile from a saved ``millicent bench`` run (``--from-bench DIR``).

Read with the bench's own readers (:func:`millicent.harness.runner.load_run`): the run's
``plan.json`` and per-request records.

* warm: the successful, warm, measured requests of one scenario — by default the one with
  the lowest C, the least disturbed by contention for the machine's cores (``--scenario``
  picks another): invocation duration, CPU time, and the client's wait beyond them;
* cold: every successful cold start of the run's scenarios of the same configuration and
  model (they happen in the warm-ups): INIT outside the invocation, the first invocation,
  the rest of the client's wait; restores when the records say so (``init_kind``);
* store: the run's requests (its workload, re-read from the data directory) encoded by the
  model's tokenizer (``--model ARTIFACT``, else the artifact the run recorded, else the
  lower-cased PTB tokenizer of the shipped models — the profile says which) and looked up
  offline (:mod:`millicent.plan.store_keys`) in the frequent-word pack the run's function
  bundled — as the run recorded it, or ``--pack`` (:mod:`millicent.plan.bench_pack`); the
  mean stored item size from the records' ``store_item_bytes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ConfigError
from millicent.harness.records import RequestRecord
from millicent.harness.runner import load_run
from millicent.harness.scenario import Scenario
from millicent.harness.workload import Workload, WorkloadSpec, load_workload
from millicent.plan.bench_pack import choose_pack
from millicent.plan.profile import Phase, ServiceProfile, store_load
from millicent.plan.store_keys import pack_keys, workload_keys
from millicent.tokenizers.base import Tokenizer

#: item size assumed when the run read nothing from a store (a 50-d float32 vector + key)
DEFAULT_ITEM_BYTES = 210.0


def _choose(runs: Sequence[tuple[Scenario, list[RequestRecord]]], slug: str | None) -> tuple[Scenario, list[RequestRecord]]:
    if not runs:
        raise ConfigError("the bench run has no scenarios")
    if slug is not None:
        for scenario, records in runs:
            if scenario.slug == slug:
                return scenario, records
        raise ConfigError(f"no scenario {slug!r} in the run; it has {[s.slug for s, _ in runs]}")
    first = runs[0][0]
    same = [r for r in runs if r[0].config.name == first.config.name and r[0].model == first.model]
    return min(same, key=lambda r: r[0].concurrency)


def _phase(records: Sequence[RequestRecord], cold: bool) -> Phase:
    dur = np.array([float(r.duration_ms or 0.0) for r in records])
    init = np.array([float(r.init_ms or 0.0) if cold else 0.0 for r in records])
    cpu_known = all(r.cpu_ms is not None for r in records)
    cpu = np.array([float(r.cpu_ms or 0.0) for r in records]) if cpu_known else None
    over = np.maximum(0.0, np.array([r.latency_ms for r in records]) - dur - init)
    return Phase(dur, over, cpu, init if cold else None)


def _cold_records(runs: Sequence[tuple[Scenario, list[RequestRecord]]], chosen: Scenario,
                  kind: str) -> list[RequestRecord]:
    out = []
    for scenario, records in runs:
        if scenario.config.name == chosen.config.name and scenario.model == chosen.model:
            out += [r for r in records if r.ok and r.cold and r.duration_ms is not None
                    and (getattr(r, "init_kind", None) or "init") == kind]
    return out


def _memory(records: Sequence[RequestRecord], scenario: Scenario) -> int:
    served = {r.memory_mb for r in records if r.memory_mb}
    return int(served.pop()) if len(served) == 1 else scenario.config.memory_mb


def _tokenizer(plan: dict[str, Any], model: str, artifact: Path | None) -> tuple[Tokenizer, str]:
    """The tokenizer that keys the run's requests, and where it came from."""
    from millicent.runtime.artifact import TokenizerSpec, read_manifest
    from millicent.tokenizers import make_tokenizer

    recorded = (plan.get("artifacts") or {}).get(model)
    path = artifact if artifact is not None else Path(recorded) if recorded else None
    if path is not None:
        return make_tokenizer(read_manifest(path).tokenizer, path), str(path)
    tokenizer = make_tokenizer(TokenizerSpec.of("ptb"))
    return tokenizer, f"{tokenizer.key_scheme} (assumed: give --model ARTIFACT for another)"


def _workload(plan: dict[str, Any], model: str, data_dir: Path) -> Workload:
    """The run's workload, re-read as the run made it (its recorded set, size and batch)."""
    info = plan.get("workloads", {}).get(model, {})
    spec = WorkloadSpec.from_dict(info["spec"]) if info.get("spec") else WorkloadSpec.named(model)
    texts = int(info.get("texts") or info.get("requests") or 0) or None
    return load_workload(model, data_dir, limit=texts,
                         batch_size=int(info.get("batch_size") or 1), spec=spec)


def profile_from_bench(run_dir: Path, data_dir: Path, pack_given: str | None,
                       scenario: str | None = None,
                       artifact: Path | None = None) -> ServiceProfile:
    """The profile of a bench run (module docstring); ``pack_given``: ``--pack`` (a file or
    ``none``), else the pack the run recorded (:mod:`millicent.plan.bench_pack`);
    ``artifact``: the model the run served (its tokenizer keys the requests)."""
    plan, runs = load_run(run_dir)
    chosen, records = _choose(runs, scenario)
    served = [r for s, rs in runs if s.config.name == chosen.config.name for r in rs]
    choice = choose_pack(run_dir, plan, served, pack_given, chosen.config.name)
    pack = choice.path
    warm = [r for r in records if r.phase == "measure" and r.ok and not r.cold
            and r.duration_ms is not None]
    if not warm:
        raise ConfigError(f"{run_dir}: scenario {chosen.slug} has no successful warm request")
    cold = _cold_records(runs, chosen, "init")
    if not cold:
        raise ConfigError(f"{run_dir}: the run has no cold start of {chosen.config.name}/"
                          f"{chosen.model} to measure INIT from (bench a freshly started platform)")
    restores = _cold_records(runs, chosen, "restore")
    sources = {r.duration_source for r in warm}
    memory = _memory(warm, chosen)
    # durations from a real Lambda (no platform headers) were measured with its CPU share
    share = 1.0 if sources == {"header"} else min(1.0, memory / 1769.0)
    workload = _workload(plan, chosen.model, data_dir)
    tokenizer, keyed_by = _tokenizer(plan, chosen.model, artifact)
    role = workload.spec.role if workload.spec is not None else "classify"
    keys = workload_keys(workload.requests, pack_keys(pack) if pack else None, tokenizer, role)
    sizes = [b for r in records for b in r.lookups.get("store_item_bytes", []) or []]
    item_bytes = float(np.mean(sizes)) if sizes else DEFAULT_ITEM_BYTES
    lru = sum(int(r.lookups.get("lru_hits", 0)) for r in warm)
    source: dict[str, Any] = {
        "bench_run": str(run_dir), "scenario": chosen.slug, "warm_requests": len(warm),
        "cold_starts": len(cold), "restores": len(restores), "workload": workload.source,
        "workload_requests": len(workload.requests), "pack": str(pack) if pack else None,
        "pack_note": choice.note, "store_keys": keyed_by,
        "run_lru_hits": lru, "duration_source": sorted(s or "none" for s in sources)}
    texts = sum(workload.requests[r.index % len(workload.requests)].texts for r in warm)
    return ServiceProfile(
        name=f"{chosen.config.name}/{chosen.model} from {run_dir.name}", memory_mb=memory,
        measured_cpu_share=share, warm=_phase(warm, False), cold=_phase(cold, True),
        store=store_load(keys, item_bytes),
        restore_ms=np.array([float(r.init_ms or 0.0) for r in restores]) if restores else None,
        texts_per_request=texts / len(warm), source=source,
        tokens_per_text=_tokens_per_text(warm, texts))


def _tokens_per_text(warm: Sequence[RequestRecord], texts: int) -> float | None:
    """The model's tokens per text, when every warm answer listed its tokens."""
    if texts <= 0 or any(r.tokens is None for r in warm):
        return None
    return sum(int(r.tokens or 0) for r in warm) / texts
