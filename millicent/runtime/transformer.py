"""The ``transformer`` model kind: a Hugging Face encoder whose token table lives in the store.

The artifact's graph (:mod:`.transformer_section`) is the encoder without its token table.
Serving a batch: each text's :class:`~millicent.tokenizers.base.Encoding` gives
its keys; the store gives one row of the table per key, in token order (a matrix per
text); :class:`TransformerGraph` pads the matrices right to the longest text, builds the
attention mask (and token types), runs the graph, and the role's head follows in numpy:

* ``embed`` — pooling over the real tokens (mean, CLS, max, mean/√n) and, where the
  model's sentence-transformers configuration has a Normalize step, L2 normalisation;
* ``classify`` — softmax over the labels;
* ``rank`` — a cross-encoder: question and answer are one sequence (token types 0 and 1);
  relevance is the sigmoid of one logit, or the positive class of two.

onnxruntime is imported only when a graph is opened (:func:`~.onnx_model.open_session`,
one thread, sequential); importing this module loads neither it nor ``tokenizers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from millicent.errors import ArtifactError
from millicent.runtime.artifact import MANIFEST, Artifact
from millicent.runtime.onnx_model import describe, first_line, open_session
from millicent.runtime.roles import Classifier, Embedder, Pairs, Ranker, check_input, softmax
from millicent.runtime.transformer_section import EMBEDS, MASK, SECTION, TYPES, TransformerSection
from millicent.tokenizers.base import Encoding


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """(B, H) sentence vectors of the (B, T, H) token states over the real tokens of
    ``mask`` (B, T), as sentence-transformers pools them."""
    if mode == "cls":
        return np.ascontiguousarray(hidden[:, 0])
    m = mask.astype(hidden.dtype)[:, :, None]
    if mode == "max":
        return np.where(m > 0, hidden, np.float32(-1e9)).max(axis=1)
    summed = (hidden * m).sum(axis=1)
    count = np.maximum(m.sum(axis=1), np.float32(1e-9))
    if mode == "mean":
        return summed / count
    if mode == "mean_sqrt_len":
        return summed / np.sqrt(count)
    raise ValueError(f"unknown pooling {mode!r}")


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (torch's ``F.normalize``: norms below 1e-12 clamped)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, np.float32(1e-12))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, stable for large logits of either sign."""
    return np.exp(-np.logaddexp(0.0, -x.astype(np.float64))).astype(np.float32)


class TransformerGraph:
    """The table-less encoder in an onnxruntime session: padded batch in, output out."""

    def __init__(self, path: Path, section: TransformerSection, hidden: int) -> None:
        self.path = path
        self.section = section
        self.hidden = hidden
        self.session = open_session(path)
        declared = {i.name for i in self.session.get_inputs()}
        if declared != set(section.inputs):
            raise ArtifactError(f"{path}: the graph's inputs {sorted(declared)} are not the "
                                f"manifest's {sorted(section.inputs)}")
        if section.output not in {o.name for o in self.session.get_outputs()}:
            raise ArtifactError(f"{path}: the graph has no output {section.output!r}")

    def feeds(self, embs: Sequence[np.ndarray], type_ids: Sequence[Sequence[int]] | None
              ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The graph's inputs for B texts' row matrices (right padding) and the mask."""
        if not embs:
            raise ValueError("a batch needs at least one text")
        lengths = [int(e.shape[0]) for e in embs]
        longest = max(lengths)
        x = np.zeros((len(embs), longest, self.hidden), dtype=np.float32)
        mask = np.zeros((len(embs), longest), dtype=np.int64)
        for i, e in enumerate(embs):
            x[i, : lengths[i]] = check_input(e, self.hidden, f"text {i}")
            mask[i, : lengths[i]] = 1
        feeds: dict[str, np.ndarray] = {EMBEDS: x, MASK: mask}
        if self.section.token_types:
            types = np.zeros_like(mask)
            for i, t in enumerate(type_ids or ()):
                if len(t) != lengths[i]:
                    raise ValueError(f"text {i}: {len(t)} token types for {lengths[i]} tokens")
                types[i, : lengths[i]] = t
            feeds[TYPES] = types
        return feeds, mask

    def run(self, embs: Sequence[np.ndarray], type_ids: Sequence[Sequence[int]] | None = None
            ) -> np.ndarray:
        """The graph's output for B texts' (n_i, hidden) row matrices (and token types):
        (B, T, hidden) token states or (B, n) logits, float32.

        ArtifactError naming the shapes when the graph fails or answers NaN / infinity.
        """
        return self.run_masked(embs, type_ids)[0]

    def run_masked(self, embs: Sequence[np.ndarray], type_ids: Sequence[Sequence[int]] | None
                   = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`run`, and the attention mask it built (pooling needs it)."""
        feeds, mask = self.feeds(embs, type_ids)
        try:
            (out,) = self.session.run([self.section.output], feeds)
        except Exception as exc:  # onnxruntime's errors share no base class below Exception
            raise ArtifactError(f"{self.path}: the transformer graph fails on {describe(feeds)}: "
                                f"{first_line(exc)}") from exc
        y = np.asarray(out, dtype=np.float32)
        if not np.isfinite(y).all():
            raise ArtifactError(f"{self.path}: the transformer graph returns NaN or infinity "
                                f"for {describe(feeds)}")
        return y, mask


def open_graph(artifact: Artifact) -> TransformerGraph:
    """The graph of a ``transformer`` artifact, as its manifest's section describes it."""
    section = TransformerSection.from_manifest(artifact.manifest.sections.get(SECTION),
                                               artifact.manifest.role,
                                               str(artifact.path / MANIFEST))
    return TransformerGraph(artifact.file(section.graph), section, artifact.dim)


def _types(encodings: Sequence[Encoding] | None) -> list[list[int]] | None:
    """The token types of each encoding (None: all zeros)."""
    if encodings is None:
        return None
    return [list(e.type_ids) if e.type_ids is not None else [0] * len(e) for e in encodings]


class TransformerEmbedder(Embedder):
    """An ``embed`` model: texts' token rows → one sentence vector each."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.graph = open_graph(artifact)
        self.out_dim = self.dim

    def embed_batch(self, embs: Sequence[np.ndarray],
                    encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """(B, hidden) float32 sentence vectors, pooled (and normalised) as the model says."""
        hidden, mask = self.graph.run_masked(embs, _types(encodings))
        section = self.graph.section
        out = pool(hidden, mask, section.pooling or "mean")
        return normalize(out) if section.normalize else out


class TransformerClassifier(Classifier):
    """A sequence classifier (``*ForSequenceClassification``) over the token rows."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.graph = open_graph(artifact)

    def logits_batch(self, embs: Sequence[np.ndarray],
                     encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """The head's logits (B, n_labels)."""
        out = self.graph.run(embs, _types(encodings))
        if out.shape != (len(embs), len(self.labels)):
            raise ArtifactError(f"{self.artifact.path}: the graph returns {list(out.shape)} "
                                f"logits for {len(embs)} texts and {len(self.labels)} labels")
        return out

    def predict_batch(self, embs: Sequence[np.ndarray],
                      encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """Probabilities (B, n_labels) for B texts' token rows."""
        return softmax(self.logits_batch(embs, encodings))


class TransformerRanker(Ranker):
    """A cross-encoder: each question–answer pair is one sequence (``encode_pair``).

    The service hands it :meth:`Pairs.joint <millicent.runtime.roles.Pairs.joint>` pairs:
    each pair's rows and encoding (its token types 0 then 1). Pairs given apart (the
    question's rows with its special tokens, then each answer's rest) are joined in that
    layout, token types 0 then 1.
    """

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.graph = open_graph(artifact)
        self.head = self.graph.section.head

    def logits_sequences(self, embs: Sequence[np.ndarray],
                         type_ids: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """The head's logits (B, 1) or (B, 2) for B pair sequences."""
        out = self.graph.run(embs, type_ids)
        width = 1 if self.head == "sigmoid" else 2
        if out.shape != (len(embs), width):
            raise ArtifactError(f"{self.artifact.path}: the graph returns {list(out.shape)} "
                                f"logits for {len(embs)} pairs; the {self.head} head needs {width}")
        return out

    def score_sequences(self, embs: Sequence[np.ndarray],
                        type_ids: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """P(relevant) (B,) of B pair sequences."""
        out = self.logits_sequences(embs, type_ids)
        return sigmoid(out[:, 0]) if self.head == "sigmoid" else softmax(out)[:, 1]

    def margin_sequences(self, embs: Sequence[np.ndarray],
                         type_ids: Sequence[Sequence[int]] | None = None) -> np.ndarray:
        """A monotone function of P(relevant) that does not saturate (the logit, or the
        margin of two), float64: the ranking score."""
        out = self.logits_sequences(embs, type_ids).astype(np.float64)
        return out[:, 0] if self.head == "sigmoid" else out[:, 1] - out[:, 0]

    def _sequences(self, pairs: Pairs) -> tuple[list[np.ndarray], list[list[int]]]:
        if pairs.joint_embs is not None:
            embs = [check_input(e, self.dim, "pair") for e in pairs.joint_embs]
            types = _types(pairs.joint_encodings) or [[0] * e.shape[0] for e in embs]
            return embs, types
        q = check_input(pairs.q_emb, self.dim, "question")
        embs, types = [], []
        for a in pairs.a_embs:
            a = check_input(a, self.dim, "answer")
            embs.append(np.concatenate([q, a]))
            types.append([0] * q.shape[0] + [1] * a.shape[0])
        return embs, types

    def relevance(self, pairs: Pairs) -> np.ndarray:
        return self.score_sequences(*self._sequences(pairs))

    def ranking(self, pairs: Pairs) -> np.ndarray:
        return self.margin_sequences(*self._sequences(pairs))


def build(artifact: Artifact) -> TransformerEmbedder | TransformerClassifier | TransformerRanker:
    """The served model of a ``transformer`` artifact, by its manifest's role."""
    role = artifact.manifest.role
    if role == "embed":
        return TransformerEmbedder(artifact)
    if role == "classify":
        return TransformerClassifier(artifact)
    return TransformerRanker(artifact)
