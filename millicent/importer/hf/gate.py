"""The int8 gate: a quantized graph is kept only if what the function serves stays close to
fp32 on texts nobody trained on (:mod:`.checkset`).

Thresholds (the issue's): ``embed`` mean cosine ≥ 0.99 and min ≥ 0.95; ``classify`` the
same label on ≥ 99 % of the texts; ``rank`` MAP within 0.01 of fp32's, each question's
answers ranked in one batch (one rank request). Dynamic int8 scales activations per batch,
so ``embed`` and ``classify`` are compared at batch 1 and at batch 32 (texts in file
order, as requests would bring them) and the worse figure of the two counts. The fp32
reference is run at batch 32 (fp32 answers do not depend on the batch beyond ~1e-6).

The candidates (:mod:`.quantize`) are tried from the smallest graph up; the first that
passes is kept. Every candidate's figures are recorded; when none passes the import fails
naming them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import InvalidInput
from millicent.importer.hf.checkset import CheckSet
from millicent.importer.hf.quantize import Int8Config, candidates, ffn_matmuls, quantize
from millicent.importer.hf.served import (
    Served,
    encode,
    fixed_batches,
    outputs,
    question_batches,
    rows_by_id,
)
from millicent.runtime.transformer import TransformerGraph

THRESHOLDS: dict[str, dict[str, float]] = {
    "embed": {"mean_cosine": 0.99, "min_cosine": 0.95},
    "classify": {"agreement": 0.99},
    "rank": {"map_delta": 0.01},
}
BATCH = 32


class GateRefused(InvalidInput):
    """No int8 configuration passed the gate (``train hf`` then keeps the fp32 graph)."""


@dataclass(frozen=True)
class Trial:
    """One int8 candidate's figures against fp32."""

    #: the candidate's name (``per-channel``, ``per-channel, FFN fp32`` ...)
    config: str
    figures: dict[str, float]
    passed: bool
    graph_bytes: int
    #: the figures of each batching compared (``batch 1``, ``batch 32``, ``per question``)
    by_batch: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def rounded(figs: dict[str, float]) -> dict[str, float]:
            return {k: round(v, 6) for k, v in figs.items()}

        return {"config": self.config, "passed": self.passed, "graph_bytes": self.graph_bytes,
                **rounded(self.figures),
                "by_batch": {name: rounded(f) for name, f in self.by_batch.items()}}

    def describe(self) -> str:
        figs = ", ".join(f"{k} {v:.4f}" for k, v in self.figures.items())
        return f"{self.config}: {figs}"


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, d) matrices."""
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return num / np.maximum(den, 1e-30)


def mean_average_precision(qids: list[str], scores: np.ndarray, labels: list[int]) -> float:
    """MAP over the questions with a relevant answer; ties ranked pessimistically (the
    non-relevant first), as ``millicent eval`` ranks them — the importer may not import
    the training layer, so the rule is restated here."""
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(qids):
        groups.setdefault(q, []).append(i)
    y = np.asarray(labels, dtype=np.int64)
    aps = []
    for ix in groups.values():
        rows = np.asarray(ix)
        ranked = y[rows][np.lexsort((y[rows], -np.asarray(scores, dtype=np.float64)[rows]))]
        hits = np.flatnonzero(ranked > 0)
        if hits.size:
            aps.append(float((np.arange(1, hits.size + 1) / (hits + 1)).mean()))
    if not aps:
        raise InvalidInput("the int8 gate's MAP needs a question with a relevant answer")
    return float(np.mean(aps))


def figures(role: str, ref: np.ndarray, got: np.ndarray, check: CheckSet) -> dict[str, float]:
    """How close ``got`` is to the fp32 ``ref`` in the role's terms."""
    if role == "embed":
        cos = cosines(ref, got)
        return {"mean_cosine": float(cos.mean()), "min_cosine": float(cos.min())}
    if role == "classify":
        return {"agreement": float((ref.argmax(axis=1) == got.argmax(axis=1)).mean())}
    qids = [p.qid for p in check.pairs]
    labels = [p.label for p in check.pairs]
    fp32 = mean_average_precision(qids, ref, labels)
    int8 = mean_average_precision(qids, got, labels)
    return {"map_fp32": fp32, "map_int8": int8, "map_delta": abs(fp32 - int8)}


def passes(role: str, figs: dict[str, float]) -> bool:
    """Whether the figures meet the role's thresholds."""
    limits = THRESHOLDS[role]
    if role == "rank":
        return figs["map_delta"] <= limits["map_delta"]
    return all(figs[name] >= floor for name, floor in limits.items())


def worst(role: str, runs: list[dict[str, float]]) -> dict[str, float]:
    """The worse figure of each name over the batch sizes compared."""
    if role == "rank":
        return runs[0]
    return {name: min(r[name] for r in runs) for name in runs[0]}


@dataclass
class Gate:
    """The served model (its graph swapped per candidate), the table and the check texts."""

    model: Served
    table: np.ndarray
    check: CheckSet
    hidden: int
    intermediate: int

    def __post_init__(self) -> None:
        self.role = str(self.model.role)
        self.encodings = encode(self.model.tokenizer, self.check.texts, self.check.pairs)
        n = len(self.encodings)
        self.modes = ({"per question": question_batches(self.check.pairs)} if self.role == "rank"
                      else {"batch 1": fixed_batches(n, 1), f"batch {BATCH}": fixed_batches(n, BATCH)})
        self.ranking = self.role == "rank"
        self.reference = self._outputs(list(self.modes.values())[-1])

    def _outputs(self, batches: list[list[int]]) -> np.ndarray:
        return outputs(self.model, rows_by_id(self.table), self.encodings, batches, self.ranking)

    def trial(self, graph: Path, config: Int8Config) -> Trial:
        """Serve through the int8 ``graph`` and compare with fp32."""
        fp32_graph = self.model.graph
        section = replace(fp32_graph.section, precision="int8")
        self.model.graph = TransformerGraph(graph, section, self.hidden)
        try:
            runs = {name: figures(self.role, self.reference, self._outputs(m), self.check)
                    for name, m in self.modes.items()}
        finally:
            self.model.graph = fp32_graph
        figs = worst(self.role, list(runs.values()))
        return Trial(config.name, figs, passes(self.role, figs), graph.stat().st_size, runs)

    def search(self, fp32: Path, work: Path) -> tuple[Path, Trial, list[Trial]]:
        """The first candidate that passes: ``(its graph, its trial, every trial)``;
        InvalidInput naming every candidate's figures when none does."""
        trials: list[Trial] = []
        layers = len(ffn_matmuls(fp32, self.hidden, self.intermediate)[1])
        for i, config in enumerate(candidates(self.hidden, self.intermediate, layers)):
            graph = quantize(fp32, work / f"int8-{i}.onnx", config, self.hidden, self.intermediate)
            trials.append(self.trial(graph, config))
            if trials[-1].passed:
                return graph, trials[-1], trials
        limits = ", ".join(f"{k} {'≤' if k == 'map_delta' else '≥'} {v}"
                           for k, v in THRESHOLDS[self.role].items())
        raise GateRefused(f"--quantize int8 refused: no int8 configuration stays close enough to "
                           f"fp32 on {self.check.source} (needed: {limits}): "
                           + "; ".join(t.describe() for t in trials))
