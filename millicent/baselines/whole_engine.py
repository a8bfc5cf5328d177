"""The ``whole`` baseline: a Hugging Face encoder served with its token table inside.

This is how others deploy such a model (fastembed, an ONNX export in a container): the
whole network as one ONNX graph taking token ids — ``input_ids``, ``attention_mask``
[, ``token_type_ids``] — the table a Gather inside it, the model's ``tokenizer.json`` in
front and the pooling (or softmax / sigmoid) after it. ``bench --compare``'s ``whole``
configuration serves it beside millicent's layout (the table-less graph, rows from the
store and the pack) so the two differ in the layout only: the same request parsing,
tokenizer, onnxruntime session options (one thread, sequential), pooling and response
builder (:func:`millicent.runtime.handler.handle`); no store is opened and nothing is
looked up (the answers' ``lookups`` are all zero).

Serve it with ``millicent serve --function NAME=millicent.baselines.whole_engine.handler``,
``MILLICENT_MODELS=NAME=ARTIFACT`` (the ``transformer`` artifact: its manifest names the
role, tokenizer, labels and head; its table-less graph is never opened) and
``MILLICENT_WHOLE_MODEL=DIR``, a directory written by
:func:`millicent.importer.hf.whole.export_whole` (``model.onnx``, ``tokenizer.json``,
``whole.json``). The INIT builds the session and primes it as millicent's function does.
onnxruntime and ``tokenizers`` are imported during INIT, never by importing this module
outside an execution environment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from millicent.config import FunctionConfig
from millicent.errors import ArtifactError, ConfigError
from millicent.jsonfile import read_json_object
from millicent.runtime.artifact import Artifact, load_artifact, read_manifest
from millicent.runtime.environment import FunctionEnvironment, init_at_import
from millicent.runtime.handler import handle, prime
from millicent.runtime.onnx_model import describe, first_line, open_session
from millicent.runtime.roles import Classifier, Embedder, Pairs, Ranker, ServedModel, softmax
from millicent.runtime.transformer import normalize, pool, sigmoid
from millicent.runtime.transformer_section import (
    GRAPH_FILE,
    MASK,
    OUTPUTS,
    TYPES,
    WHOLE_JSON,
)
from millicent.tokenizers.base import Encoding
from millicent.types import Lookup, LookupStats

#: the environment variable naming the whole-model directory
WHOLE_MODEL = "MILLICENT_WHOLE_MODEL"
IDS = "input_ids"


def read_description(directory: Path) -> dict[str, Any]:
    """``whole.json`` of a whole-model directory; ArtifactError naming what is missing."""
    path = directory / WHOLE_JSON
    if not path.is_file():
        raise ArtifactError(f"no whole model at {directory}: {WHOLE_JSON} not found")
    d = read_json_object(path, "whole-model description", ArtifactError)
    if d.get("role") not in OUTPUTS or not (directory / GRAPH_FILE).is_file():
        raise ArtifactError(f"{directory}: not a whole model (a {WHOLE_JSON} with a role and "
                            f"{GRAPH_FILE})")
    return d


class WholeGraph:
    """The whole network in an onnxruntime session: token ids in, the role's output out."""

    def __init__(self, directory: Path, description: dict[str, Any]) -> None:
        self.path = directory / GRAPH_FILE
        self.output = str(description["output"])
        self.pad_id = int(description.get("pad_id") or 0)
        self.session = open_session(self.path)
        self.inputs = tuple(i.name for i in self.session.get_inputs())
        if self.inputs[:2] != (IDS, MASK) or not set(self.inputs[2:]) <= {TYPES}:
            raise ArtifactError(f"{self.path}: a whole model takes {IDS}, {MASK} [, {TYPES}]; "
                                f"this graph takes {list(self.inputs)}")

    def run(self, encodings: Sequence[Encoding]) -> tuple[np.ndarray, np.ndarray]:
        """The graph's output for B encoded texts (right padding) and the attention mask."""
        lengths = [len(e) for e in encodings]
        shape = (len(encodings), max([1, *lengths]))
        ids = np.full(shape, self.pad_id, dtype=np.int64)
        mask = np.zeros(shape, dtype=np.int64)
        types = np.zeros(shape, dtype=np.int64)
        for i, e in enumerate(encodings):
            if e.ids is None:
                raise ValueError(f"text {i}: the tokenizer gave no vocabulary ids")
            ids[i, : lengths[i]] = e.ids
            mask[i, : lengths[i]] = 1
            if e.type_ids is not None:
                types[i, : lengths[i]] = e.type_ids
        feeds = {IDS: ids, MASK: mask, TYPES: types}
        feeds = {k: feeds[k] for k in self.inputs}
        try:
            (out,) = self.session.run([self.output], feeds)
        except Exception as exc:  # onnxruntime's errors share no base class below Exception
            raise ArtifactError(f"{self.path}: the whole graph fails on {describe(feeds)}: "
                                f"{first_line(exc)}") from exc
        return np.asarray(out, dtype=np.float32), mask


def _encodings(encodings: Sequence[Encoding] | None) -> Sequence[Encoding]:
    if not encodings:
        raise ValueError("the whole model reads the texts' encodings (token ids)")
    return encodings


class WholeEmbedder(Embedder):
    """``embed``: token ids → pooled (and normalised) sentence vectors."""

    def __init__(self, artifact: Artifact, graph: WholeGraph, description: dict[str, Any]) -> None:
        super().__init__(artifact)
        self.graph = graph
        self.out_dim = self.dim
        self.pooling = str(description.get("pooling") or "mean")
        self.normalize = bool(description.get("normalize"))

    def embed_batch(self, embs: Sequence[np.ndarray],
                    encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        hidden, mask = self.graph.run(_encodings(encodings))
        out = pool(hidden, mask, self.pooling)
        return normalize(out) if self.normalize else out


class WholeClassifier(Classifier):
    """``classify``: token ids → softmax over the labels."""

    def __init__(self, artifact: Artifact, graph: WholeGraph) -> None:
        super().__init__(artifact)
        self.graph = graph

    def predict_batch(self, embs: Sequence[np.ndarray],
                      encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        return softmax(self.graph.run(_encodings(encodings))[0])


class WholeRanker(Ranker):
    """``rank``, a cross-encoder: each question–answer pair one sequence of ids."""

    def __init__(self, artifact: Artifact, graph: WholeGraph, description: dict[str, Any]) -> None:
        super().__init__(artifact)
        self.graph = graph
        self.head = str(description.get("head"))

    def relevance(self, pairs: Pairs) -> np.ndarray:
        if pairs.joint_encodings is None:
            raise ValueError("a cross-encoder takes each pair as one sequence")
        out = self.graph.run(pairs.joint_encodings)[0]
        return sigmoid(out[:, 0]) if self.head == "sigmoid" else softmax(out)[:, 1]

    def ranking(self, pairs: Pairs) -> np.ndarray:
        if pairs.joint_encodings is None:
            raise ValueError("a cross-encoder takes each pair as one sequence")
        out = self.graph.run(pairs.joint_encodings)[0].astype(np.float64)
        return out[:, 0] if self.head == "sigmoid" else out[:, 1] - out[:, 0]


def whole_model(artifact: Artifact, directory: Path) -> ServedModel:
    """The served whole model of ``directory`` for the ``transformer`` artifact it was
    exported from (role, tokenizer and labels are the artifact's); ArtifactError when the
    two do not describe one model."""
    if artifact.kind != "transformer":
        raise ArtifactError(f"{artifact.path}: the whole baseline serves a transformer "
                            f"artifact, not a {artifact.kind!r} one")
    description = read_description(directory)
    role = artifact.manifest.role
    if description["role"] != role or int(description.get("hidden_size") or artifact.dim) != artifact.dim:
        raise ArtifactError(f"{directory} is a whole {description['role']} model of width "
                            f"{description.get('hidden_size')}; {artifact.path} is a {role} "
                            f"model of width {artifact.dim}")
    graph = WholeGraph(directory, description)
    if role == "embed":
        return WholeEmbedder(artifact, graph, description)
    if role == "classify":
        return WholeClassifier(artifact, graph)
    return WholeRanker(artifact, graph, description)


def load_whole_models(config: FunctionConfig) -> dict[str, ServedModel]:
    """The configured model (one) served whole, from ``MILLICENT_WHOLE_MODEL``."""
    directory = os.environ.get(WHOLE_MODEL)
    if not directory:
        raise ConfigError(f"{WHOLE_MODEL} is not set: the whole baseline needs the directory "
                          "of a whole model (export_whole)")
    if len(config.models) != 1:
        raise ConfigError("the whole baseline serves one model")
    ((name, path),) = config.models
    return {name: whole_model(load_artifact(path), Path(directory))}


class InGraphTable:
    """The ``Embeddings`` of a function whose table is inside its graph: nothing to look
    up, so every lookup is empty (no rows, no store, zero counters)."""

    def __init__(self, dim: int) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def lookup(self, keys: Sequence[str]) -> Lookup:
        n = len(keys)
        return Lookup(list(keys), np.zeros((n, 0), dtype=np.float32), np.ones(n, dtype=bool),
                      LookupStats())

    def close(self) -> None:
        """Nothing to release."""

    def disconnect(self) -> None:
        """No connection."""

    def reconnect(self) -> None:
        """No connection."""

    def warm_up(self) -> None:
        """Nothing behind it."""


def in_graph_table(config: FunctionConfig) -> InGraphTable:
    """The embeddings of the whole baseline: the table's width, no store."""
    return InGraphTable(read_manifest(config.models[0][1]).embedding.dim)


ENVIRONMENT = FunctionEnvironment(models=load_whole_models, store=in_graph_table)
init_at_import(ENVIRONMENT, prime)  # INIT as in millicent's own function: the two compare alike


def handler(event: Any, context: Any) -> Any:
    """Lambda entry point of the ``whole`` baseline."""
    return handle(event, context, ENVIRONMENT)
