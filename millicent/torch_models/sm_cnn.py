"""SM CNN (Severyn & Moschitti 2015, as in Rao et al. 2017) for answer selection (training only).

Question and answer each go through their own wide convolution (width 5 × 100 maps,
padding k−1) → tanh → max over time; the two vectors are joined (concatenated, optionally
with extra pair features such as word overlap) → hidden layer (200, tanh) → dropout →
linear to 2 classes. No similarity matrix, no IDF features unless ``n_features > 0``.
Static word vectors: the embedding table is frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from millicent.torch_models.kim_cnn import conv_max


@dataclass
class SMCNNConfig:
    """Hyper-parameters of an SM CNN (recorded in the artifact manifest)."""

    dim: int
    width: int = 5
    n_maps: int = 100
    hidden: int = 200
    dropout: float = 0.5
    n_classes: int = 2
    #: extra features appended to the join layer (4 with ``--features overlap``)
    n_features: int = 0


class SMCNN(nn.Module):
    """SM CNN over token indices; row 0 of the embedding table is the zero unknown vector."""

    def __init__(self, config: SMCNNConfig, n_words: int) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(n_words + 1, config.dim, padding_idx=0)
        self.embedding.weight.requires_grad_(False)  # static vectors, as in the paper
        k = config.width
        self.conv_q = nn.Conv1d(config.dim, config.n_maps, k, padding=k - 1)
        self.conv_a = nn.Conv1d(config.dim, config.n_maps, k, padding=k - 1)
        self.hidden = nn.Linear(2 * config.n_maps + config.n_features, config.hidden)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.hidden, config.n_classes)

    def forward_embedded(
        self,
        q_emb: torch.Tensor,  # (B, Tq, dim)
        q_len: torch.Tensor,  # (B,)
        a_emb: torch.Tensor,  # (B, Ta, dim)
        a_len: torch.Tensor,  # (B,)
        feats: torch.Tensor | None = None,  # (B, n_features)
    ) -> torch.Tensor:
        """Logits (B, n_classes) from embedded question and answer."""
        # tanh after the max equals tanh before it (tanh is monotone) and skips work.
        xq = torch.tanh(conv_max(self.conv_q, q_emb.transpose(1, 2), q_len))  # (B, maps)
        xa = torch.tanh(conv_max(self.conv_a, a_emb.transpose(1, 2), a_len))  # (B, maps)
        parts = [xq, xa]
        if self.config.n_features:
            if feats is None:
                raise ValueError("this SM CNN needs pair features")
            parts.append(feats)
        join = torch.cat(parts, dim=1)
        h = self.dropout(torch.tanh(self.hidden(join)))
        return self.out(h)

    def forward(
        self,
        q_ids: torch.Tensor,
        q_len: torch.Tensor,
        a_ids: torch.Tensor,
        a_len: torch.Tensor,
        feats: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits (B, n_classes) from token indices padded with 0."""
        return self.forward_embedded(
            self.embedding(q_ids), q_len, self.embedding(a_ids), a_len, feats
        )
