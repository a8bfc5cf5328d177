"""Word-overlap features of a question–answer pair (optional SM CNN input, ``--features overlap``).

Computed from tokens at serving time exactly as in training, with the IDF table and the
standardisation statistics the training run exported in the artifact. Four features:

1. overlap: share of the question's distinct words that occur in the answer;
2. IDF-weighted overlap: Σ idf over shared words / Σ idf over the question's words;
3. and 4.: the same two over non-stopwords only.

Words are compared by their store keys: version ``overlap-2`` (written now) by the model's
own tokenizer's keys, version ``overlap-1`` (the shipped ``sm-trecqa-overlap``) by the
lower-cased PTB keys it was trained with, whatever the tokenizer. IDF comes from the
training split's distinct sentences: ``idf(w) = log((N + 1) / (df(w) + 1))`` (a word never
seen gets ``log(N + 1)``). Each feature is then z-scored with the training split's mean and
standard deviation (stored in the manifest), never with statistics of the evaluated split.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from millicent.errors import ArtifactError
from millicent.tokenizers.ptb import ptb_key
from millicent.types import KeyFunction

#: Recorded in the manifest; bump when the definition above changes.
FEATURES_VERSION = "overlap-2"
#: versions this runtime reads: how each compares words, given the model's key function
_VERSION_KEYS: dict[str, Any] = {
    "overlap-1": lambda model_key: ptb_key,  # trained comparing lower-cased PTB keys
    "overlap-2": lambda model_key: model_key,
}
N_FEATURES = 4

#: English function words (NLTK's list) plus PTB clitics and punctuation tokens.
STOPWORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn ma
    mightn mustn needn shan shouldn wasn weren won wouldn 's 're 've 'd 'll 'm n't
    . , ; : ? ! ' '' ` `` " -- - ... ( ) [ ] { } & % $ # @ * / \\
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def compute_idf(documents: Iterable[Sequence[str]], key: KeyFunction
                ) -> tuple[list[str], np.ndarray, float]:
    """IDF of every word of ``documents`` (token lists; pass distinct sentences), words
    compared by ``key`` (the model's tokenizer's).

    Returns ``(words, idf float32, idf of an unseen word)``; words in first-seen order.
    """
    df: Counter[str] = Counter()
    n_docs = 0
    for doc in documents:
        n_docs += 1
        df.update({key(t) for t in doc})
    words = list(df)
    idf = np.array([math.log((n_docs + 1) / (df[w] + 1)) for w in words], dtype=np.float32)
    return words, idf, math.log(n_docs + 1)


class OverlapFeatures:
    """The four overlap features of a pair, standardised with the training statistics."""

    def __init__(
        self,
        idf: dict[str, float],
        unseen_idf: float,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        *,
        key: KeyFunction,
        version: str = FEATURES_VERSION,
    ) -> None:
        self.idf = idf
        self.unseen_idf = unseen_idf
        #: how words are compared (see the module docstring) and the definition's version
        self.key = key
        self.version = version
        self.mean = np.zeros(N_FEATURES, np.float32) if mean is None else np.asarray(mean, np.float32)
        self.std = np.ones(N_FEATURES, np.float32) if std is None else np.asarray(std, np.float32)

    def _weight(self, words: set[str]) -> float:
        return sum(self.idf.get(w, self.unseen_idf) for w in words)

    def raw(self, q_tokens: Sequence[str], a_tokens: Sequence[str]) -> np.ndarray:
        """Unstandardised features (4,) float32."""
        key = self.key
        q, a = {key(t) for t in q_tokens}, {key(t) for t in a_tokens}
        out = np.zeros(N_FEATURES, dtype=np.float32)
        for i, (qs, as_) in enumerate(((q, a), (q - STOPWORDS, a - STOPWORDS))):
            if not qs:
                continue  # nothing to overlap: both features stay 0
            shared = qs & as_
            out[2 * i] = len(shared) / len(qs)
            total = self._weight(qs)
            out[2 * i + 1] = self._weight(shared) / total if total > 0 else 0.0
        return out

    def __call__(self, q_tokens: Sequence[str], a_tokens: Sequence[str]) -> np.ndarray:
        """Standardised features (4,) float32, as fed to the network."""
        return ((self.raw(q_tokens, a_tokens) - self.mean) / self.std).astype(np.float32)

    def fit_scaler(self, rows: np.ndarray) -> None:
        """Set mean / std from raw training features (n, 4); a constant feature keeps std 1."""
        self.mean = rows.mean(axis=0).astype(np.float32)
        std = rows.std(axis=0)
        self.std = np.where(std > 1e-6, std, 1.0).astype(np.float32)

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's ``features`` section (the IDF table itself goes to ``idf.npz``)."""
        return {
            "kind": "overlap",
            "version": self.version,
            "n": N_FEATURES,
            "unseen_idf": self.unseen_idf,
            "mean": [float(x) for x in self.mean],
            "std": [float(x) for x in self.std],
        }

    @classmethod
    def from_manifest(
        cls, section: dict[str, Any], table: tuple[list[str], np.ndarray] | None,
        key: KeyFunction,
    ) -> OverlapFeatures:
        """Rebuild from the manifest section and the artifact's IDF table; ``key``: the
        model's tokenizer's key (used by the versions that compare by it)."""
        version = section.get("version")
        if version not in _VERSION_KEYS:
            raise ArtifactError(
                f"unknown features version {version!r} (known: {sorted(_VERSION_KEYS)})"
            )
        if table is None:
            raise ArtifactError("the model uses overlap features but the artifact has no idf.npz")
        words, idf = table
        return cls(
            dict(zip(words, (float(x) for x in idf), strict=True)),
            float(section["unseen_idf"]),
            section["mean"],
            section["std"],
            key=_VERSION_KEYS[str(version)](key),
            version=str(version),
        )
