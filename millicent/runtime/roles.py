"""The three roles a served model plays, and what the service hands each.

* :class:`Classifier` (Kim CNN, an ONNX classifier): one text → class probabilities;
* :class:`Ranker` (SM CNN, an ONNX pair model, a cross-encoder): a question and candidate
  answers → P(relevant) of each;
* :class:`Embedder` (``mean_vectors``, a sentence encoder): one text → a vector.

Every text reaches a model twice: as its embedded rows — a float32 ``(n_tokens, dim)``
matrix whose unknown words are zero rows, what the stores return — and as its
:class:`~millicent.tokenizers.base.Encoding` (tokens, store keys and, for models
that need them, vocabulary ids and token types). A model over word vectors reads the rows
only; a transformer also takes the token types (and pads with the attention mask). A
ranker whose tokenizer encodes pairs (``tokenizer.pairs``: a cross-encoder) gets each
question–answer pair as one sequence (:attr:`Pairs.joint_embs`), others the question and
the answers apart. The service hands models typed, already checked inputs: a wrong shape
here is a programmer error (ValueError), not a bad request. Each model tokenizes texts and
keys its words with the tokenizer its artifact names (:attr:`_Served.tokenizer`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from millicent.runtime.artifact import Artifact, Manifest
from millicent.tokenizers import make_tokenizer
from millicent.tokenizers.base import Encoding, Tokenizer
from millicent.types import Role


def check_input(emb: np.ndarray, dim: int, what: str = "input") -> np.ndarray:
    """``emb`` as a C-contiguous float32 (n, dim) matrix with n ≥ 1, or ValueError."""
    arr = np.ascontiguousarray(emb, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"{what}: expected a (n, {dim}) matrix, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{what}: needs at least one word")
    return arr


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class _Served(ABC):
    """What both roles share: the artifact, its manifest, dimension and tokenizer."""

    role: ClassVar[Role]

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.manifest: Manifest = artifact.manifest
        self.kind: str = artifact.kind
        self.dim: int = artifact.dim
        #: the artifact's own tokenizer: texts → tokens and store keys, exactly as in training
        self.tokenizer: Tokenizer = make_tokenizer(self.manifest.tokenizer, artifact.path)
        self.tokenize: Callable[[str], list[str]] = self.tokenizer.tokenize
        self.encode: Callable[[str], Encoding] = self.tokenizer.encode

    @property
    def task(self) -> str:
        return self.manifest.task


class Classifier(_Served):
    """A sentence classifier: ``predict_batch(embs, encodings) -> probabilities``."""

    role: ClassVar[Role] = "classify"

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.labels: list[str] = list(self.manifest.labels)

    @abstractmethod
    def predict_batch(self, embs: Sequence[np.ndarray],
                      encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """Probabilities (B, n_classes) for B texts' rows ``embs[i]`` (n_i, dim), whose
        encodings are ``encodings[i]`` (always given by the service; a model over word
        vectors may ignore them); equal to :meth:`predict` one by one."""

    def predict(self, emb: np.ndarray, encoding: Encoding | None = None) -> np.ndarray:
        """Class probabilities (n_classes,) for one text's word vectors (n, dim)."""
        return self.predict_batch([emb], None if encoding is None else [encoding])[0]


@dataclass(frozen=True)
class Pairs:
    """One question and B candidate answers, embedded, with their tokens (rankers with
    word-overlap features read them) and their encodings.

    A ranker whose tokenizer encodes pairs (a cross-encoder) gets ``joint_embs[j]`` /
    ``joint_encodings[j]``: the question and answer ``j`` as one sequence; ``q_emb`` is
    then empty (0, dim) and ``a_embs`` empty. Others get the question and each answer
    apart (``q_emb``, ``a_embs``) and no joint sequences.
    """

    q_emb: np.ndarray
    a_embs: Sequence[np.ndarray]
    q_tokens: Sequence[str] | None = None
    a_tokens: Sequence[Sequence[str]] | None = None
    q_encoding: Encoding | None = None
    a_encodings: Sequence[Encoding] | None = None
    joint_embs: Sequence[np.ndarray] | None = None
    joint_encodings: Sequence[Encoding] | None = None

    @classmethod
    def joint(cls, embs: Sequence[np.ndarray], encodings: Sequence[Encoding], dim: int) -> Pairs:
        """B question–answer pairs each encoded as one sequence (cross-encoders)."""
        return cls(np.zeros((0, dim), dtype=np.float32), [], joint_embs=embs,
                   joint_encodings=encodings)

    def __len__(self) -> int:
        """The number of answers (B)."""
        return len(self.joint_embs) if self.joint_embs is not None else len(self.a_embs)


class Ranker(_Served):
    """An answer ranker: P(relevant) of each answer to a question.

    A ranker implements :meth:`relevance` and may override :meth:`ranking`; rankers with
    word-overlap features (``needs_tokens``) also need the token lists.
    """

    role: ClassVar[Role] = "rank"
    needs_tokens: bool = False

    @abstractmethod
    def relevance(self, pairs: Pairs) -> np.ndarray:
        """P(relevant) (B,) of each answer to the question; equal one answer at a time."""

    def ranking(self, pairs: Pairs) -> np.ndarray:
        """Scores for ranking (MAP/MRR): a monotone function of P(relevant), float64.

        Rankers whose probability saturates to ties in float32 override it with a margin.
        """
        return self.relevance(pairs).astype(np.float64)

    def score_batch(self, q_emb: np.ndarray, a_embs: Sequence[np.ndarray],
                    q_tokens: Sequence[str] | None = None,
                    a_tokens: Sequence[Sequence[str]] | None = None) -> np.ndarray:
        """:meth:`relevance` of the answers ``a_embs`` to the question ``q_emb`` (models
        that read the question and the answers apart)."""
        return self.relevance(Pairs(q_emb, a_embs, q_tokens, a_tokens))

    def score(self, q_emb: np.ndarray, a_emb: np.ndarray, q_tokens: Sequence[str] | None = None,
              a_tokens: Sequence[str] | None = None) -> float:
        """P(relevant) of one answer to the question."""
        answers = None if a_tokens is None else [a_tokens]
        return float(self.relevance(Pairs(q_emb, [a_emb], q_tokens, answers))[0])


class Embedder(_Served):
    """A text encoder: ``embed_batch(embs, encodings) -> (B, out_dim)`` float32 vectors."""

    role: ClassVar[Role] = "embed"
    #: the embedding's width (the vectors answered), set by the model
    out_dim: int

    @abstractmethod
    def embed_batch(self, embs: Sequence[np.ndarray],
                    encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """Vectors (B, out_dim) float32 for B texts' rows ``embs[i]`` (n_i, dim) and their
        encodings (always given by the service; a transformer reads the token types and
        the attention mask from them); equal to :meth:`embed` one by one."""

    def embed(self, emb: np.ndarray, encoding: Encoding | None = None) -> np.ndarray:
        """The vector (out_dim,) of one text."""
        return self.embed_batch([emb], None if encoding is None else [encoding])[0]


#: Any served model (what the registry builds, the environment holds and the service serves).
ServedModel = Classifier | Ranker | Embedder
