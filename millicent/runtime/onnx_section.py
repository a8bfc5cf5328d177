"""The ``onnx`` section of a manifest: which file is the graph and how to feed it.

Written by ``millicent import onnx`` (which checked the graph against it), read by the
``onnx`` model kind (:mod:`.onnx_model`). Stdlib only: reading the section imports no
onnxruntime. The contract it records::

    classify  inputs  embeddings  float32 [batch, tokens, dim]   (zero rows = unknown words)
                      lengths     int64   [batch]                 optional: true lengths
              output  [batch, n_labels]  logits (softmax) | probabilities
    rank      inputs  question    float32 [batch, q_tokens, dim]
                      answer      float32 [batch, a_tokens, dim]
                      question_lengths, answer_lengths  int64 [batch]   optional, both or none
              output  [batch] | [batch, 1]  score (served as is, higher = more relevant)
                      [batch, 2]            logits | probabilities (P(relevant) = column 1)

A graph with lengths inputs may be fed zero-padded batches; a graph without them is only
ever fed unpadded inputs (texts of equal length grouped), since zero rows change what a
recurrent or max-pooled network computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from millicent.errors import ArtifactError

#: the manifest key of the section
SECTION = "onnx"
#: the graph's file name inside an artifact
GRAPH_FILE = "model.onnx"
OUTPUT_KINDS = ("logits", "probabilities", "score")
#: input roles per model role: the embedded texts first, then their optional lengths
TEXT_ROLES = {"classify": ("embeddings",), "rank": ("question", "answer")}
LENGTH_ROLES = {"classify": ("lengths",), "rank": ("question_lengths", "answer_lengths")}
#: the output kinds of a classifier (a ranker takes any of :data:`OUTPUT_KINDS`)
CLASSIFY_KINDS = ("logits", "probabilities")


def safe_relative(name: str) -> bool:
    """Whether ``name`` is a plain relative path that stays inside the artifact."""
    p = PurePosixPath(name)
    return bool(name) and "\\" not in name and not p.is_absolute() and ".." not in p.parts


@dataclass(frozen=True)
class OnnxSection:
    """The graph's file, its inputs by role, its output and what that output holds."""

    role: str
    #: graph input name of each role (:data:`TEXT_ROLES`, and :data:`LENGTH_ROLES` if fed)
    inputs: dict[str, str]
    output: str
    output_kind: str
    graph: str = GRAPH_FILE
    #: files the graph's tensors are stored in (beside the graph), if any
    external_data: tuple[str, ...] = ()
    #: provenance: sha256 of the graph, opset, producer, probed shapes
    info: dict[str, Any] | None = None

    @property
    def lengths(self) -> bool:
        """Whether the graph takes true lengths (and so may be fed padded batches)."""
        return all(r in self.inputs for r in LENGTH_ROLES[self.role])

    def files(self) -> tuple[str, ...]:
        """Every file of the artifact the graph needs."""
        return (self.graph, *self.external_data)

    @classmethod
    def from_manifest(cls, d: Any, role: str, where: str) -> OnnxSection:
        """The section of a manifest of ``role``; ArtifactError naming what is wrong."""
        if not isinstance(d, dict):
            raise ArtifactError(f"{where}: an onnx artifact needs an object {SECTION!r}")
        inputs = {str(i.get("role")): str(i.get("name")) for i in d.get("inputs") or []
                  if isinstance(i, dict)}
        output: dict[str, Any] = d["output"] if isinstance(d.get("output"), dict) else {}
        section = cls(role=role, inputs=inputs, output=str(output.get("name") or ""),
                      output_kind=str(output.get("kind") or ""),
                      graph=str(d.get("graph") or ""),
                      external_data=tuple(str(x) for x in d.get("external_data") or ()),
                      info=d.get("info") if isinstance(d.get("info"), dict) else None)
        section.check(where)
        return section

    def check(self, where: str) -> None:
        """ArtifactError unless the section is complete and consistent with its role."""
        if self.role not in TEXT_ROLES:
            raise ArtifactError(f"{where}: unknown role {self.role!r}")
        missing = [r for r in TEXT_ROLES[self.role] if r not in self.inputs]
        if missing:
            raise ArtifactError(f"{where}: {SECTION}.inputs lacks the {', '.join(missing)} input")
        known = {*TEXT_ROLES[self.role], *LENGTH_ROLES[self.role]}
        extra = sorted(set(self.inputs) - known)
        partial = [r for r in LENGTH_ROLES[self.role] if r in self.inputs]
        if extra or (partial and not self.lengths):
            raise ArtifactError(f"{where}: {SECTION}.inputs has roles {sorted(self.inputs)}; a "
                                f"{self.role} graph takes {sorted(known)} (lengths: all or none)")
        if self.output_kind not in OUTPUT_KINDS or not self.output:
            raise ArtifactError(f"{where}: {SECTION}.output needs a name and a kind in {OUTPUT_KINDS}")
        if self.role == "classify" and self.output_kind not in CLASSIFY_KINDS:
            raise ArtifactError(f"{where}: a classifier's output is logits or probabilities, "
                                f"not {self.output_kind!r}")
        for name in self.files():
            if not safe_relative(name):
                raise ArtifactError(f"{where}: {SECTION} file {name!r} must be a relative path "
                                    "inside the artifact")

    def output_shapes(self, batch: int, n_labels: int) -> tuple[tuple[int, ...], ...]:
        """The output shapes this graph may answer a batch of ``batch`` inputs with."""
        if self.role == "classify":
            return ((batch, n_labels),)
        if self.output_kind == "score":
            return ((batch,), (batch, 1))
        return ((batch, 2),)

    def to_dict(self) -> dict[str, Any]:
        order = [*TEXT_ROLES[self.role], *LENGTH_ROLES[self.role]]
        out: dict[str, Any] = {
            "graph": self.graph,
            "external_data": list(self.external_data),
            "inputs": [{"role": r, "name": self.inputs[r]} for r in order if r in self.inputs],
            "lengths": self.lengths,
            "output": {"name": self.output, "kind": self.output_kind},
        }
        if self.info:
            out["info"] = self.info
        return out
