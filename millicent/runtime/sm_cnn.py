"""SM CNN forward pass in numpy (the serving twin of ``millicent.torch_models.sm_cnn``).

Question and answer: their own wide convolution → max over time → tanh; join
(concatenate, plus the overlap features if the model was trained with them) → hidden
tanh → linear → softmax; the score is P(class 1 = relevant). The question is encoded once
per request, however many answers it comes with.
"""

from __future__ import annotations

import numpy as np

from millicent.errors import ArtifactError
from millicent.runtime.artifact import Artifact
from millicent.runtime.conv import WideConv, encode
from millicent.runtime.features import OverlapFeatures
from millicent.runtime.roles import Pairs, Ranker, check_input, softmax


class SMCNN(Ranker):
    """Numpy SM CNN rebuilt from an artifact of kind ``sm_cnn``."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.conv_q = WideConv(artifact.weight("conv_q.weight"), artifact.weight("conv_q.bias"))
        self.conv_a = WideConv(artifact.weight("conv_a.weight"), artifact.weight("conv_a.bias"))
        if self.conv_q.dim != self.dim or self.conv_a.dim != self.dim:
            raise ArtifactError(f"{artifact.path}: conv weights do not match dim {self.dim}")
        self.hidden_t = np.ascontiguousarray(artifact.weight("hidden.weight").T)
        self.hidden_b = artifact.weight("hidden.bias")
        self.out_t = np.ascontiguousarray(artifact.weight("out.weight").T)
        self.out_b = artifact.weight("out.bias")
        section = artifact.manifest.features
        self.features: OverlapFeatures | None = None
        if section:
            self.features = OverlapFeatures.from_manifest(section, artifact.idf_table(),
                                                          self.tokenizer.key)
        n_join = self.conv_q.maps + self.conv_a.maps + (self.features is not None) * 4
        if self.hidden_t.shape[0] != n_join:
            raise ArtifactError(
                f"{artifact.path}: hidden layer takes {self.hidden_t.shape[0]} inputs, "
                f"the join has {n_join}"
            )
        self.needs_tokens = self.features is not None

    def logits(self, pairs: Pairs) -> np.ndarray:
        """Logits (B, 2) of each answer to the question."""
        q = check_input(pairs.q_emb, self.dim, "question")
        answers = [check_input(a, self.dim, "answer") for a in pairs.a_embs]
        if not answers:
            return np.zeros((0, 2), dtype=np.float32)
        xq = np.tanh(encode([self.conv_q], [q]))  # (1, maps)
        xa = np.tanh(encode([self.conv_a], answers))  # (B, maps)
        parts = [np.broadcast_to(xq, (len(answers), xq.shape[1])), xa]
        if self.features is not None:
            q_tokens, a_tokens = pairs.q_tokens, pairs.a_tokens
            if q_tokens is None or a_tokens is None or len(a_tokens) != len(answers):
                raise ValueError("this ranker needs the question and answer tokens")
            parts.append(np.stack([self.features(q_tokens, t) for t in a_tokens]))
        join = np.concatenate(parts, axis=1)
        h = np.tanh(join @ self.hidden_t + self.hidden_b)
        return h @ self.out_t + self.out_b

    def relevance(self, pairs: Pairs) -> np.ndarray:
        """P(relevant) (B,) of each answer."""
        return softmax(self.logits(pairs))[:, 1]

    def ranking(self, pairs: Pairs) -> np.ndarray:
        """The logit margin: monotone in P(relevant), without float32's ties near 0 and 1."""
        logits = self.logits(pairs)
        return logits[:, 1].astype(np.float64) - logits[:, 0]
