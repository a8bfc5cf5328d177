"""The two roles a served model plays.

* :class:`Classifier` (Kim CNN, an ONNX classifier): word vectors of one text → class
  probabilities.
* :class:`Ranker` (SM CNN, an ONNX pair model): question and answer vectors → P(relevant).

Inputs are float32 ``(n_words, dim)`` matrices whose unknown words are zero rows (what the
embedding stores return). The service hands models typed, already checked inputs: a wrong
shape here is a programmer error (ValueError), not a bad request. Each model tokenizes
texts and keys its words with the tokenizer its artifact names (:attr:`_Served.tokenizer`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from millicent.runtime.artifact import Artifact, Manifest
from millicent.runtime.tokenizers import make_tokenizer
from millicent.runtime.tokenizers.base import Encoding, Tokenizer

Role = Literal["classify", "rank"]


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
    """A sentence classifier: ``predict_batch(embs) -> probabilities``."""

    role: ClassVar[Role] = "classify"

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.labels: list[str] = list(self.manifest.labels)

    @abstractmethod
    def predict_batch(self, embs: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (B, n_classes) for B texts; equal to :meth:`predict` one by one."""

    def predict(self, emb: np.ndarray) -> np.ndarray:
        """Class probabilities (n_classes,) for one text's word vectors (n, dim)."""
        return self.predict_batch([emb])[0]


@dataclass(frozen=True)
class Pairs:
    """One question and B candidate answers, embedded (and their tokens, for rankers with
    word-overlap features)."""

    q_emb: np.ndarray
    a_embs: Sequence[np.ndarray]
    q_tokens: Sequence[str] | None = None
    a_tokens: Sequence[Sequence[str]] | None = None


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
        """:meth:`relevance` of the answers ``a_embs`` to the question ``q_emb``."""
        return self.relevance(Pairs(q_emb, a_embs, q_tokens, a_tokens))

    def score(self, q_emb: np.ndarray, a_emb: np.ndarray, q_tokens: Sequence[str] | None = None,
              a_tokens: Sequence[str] | None = None) -> float:
        """P(relevant) of one answer to the question."""
        answers = None if a_tokens is None else [a_tokens]
        return float(self.relevance(Pairs(q_emb, [a_emb], q_tokens, answers))[0])
