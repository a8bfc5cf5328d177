"""The ``onnx`` model kind: a user's own network, exported to ONNX, run by onnxruntime.

The artifact holds the graph (and its external data), the manifest's ``onnx`` section
(:mod:`.onnx_section`: input and output names by role, the output's kind) and, like any
artifact, the embedding spec: the graph takes the embedded texts, the vectors stay in the
store. ``millicent import onnx`` checked the graph against that contract, ran it at
several batch sizes and lengths and wrote the artifact; this module serves it.

onnxruntime is imported only by :func:`build` (an ONNX artifact being loaded): importing
the runtime, or serving the numpy kinds, never loads it. A session runs on one thread
(intra- and inter-op), sequentially — a function below 1,769 MB has at most one vCPU, and
the inputs are a few hundred floats, so thread pools would only cost.

Padding: a graph with lengths inputs gets one zero-padded batch and the true lengths; a
graph without them is fed texts of equal length together, never a padded row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from millicent import config
from millicent.errors import ArtifactError, missing_extra
from millicent.runtime.artifact import MANIFEST, Artifact
from millicent.runtime.onnx_section import SECTION, OnnxSection
from millicent.runtime.roles import Classifier, Pairs, Ranker, check_input, softmax
from millicent.tokenizers.base import Encoding

#: the C++ source location and signature onnxruntime puts inside its messages
_ORT_SOURCE = re.compile(r"/onnxruntime_src/\S+:\d+ [^()]*\([^)]*\) ")


def first_line(exc: BaseException, limit: int = 400) -> str:
    """The first line of an exception's message, without onnxruntime's C++ source
    locations, shortened."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = _ORT_SOURCE.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def open_session(path: Path) -> Any:
    """An onnxruntime CPU session of the graph at ``path``: one thread, sequential.

    ArtifactError if onnxruntime cannot load it; ConfigError naming the ``onnx`` extra if
    onnxruntime is not installed.
    """
    # onnxruntime 1.32 on Linux writes a device id and a telemetry database into
    # ~/.cache/Microsoft/DeveloperTools/.onnxruntime when it is imported (measured: both
    # files appear on `import onnxruntime`): a function writes nothing outside /tmp and the
    # CLI nothing outside the user's paths, so it is off unless the user says otherwise
    os.environ.setdefault(config.ORT_DISABLE_TELEMETRY, "1")
    try:
        import onnxruntime as ort
    except ModuleNotFoundError as exc:
        if exc.name == "onnxruntime":
            raise missing_extra("onnxruntime", "onnx") from exc
        raise
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # failures come back as exceptions (and from there as errors naming them); onnxruntime's
    # own error log would print each one a second time
    options.log_severity_level = 4
    try:
        return ort.InferenceSession(str(path), sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's errors share no base class below Exception
        raise ArtifactError(f"onnxruntime cannot load {path}: {first_line(exc)}") from exc


def describe(feeds: dict[str, np.ndarray]) -> str:
    """``embeddings [3, 7, 50], lengths [3]``: the shapes fed, for messages."""
    return ", ".join(f"{role} [{', '.join(str(n) for n in v.shape)}]" for role, v in feeds.items())


def pad(embs: Sequence[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """A zero-padded (B, longest, dim) float32 batch and the int64 lengths (B,)."""
    lengths = np.fromiter((e.shape[0] for e in embs), dtype=np.int64, count=len(embs))
    out = np.zeros((len(embs), int(lengths.max()), dim), dtype=np.float32)
    for i, e in enumerate(embs):
        out[i, : e.shape[0]] = e
    return out, lengths


class OnnxGraph:
    """An artifact's graph in an onnxruntime session, fed by role and checked on the way out."""

    def __init__(self, artifact: Artifact) -> None:
        where = str(artifact.path / MANIFEST)
        manifest = artifact.manifest
        self.path = artifact.path
        self.section = OnnxSection.from_manifest(manifest.sections.get(SECTION), manifest.role,
                                                 where)
        for name in self.section.files():
            artifact.file(name)  # ArtifactError naming a missing graph or data file
        self.n_labels = len(manifest.labels)
        self.session = open_session(artifact.file(self.section.graph))
        self._check_io(artifact.dim)

    def _check_io(self, dim: int) -> None:
        """The session's own inputs and outputs are the ones the section names."""
        declared = {i.name: i for i in self.session.get_inputs()}
        named = set(self.section.inputs.values())
        if set(declared) != named:
            raise ArtifactError(f"{self.path}: the graph's inputs {sorted(declared)} are not the "
                                f"manifest's {sorted(named)}")
        if self.section.output not in {o.name for o in self.session.get_outputs()}:
            raise ArtifactError(f"{self.path}: the graph has no output {self.section.output!r}")
        for role in ("embeddings", "question", "answer"):
            shape = declared[self.section.inputs[role]].shape if role in self.section.inputs else None
            if shape and isinstance(shape[-1], int) and shape[-1] != dim:
                raise ArtifactError(f"{self.path}: the graph's {role} input takes {shape[-1]}-d "
                                    f"vectors, the manifest says {dim}-d")

    @property
    def lengths(self) -> bool:
        return self.section.lengths

    def batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """How to split inputs of these lengths into graph runs: all at once (padded) when
        the graph takes lengths, else one run per distinct length (never padded)."""
        if self.lengths:
            return [list(range(len(lengths)))] if len(lengths) else []
        groups: dict[int, list[int]] = {}
        for i, n in enumerate(lengths):
            groups.setdefault(n, []).append(i)
        return list(groups.values())

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The graph's output for inputs by role, as float32.

        ArtifactError naming the shapes fed when the graph fails, answers a shape other
        than the contract's, or answers NaN / infinity (JSON has no such numbers).
        """
        batch = next(iter(feeds.values())).shape[0]
        named = {self.section.inputs[role]: value for role, value in feeds.items()}
        try:
            (out,) = self.session.run([self.section.output], named)
        except Exception as exc:  # onnxruntime's errors share no base class below Exception
            raise ArtifactError(f"{self.path}: the ONNX graph fails on {describe(feeds)}: "
                                f"{first_line(exc)}", shape=describe(feeds), problem="fails") from exc
        y = np.asarray(out)
        wanted = self.section.output_shapes(batch, self.n_labels)
        if y.shape not in wanted:
            raise ArtifactError(
                f"{self.path}: the ONNX graph returns shape {list(y.shape)} for "
                f"{describe(feeds)}; expected {' or '.join(str(list(w)) for w in wanted)}",
                shape=describe(feeds), problem="shape")
        if y.dtype.kind != "f":
            raise ArtifactError(f"{self.path}: the ONNX graph's output is {y.dtype}, not floats",
                                shape=describe(feeds), problem="dtype")
        if not np.isfinite(y).all():
            raise ArtifactError(f"{self.path}: the ONNX graph returns NaN or infinity for "
                                f"{describe(feeds)}", shape=describe(feeds), problem="nonfinite")
        return y.astype(np.float32, copy=False)


class OnnxClassifier(Classifier):
    """A classifier whose forward pass is an ONNX graph."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.graph = OnnxGraph(artifact)

    def outputs_batch(self, embs: Sequence[np.ndarray]) -> np.ndarray:
        """The graph's raw output (B, n_labels): logits or probabilities, as the manifest says."""
        checked = [check_input(e, self.dim) for e in embs]
        out = np.empty((len(checked), len(self.labels)), dtype=np.float32)
        for ix in self.graph.batches([e.shape[0] for e in checked]):
            x, lengths = pad([checked[i] for i in ix], self.dim)
            feeds = {"embeddings": x, "lengths": lengths} if self.graph.lengths else {"embeddings": x}
            out[ix] = self.graph.run(feeds)
        return out

    def predict_batch(self, embs: Sequence[np.ndarray],
                      encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """Probabilities (B, n_labels) for B texts' word vectors (the encodings unused)."""
        out = self.outputs_batch(embs)
        return softmax(out) if self.graph.section.output_kind == "logits" else out


class OnnxRanker(Ranker):
    """A pair model whose forward pass is an ONNX graph; the question is fed once per answer."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.graph = OnnxGraph(artifact)
        self.kind_of_output = self.graph.section.output_kind

    def outputs_batch(self, q_emb: np.ndarray, a_embs: Sequence[np.ndarray]) -> np.ndarray:
        """The graph's raw output per answer, (B, 1) for a score, (B, 2) for two classes."""
        q = check_input(q_emb, self.dim, "question")
        answers = [check_input(a, self.dim, "answer") for a in a_embs]
        width = 1 if self.kind_of_output == "score" else 2
        out = np.empty((len(answers), width), dtype=np.float32)
        for ix in self.graph.batches([a.shape[0] for a in answers]):
            a, a_lengths = pad([answers[i] for i in ix], self.dim)
            qs = np.ascontiguousarray(np.broadcast_to(q, (len(ix), *q.shape)))
            feeds = {"question": qs, "answer": a}
            if self.graph.lengths:
                feeds["question_lengths"] = np.full(len(ix), q.shape[0], dtype=np.int64)
                feeds["answer_lengths"] = a_lengths
            out[ix] = self.graph.run(feeds).reshape(len(ix), width)
        return out

    def relevance(self, pairs: Pairs) -> np.ndarray:
        """P(relevant) (B,) of each answer — or, for a ``score`` output, the score itself."""
        out = self.outputs_batch(pairs.q_emb, pairs.a_embs)
        if self.kind_of_output == "logits":
            return softmax(out)[:, 1]
        return out[:, -1]

    def ranking(self, pairs: Pairs) -> np.ndarray:
        """For ranking: the logit margin of two logits (no float32 ties near 0 and 1), else
        the score or P(relevant), as float64."""
        out = self.outputs_batch(pairs.q_emb, pairs.a_embs)
        if self.kind_of_output == "logits":
            return out[:, 1].astype(np.float64) - out[:, 0]
        return out[:, -1].astype(np.float64)


def build(artifact: Artifact) -> OnnxClassifier | OnnxRanker:
    """The served model of an ``onnx`` artifact, by its manifest's role."""
    if artifact.manifest.role == "classify":
        return OnnxClassifier(artifact)
    return OnnxRanker(artifact)
