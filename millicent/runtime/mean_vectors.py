"""The ``mean_vectors`` model kind (role ``embed``): a text's embedding is the mean of its
words' vectors, unknown words left out, L2-normalised.

This is what sentence-transformers ships as ``average_word_embeddings_glove.6B.300d``
(WordEmbeddings → mean Pooling → Normalize). The artifact holds no weights at all: a
manifest naming the vectors (``glove-50``, a vector file) and the tokenizer, so the table
is the store's and the function does one lookup and one mean per text. Written by
``millicent import vectors SOURCE --out DIR``.

Unknown words are the stores' zero rows; a zero row is left out of the mean (a real vector
of all zeros would be too — no GloVe or word2vec vector is one). A text without any known
word embeds as the zero vector (normalising it would divide by zero: JSON has no NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from millicent.errors import ArtifactError
from millicent.runtime.artifact import Artifact
from millicent.runtime.roles import Embedder, check_input
from millicent.tokenizers.base import Encoding


class MeanVectors(Embedder):
    """Mean of the known words' vectors, L2-normalised unless the manifest says not to."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        normalize = artifact.manifest.config.get("normalize", True)
        if not isinstance(normalize, bool):
            raise ArtifactError(f"{artifact.path}: config.normalize must be true or false")
        self.normalize = normalize
        self.out_dim = self.dim

    def embed_batch(self, embs: Sequence[np.ndarray],
                    encodings: Sequence[Encoding] | None = None) -> np.ndarray:
        """(B, dim) float32: each text's mean known-word vector (normalised)."""
        out = np.zeros((len(embs), self.dim), dtype=np.float32)
        for i, emb in enumerate(embs):
            x = check_input(emb, self.dim)
            known = x[np.any(x != 0.0, axis=1)]  # unknown words are zero rows
            if len(known):
                out[i] = known.mean(axis=0, dtype=np.float64)
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            with np.errstate(invalid="ignore", over="ignore"):  # a non-finite vector: refused
                np.divide(out, norms, out=out, where=norms > 0)  # by the service, not warned
        return out
