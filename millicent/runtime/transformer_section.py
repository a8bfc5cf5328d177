"""The ``transformer`` section of a manifest: the encoder's graph and what follows it.

Written by ``millicent import hf``, read by the ``transformer`` model kind
(:mod:`.transformer`). Stdlib only: reading it imports no onnxruntime. The graph is the
encoder *without* its token table::

    inputs   inputs_embeds   float32 [batch, tokens, hidden]  rows of the token table, in
                                                              token order, zero-padded right
             attention_mask  int64   [batch, tokens]          1 = a token, 0 = padding
             token_type_ids  int64   [batch, tokens]          only where the model has token
                                                              types (BERT; not DistilBERT or
                                                              RoBERTa)
    output   last_hidden_state [batch, tokens, hidden]   embed: pooled, maybe normalised
             logits            [batch, n]                classify: softmax over the labels;
                                                         rank: sigmoid of one logit, or
                                                         softmax's positive class of two

Pooling (``mean``, ``cls``, ``max``, ``mean_sqrt_len``) and the L2 normalisation of an
``embed`` model run in numpy after the graph, as the model's sentence-transformers
configuration says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from millicent.errors import ArtifactError
from millicent.runtime.onnx_section import safe_relative

SECTION = "transformer"
GRAPH_FILE = "model.onnx"
EMBEDS, MASK, TYPES = "inputs_embeds", "attention_mask", "token_type_ids"
POOLINGS = ("mean", "cls", "max", "mean_sqrt_len")
#: how each role turns the graph's output into its answer
HEADS: dict[str, tuple[str, ...]] = {"embed": ("pool",), "classify": ("softmax",),
                                     "rank": ("sigmoid", "softmax")}
OUTPUTS = {"embed": "last_hidden_state", "classify": "logits", "rank": "logits"}
PRECISIONS = ("fp32", "int8")
#: The whole-model baseline's description (``import hf``'s ``whole.py`` writes it beside
#: the whole graph; the ``whole`` engine of ``bench --compare`` reads it)
WHOLE_JSON = "whole.json"


@dataclass(frozen=True)
class TransformerSection:
    """The graph's file and inputs, and the numpy steps after it (see the module docstring)."""

    role: str
    #: the model family (``bert``, ``distilbert``, ``roberta``, ``xlm-roberta``)
    architecture: str
    head: str
    inputs: tuple[str, ...] = (EMBEDS, MASK)
    output: str = "last_hidden_state"
    graph: str = GRAPH_FILE
    pooling: str | None = None
    normalize: bool = False
    precision: str = "fp32"
    #: everything else the importer recorded (source files, parity, quantization), kept
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def token_types(self) -> bool:
        """Whether the graph takes token types."""
        return TYPES in self.inputs

    @classmethod
    def from_manifest(cls, d: Any, role: str, where: str) -> TransformerSection:
        """The section of a manifest of ``role``; ArtifactError naming what is wrong."""
        if not isinstance(d, dict):
            raise ArtifactError(f"{where}: a transformer artifact needs an object {SECTION!r}")
        known = ("architecture", "head", "inputs", "output", "graph", "pooling", "normalize",
                 "precision")
        try:
            section = cls(role=role, architecture=str(d["architecture"]), head=str(d["head"]),
                          inputs=tuple(str(x) for x in d["inputs"]), output=str(d["output"]),
                          graph=str(d.get("graph", GRAPH_FILE)), pooling=d.get("pooling"),
                          normalize=bool(d.get("normalize", False)),
                          precision=str(d.get("precision", "fp32")),
                          info={k: v for k, v in d.items() if k not in known})
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"{where}: the {SECTION!r} section lacks {exc}") from exc
        section.check(where)
        return section

    def check(self, where: str) -> None:
        """ArtifactError naming the first thing this runtime cannot serve."""
        problems = []
        if self.role not in HEADS or self.head not in HEADS[self.role]:
            problems.append(f"head {self.head!r} for role {self.role!r}")
        if self.inputs[:2] != (EMBEDS, MASK) or not set(self.inputs[2:]) <= {TYPES}:
            problems.append(f"inputs {list(self.inputs)}")
        if self.output != OUTPUTS.get(self.role):
            problems.append(f"output {self.output!r}")
        if self.role == "embed" and self.pooling not in POOLINGS:
            problems.append(f"pooling {self.pooling!r} (known: {', '.join(POOLINGS)})")
        if self.precision not in PRECISIONS:
            problems.append(f"precision {self.precision!r}")
        if not safe_relative(self.graph):
            problems.append(f"graph file {self.graph!r}")
        if problems:
            raise ArtifactError(f"{where}: the {SECTION!r} section has an unknown "
                                + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the role is the manifest's own)."""
        out: dict[str, Any] = {"architecture": self.architecture, "graph": self.graph,
                               "inputs": list(self.inputs), "output": self.output,
                               "head": self.head, "precision": self.precision}
        if self.role == "embed":
            out["pooling"] = self.pooling
            out["normalize"] = self.normalize
        out.update(self.info)
        return out
