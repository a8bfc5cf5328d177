"""The two roles a served model plays, and :func:`load_model` that rebuilds one from an artifact.

* :class:`Classifier` (Kim CNN): word vectors of one text → class probabilities.
* :class:`Ranker` (SM CNN): question and answer vectors → P(relevant).

Both are numpy-only and float32; inputs are ``(n_words, dim)`` matrices whose unknown words
are zero rows (what the embedding stores return).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from millicent.errors import ArtifactError, InvalidInput
from millicent.runtime.artifact import Artifact, load_artifact


def check_input(emb: np.ndarray, dim: int, what: str = "input") -> np.ndarray:
    """``emb`` as a C-contiguous float32 (n, dim) matrix with n ≥ 1, or InvalidInput."""
    arr = np.ascontiguousarray(emb, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InvalidInput(f"{what}: expected a (n, {dim}) matrix, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InvalidInput(f"{what}: needs at least one word")
    return arr


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class _Served(ABC):
    """What both roles share: the artifact's manifest and the embedding dimension."""

    role: ClassVar[str]

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.manifest: dict[str, Any] = artifact.manifest
        self.kind: str = artifact.kind
        self.dim: int = artifact.dim

    @property
    def task(self) -> str:
        return str(self.manifest.get("task", ""))


class Classifier(_Served):
    """A sentence classifier: ``predict(emb) -> probabilities``."""

    role: ClassVar[str] = "classify"

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        labels = self.manifest.get("labels")
        if not isinstance(labels, list) or not labels:
            raise ArtifactError(f"{artifact.path}: a classifier manifest needs 'labels'")
        self.labels: list[str] = [str(x) for x in labels]

    @abstractmethod
    def predict_batch(self, embs: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (B, n_classes) for B texts; equal to :meth:`predict` one by one."""

    def predict(self, emb: np.ndarray) -> np.ndarray:
        """Class probabilities (n_classes,) for one text's word vectors (n, dim)."""
        return self.predict_batch([emb])[0]


class Ranker(_Served):
    """An answer ranker: ``score(q_emb, a_emb) -> P(relevant)``.

    Rankers with word-overlap features (``needs_tokens``) also need the token lists.
    """

    role: ClassVar[str] = "rank"
    needs_tokens: bool = False

    @abstractmethod
    def score_batch(
        self,
        q_emb: np.ndarray,
        a_embs: Sequence[np.ndarray],
        q_tokens: Sequence[str] | None = None,
        a_tokens: Sequence[Sequence[str]] | None = None,
    ) -> np.ndarray:
        """P(relevant) (B,) of each answer to the question; equal to :meth:`score` one by one."""

    def score(
        self,
        q_emb: np.ndarray,
        a_emb: np.ndarray,
        q_tokens: Sequence[str] | None = None,
        a_tokens: Sequence[str] | None = None,
    ) -> float:
        """P(relevant) of one answer to the question."""
        return float(
            self.score_batch(q_emb, [a_emb], q_tokens, None if a_tokens is None else [a_tokens])[0]
        )


def load_model(path: str | os.PathLike[str]) -> Classifier | Ranker:
    """Rebuild the numpy model stored in the artifact directory ``path``."""
    artifact = load_artifact(path)
    # imported here: the model modules subclass the roles defined above
    if artifact.kind == "kim_cnn":
        from millicent.runtime.kim_cnn import KimCNN

        return KimCNN(artifact)
    from millicent.runtime.sm_cnn import SMCNN

    return SMCNN(artifact)
