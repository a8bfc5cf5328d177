"""Networks this project did not write, exported to ONNX the way a user would (torch.onnx.export),
for the ONNX kind's tests: recurrent classifiers with and without lengths, a bilinear pair
model, a Transformer encoder (exported with external data), and graphs that must be refused.

Random weights (seeded): parity with PyTorch does not need a trained model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

DIM = 50


class BiGRUClassifier(nn.Module):
    """Bidirectional GRU, max over time, linear: padding changes its answer (the backward
    direction reads the padded rows first), so it must only ever be fed unpadded texts."""

    def __init__(self, dim: int = DIM, hidden: int = 16, n_labels: int = 2) -> None:
        super().__init__()
        self.rnn = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, n_labels)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:  # (B, T, dim) -> (B, n_labels)
        out, _ = self.rnn(emb)
        return self.fc(out.max(dim=1).values)


class LastStateLSTM(nn.Module):
    """An LSTM read up to each text's true length: takes ``lengths``, so padded batches are fine."""

    def __init__(self, dim: int = DIM, hidden: int = 16, n_labels: int = 3) -> None:
        super().__init__()
        self.rnn = nn.LSTM(dim, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, n_labels)

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(emb)  # (B, T, hidden)
        last = out[torch.arange(out.shape[0]), lengths - 1]  # the state after the last real word
        return self.fc(last)


class BilinearRanker(nn.Module):
    """A bi-encoder: a GRU per side, max over time, score = q·W·a + b, shape (B,)."""

    def __init__(self, dim: int = DIM, hidden: int = 12) -> None:
        super().__init__()
        self.q_rnn = nn.GRU(dim, hidden, batch_first=True)
        self.a_rnn = nn.GRU(dim, hidden, batch_first=True)
        # q·W·a written out: the TorchScript exporter has no aten::bilinear
        self.weight = nn.Parameter(torch.zeros(hidden, hidden))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, question: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
        q = self.q_rnn(question)[0].max(dim=1).values
        a = self.a_rnn(answer)[0].max(dim=1).values
        return ((q @ self.weight) * a).sum(dim=1) + self.bias


class LengthsPairClassifier(nn.Module):
    """A pair model with lengths inputs: each side's LSTM state after its last real word,
    concatenated with their product, then two logits (irrelevant, relevant)."""

    def __init__(self, dim: int = DIM, hidden: int = 10) -> None:
        super().__init__()
        self.q_rnn = nn.LSTM(dim, hidden, batch_first=True)
        self.a_rnn = nn.LSTM(dim, hidden, batch_first=True)
        self.out = nn.Linear(3 * hidden, 2)

    def forward(self, question: torch.Tensor, answer: torch.Tensor, q_len: torch.Tensor,
                a_len: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(question.shape[0])
        q = self.q_rnn(question)[0][rows, q_len - 1]
        a = self.a_rnn(answer)[0][rows, a_len - 1]
        return self.out(torch.cat([q, a, q * a], dim=1))


class TransformerClassifier(nn.Module):
    """One Transformer encoder layer over the word vectors, mean over time, linear."""

    def __init__(self, dim: int = DIM, n_labels: int = 2) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(dim, nhead=2, dim_feedforward=64, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.fc = nn.Linear(dim, n_labels)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(emb).mean(dim=1))


class PooledClassifier(nn.Module):
    """Takes a mean-pooled (B, dim) input: the wrong rank for millicent's contract."""

    def __init__(self, dim: int = DIM) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, 2)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.fc(pooled)


def seeded(module: nn.Module, seed: int = 0) -> nn.Module:
    """``module`` with weights drawn from ``seed``, in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return module.eval()


def export(module: nn.Module, path: Path, inputs: Sequence[torch.Tensor], names: Sequence[str],
           output: str = "out", dynamic: bool = True, dynamo: bool = False) -> Path:
    """``torch.onnx.export`` as a user writes it: batch and token axes dynamic (``dynamic``),
    with the TorchScript exporter or (``dynamo=True``) the torch.export one."""
    args = tuple(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            batch = torch.export.Dim("batch")
            params = list(module.forward.__code__.co_varnames[1: 1 + len(args)])
            shapes: dict[str, Any] = {
                p: ({0: batch, 1: torch.export.Dim(f"{p}_tokens")} if t.ndim == 3 else {0: batch})
                for p, t in zip(params, args, strict=True)}
            torch.onnx.export(module, args, str(path), input_names=list(names),
                              output_names=[output], dynamic_shapes=shapes if dynamic else None,
                              dynamo=True, verbose=False)
        else:
            axes: dict[str, dict[int, str]] | None = None
            if dynamic:
                # each text its own token axis: a shared name declares them of equal length
                axes = {n: ({0: "batch", 1: f"{n}_tokens"} if t.ndim == 3 else {0: "batch"})
                        for n, t in zip(names, args, strict=True)}
                axes[output] = {0: "batch"}
            torch.onnx.export(module, args, str(path), input_names=list(names),
                              output_names=[output], dynamic_axes=axes, dynamo=False)
    return path


def example(batch: int = 2, tokens: int = 5, dim: int = DIM) -> torch.Tensor:
    return torch.zeros(batch, tokens, dim)


def torch_each(module: nn.Module, embs: Sequence[np.ndarray], lengths: bool = False) -> np.ndarray:
    """The module's output for each text alone (no padding), stacked."""
    out = []
    with torch.no_grad():
        for e in embs:
            x = torch.from_numpy(np.ascontiguousarray(e, dtype=np.float32))[None]
            args = (x, torch.tensor([e.shape[0]])) if lengths else (x,)
            out.append(module(*args)[0].numpy())
    return np.stack(out)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)
