"""Kim CNN (Kim 2014) for sentence classification, in PyTorch (training only).

Embedding lookup → for each width k: wide 1-d convolution (padding k−1, so a one-word
sentence still has k outputs) → ReLU → max over time → concatenate → dropout → linear.

Batches are padded with index 0 (the zero "unknown" row). Wide convolution over zero
padding gives exactly the outputs of the unpadded sentence at positions ``t < n + k − 1``;
positions beyond that are masked out of the max, so a padded batch equals one-by-one.
The numpy runtime (``millicent.runtime.kim_cnn``) implements the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import torch
from torch import nn

#: Training variants: pretrained frozen, pretrained fine-tuned, learned from scratch.
VARIANTS = ("static", "non-static", "rand")


@dataclass
class KimCNNConfig:
    """Hyper-parameters of a Kim CNN (recorded in the artifact manifest)."""

    n_classes: int
    dim: int
    widths: list[int] = field(default_factory=lambda: [3, 4, 5])
    n_maps: int = 100
    dropout: float = 0.5


def conv_max(conv: nn.Conv1d, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Wide convolution of ``x`` (B, dim, T) then max over the valid positions → (B, maps).

    ``conv`` must have ``padding = k − 1``. Output position t is valid iff t < n + k − 1
    (windows that touch at least one real token); the rest see only batch padding.
    """
    k = conv.kernel_size[0]
    out = conv(x)  # (B, maps, T + k - 1)
    positions = torch.arange(out.shape[2], device=out.device)
    invalid = positions[None, :] >= (lengths[:, None] + k - 1)  # (B, T + k - 1)
    out = out.masked_fill(invalid[:, None, :], float("-inf"))
    return out.max(dim=2).values


class KimCNN(nn.Module):
    """Kim CNN over token indices; row 0 of the embedding table is the zero unknown vector."""

    def __init__(self, config: KimCNNConfig, n_words: int, trainable_embeddings: bool) -> None:
        super().__init__()
        self.config = config
        # n_words rows + row 0 (unknown / padding, kept at zero by padding_idx)
        self.embedding = nn.Embedding(n_words + 1, config.dim, padding_idx=0)
        self.embedding.weight.requires_grad_(trainable_embeddings)
        self.convs = nn.ModuleList(
            nn.Conv1d(config.dim, config.n_maps, k, padding=k - 1) for k in config.widths
        )
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(config.n_maps * len(config.widths), config.n_classes)

    def features(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Pooled features from embedded input ``emb`` (B, T, dim) → (B, maps × widths)."""
        x = emb.transpose(1, 2)  # (B, dim, T)
        # ReLU after the max equals ReLU before it (ReLU is monotone) and skips work.
        pooled = [
            torch.relu(conv_max(cast(nn.Conv1d, conv), x, lengths)) for conv in self.convs
        ]
        return torch.cat(pooled, dim=1)

    def forward_embedded(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) from embedded input (B, T, dim)."""
        return self.fc(self.dropout(self.features(emb, lengths)))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) from token indices (B, T), padded with 0."""
        return self.forward_embedded(self.embedding(ids), lengths)
