"""``millicent bench --compare``: the same requests against several configurations, and
their ratios to the first one.

Each configuration (:data:`~millicent.harness.scenario.BASELINES` by name) is prepared and
served by :mod:`millicent.testbed.deployments`, benchmarked with the closed-loop harness at
every C, and stopped. Costs are compared as the issue pins them: 128 MB, x86_64, 1 ms
billing, today's prices, each configuration's own gateway — and also without the fixed
per-request charges (``variable``). The always-on ``server`` is priced as an instance
fully used at its measured throughput (its best case), per million queries.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from millicent.economics.cost import instance_cost_per_million
from millicent.economics.prices import PriceSheet
from millicent.errors import ConfigError
from millicent.harness.closed_loop import ClientOptions
from millicent.harness.pertext import add_per_text, embedding_section, per_text_section
from millicent.harness.records import write_records
from millicent.harness.rows import ResultRow
from millicent.harness.runner import (
    BenchmarkRun,
    Reporting,
    Sweep,
    describe_plan,
    finish,
    plan_scenarios,
    run_scenario,
    subset_notes,
    write_plan,
)
from millicent.harness.scenario import BASELINES, Configuration, Scenario
from millicent.harness.summary import summarize
from millicent.harness.workload import Workload
from millicent.jsonfile import read_json, write_json
from millicent.testbed import coldprobe
from millicent.testbed.coldprobe import ColdStarts
from millicent.testbed.deployments import Prepared, Setup, deployment, deployment_dir
from millicent.testbed.layout_goals import layout_goals, layout_section
from millicent.testbed.sections import (
    ColdByKey,
    cold_sections,
    footprint_section,
    ratio_table,
    ratios,
)
from millicent.testbed.targets import ALONE_NOTE, targets, targets_table

BILLING = "1ms"  #: cost comparisons pin today's billing


def parse_configs(spec: str) -> list[Configuration]:
    """``"paper,millicent,server"`` → the baselines, in that order (the first is the reference)."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ConfigError(f"unknown configuration(s) {unknown}; choose from {sorted(BASELINES)}")
    if len(set(names)) != len(names) or len(names) < 2:
        raise ConfigError("--compare needs at least two distinct configurations")
    return [BASELINES[n] for n in names]


#: Idle timeout of the deployment that measures cold starts: it scales to zero between them.
COLD_IDLE_S = 1.0


def measure_cold_starts(config: Configuration, prepared: Prepared,
                        workloads: Mapping[str, Workload], burst: int,
                        client: ClientOptions | None = None) -> dict[str, ColdStarts]:
    """Per model: the configuration's isolated cold starts (``Setup.cold_samples``, each the
    first request from zero) and ``burst`` at once from zero, on a deployment of their own
    that scales to zero after :data:`COLD_IDLE_S` idle."""
    label = f"{config.name}-cold"
    out: dict[str, ColdStarts] = {}
    setup = prepared.setup
    with deployment(config, prepared, max(setup.max_concurrency, burst), COLD_IDLE_S,
                    label) as url:
        for name, w in workloads.items():
            out[name] = coldprobe.measure(url, deployment_dir(prepared, label), config.name,
                                          name, w, setup.cold_samples, burst, client)
    return out


@dataclass(frozen=True)
class _RunOptions:
    """What every configuration's measurement of one comparison shares."""

    out_dir: Path
    prices: PriceSheet
    client: ClientOptions
    burst: int  #: cold starts at once from zero (0: none)
    max_c: int
    instance_usd_per_hour: float
    progress: bool
    err: TextIO | None




def _measure_config(config: Configuration, prepared: Prepared, workloads: Mapping[str, Workload],
                    scenarios: Sequence[Scenario], opts: _RunOptions) -> tuple[list[ResultRow], ColdByKey]:
    """One configuration: its cold starts (serverless), then its scenarios."""
    setup, out_dir, client = prepared.setup, opts.out_dir, opts.client
    cold: ColdByKey = {}
    if config.kind == "serverless" and setup.cold_samples > 0:
        for name, c in measure_cold_starts(config, prepared, workloads, opts.burst, client).items():
            write_records(out_dir / "records" / f"{config.name}-{name}-cold.jsonl",
                          [*c.samples, *c.burst])
            cold[(config.name, name)] = c
    rows: list[ResultRow] = []
    with deployment(config, prepared, max(setup.max_concurrency, opts.max_c)) as url:
        for s in scenarios:
            records = run_scenario(url, workloads[s.model], s, client, progress=opts.progress,
                                   stream=opts.err)
            write_records(out_dir / "records" / f"{s.slug}.jsonl", records)
            row = add_per_text(summarize(s, records, opts.prices, config.cost_options(BILLING)),
                               records, workloads[s.model])
            if config.kind == "server" and row.throughput_qps > 0:
                row.instance_cost_per_million_usd = instance_cost_per_million(
                    opts.instance_usd_per_hour, row.throughput_qps)
            rows.append(row)
    return rows, cold


def _notes(configs: Sequence[Configuration], workloads: Mapping[str, Workload],
           instance_usd_per_hour: float) -> list[str]:
    """The report's notes on how the configurations were compared."""
    notes = [
        *subset_notes(workloads),
        f"Compared at {_memories(configs)}, x86_64, 1 ms billing, each configuration's own "
        "gateway (the local platform is one gateway; the kind only changes the price). "
        "DynamoDB tables hold the words the requests contain.",
    ]
    if any(c.engine == "whole" for c in configs):
        notes.append("whole: the same network with its token table inside the graph, token "
                     "ids in, no store (as others deploy it); same handler, tokenizer, "
                     "onnxruntime options and pooling as millicent's layout.")
    if any(c.kind == "server" for c in configs):
        notes.append(f"server: an always-on process at ${instance_usd_per_hour}/h, priced fully "
                     "used at its measured throughput.")
    return notes


def _memories(configs: Sequence[Configuration]) -> str:
    """The serverless configurations' memory sizes, as the notes state them."""
    sizes = sorted({c.memory_mb for c in configs if c.kind == "serverless"}) or [128]
    return " / ".join(f"{m} MB" for m in sizes)


def _engines(configs: Sequence[Configuration], setup: Setup) -> list[Configuration]:
    """The configurations with the engine that really runs: an ONNX or transformer artifact
    is served by millicent's runtime on onnxruntime (its ``paper`` configuration is the same
    graph with the paper's store layout and no cache); PyTorch rebuilds only a Kim or SM
    CNN; ``whole`` serves a transformer's network with its table inside."""
    from millicent.runtime.artifact import read_manifest

    kinds = {n: read_manifest(p).kind for n, p in setup.artifacts.items()}
    other = [f"{n} is {'an ONNX graph' if k == 'onnx' else f'a {k} model'}"
             for n, k in kinds.items() if k not in ("kim_cnn", "sm_cnn")]
    if other and any(c.engine == "torch" for c in configs):
        raise ConfigError(f"the torch configuration rebuilds a Kim or SM CNN in PyTorch; "
                          f"{', '.join(other)}: compare it without torch")
    not_hf = [f"{n} is a {k} model" for n, k in kinds.items() if k != "transformer"]
    if not_hf and any(c.engine == "whole" for c in configs):
        raise ConfigError(f"the whole configuration serves a Hugging Face encoder (millicent "
                          f"import hf) with its table inside; {', '.join(not_hf)}: compare "
                          "it without whole")
    if not {"onnx", "transformer"} & set(kinds.values()):
        return list(configs)
    return [c.with_(engine="onnxruntime") if c.engine == "numpy" else c for c in configs]


def _record_packs(out_dir: Path, configs: Sequence[Configuration], prepared: Prepared) -> None:
    """``plan.json``'s ``packs``: the frequent-word pack each configuration's function
    bundled (None: none), which ``millicent plan --from-bench`` then assumes."""
    from millicent.store.pack import FrequentWordPack

    plan = read_json(out_dir / "plan.json")
    plan["packs"] = {c.name: FrequentWordPack.open(prepared.pack_path()).describe()
                     if c.kind == "serverless" and c.pack else None for c in configs}
    write_json(out_dir / "plan.json", plan)


def _sections(configs: Sequence[Configuration], rows: Sequence[ResultRow], cold: ColdByKey,
              out_dir: Path, prices: PriceSheet) -> tuple[list[str], list[Path]]:
    """The report's sections after the tables (ratios, per text, footprint, cold starts,
    millicent's layout vs whole, targets) and the files they wrote."""
    rel = ratios(rows, configs[0].name)
    write_json(out_dir / "ratios.json", [r.to_dict() for r in rel])
    sections = [f"## Ratios to `{configs[0].name}`\n\n{ratio_table(rel)}", *per_text_section(rows),
                *embedding_section(rows, prices.embedding_apis)]
    extra_files = [out_dir / "ratios.json"]
    engines = sorted({c.engine for c in configs if c.kind == "serverless"})
    if engines:
        footprint, files = footprint_section(engines, cold, rows, out_dir)
        sections += [footprint, *(cold_sections(cold, rows) if cold else [])]
        extra_files += files
    if any(c.engine == "whole" for c in configs):
        layout = layout_goals(rows, {k: c.summary() for k, c in cold.items()})
        write_json(out_dir / "layout_goals.json", [g.to_dict() for g in layout])
        extra_files.append(out_dir / "layout_goals.json")
        sections.append(layout_section(layout))
    goals = targets(rows)
    if goals:
        write_json(out_dir / "targets.json", [g.to_dict() for g in goals])
        extra_files.append(out_dir / "targets.json")
        alone = f"\n\n{ALONE_NOTE}" if any(g.concurrency == 1 for g in goals) else ""
        sections.append("## Targets (✓ = reached)\n\n" + targets_table(goals) + alone)
    return sections, extra_files


def run_compare(configs: Sequence[Configuration], setup: Setup, workloads: Mapping[str, Workload],
                sweep: Sweep, out_dir: Path, prices: PriceSheet, client: ClientOptions | None = None,
                reporting: Reporting | None = None) -> BenchmarkRun:
    """Prepare, serve and benchmark every configuration; write the run and the ratios
    (compared at 1 ms billing whatever ``reporting`` says)."""
    rep = reporting or Reporting()
    stdout = rep.out if rep.out is not None else sys.stdout
    err = rep.err
    client = client or ClientOptions()
    concurrency, instance_usd_per_hour = sweep.concurrency, setup.instance_usd_per_hour
    configs = _engines(configs, setup)
    for engine in ("torch", "whole"):
        if any(c.engine == engine for c in configs) and len(setup.artifacts) != 1:
            raise ConfigError(f"the {engine} configuration compares one model at a time: give "
                              "one --model")
    out_dir.mkdir(parents=True, exist_ok=True)
    by_config: dict[str, list[Scenario]] = {
        c.name: [s for w in workloads.values()
                 for s in plan_scenarios(c, w, concurrency, sweep.repeat, sweep.warmup)]
        for c in configs}
    scenarios = [s for ss in by_config.values() for s in ss]
    print("\n".join(describe_plan("each configuration, prepared here", scenarios, workloads)),
          file=stdout, flush=True)
    # the artifacts served: a plan from this run keys its requests with their tokenizers
    artifacts = {n: str(Path(p).resolve()) for n, p in setup.artifacts.items()}
    write_plan(out_dir, {"compare": [c.name for c in configs], "endpoint": None,
                         "artifacts": artifacts}, scenarios, workloads, prices, BILLING)
    prepared = Prepared(setup, list(workloads.values()), log=err)
    opts = _RunOptions(out_dir, prices, client, max(concurrency) if setup.cold_burst else 0,
                       max(concurrency), instance_usd_per_hour, rep.progress, err)
    rows: list[ResultRow] = []
    cold: ColdByKey = {}
    for config in configs:
        config_rows, config_cold = _measure_config(config, prepared, workloads,
                                                   by_config[config.name], opts)
        rows += config_rows
        cold.update(config_cold)
    write_json(setup.work_dir / "prepared.json", {"source": prepared.source.label,
                                                  **prepared.status})
    _record_packs(out_dir, configs, prepared)
    sections, extra_files = _sections(configs, rows, cold, out_dir, opts.prices)
    notes = _notes(configs, workloads, instance_usd_per_hour)
    run = finish(out_dir, rows, prices, header=[f"Configurations: {', '.join(c.name for c in configs)}"],
                 plots=rep.plots, extra_notes=notes, sections=sections)
    print(run.report, file=stdout, flush=True)
    run.files.extend(extra_files)
    return run
