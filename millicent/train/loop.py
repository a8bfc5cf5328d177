"""The shared training loop: seeded shuffles, padded batches, best-dev checkpoint.

Determinism: one seed drives numpy (shuffles, random tables) and torch (initialisation,
dropout); the torch thread count is fixed and recorded, because it changes the summation
order of the convolutions and so the last bits of every number.
"""

from __future__ import annotations

import copy
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from millicent.progress import Progress


def default_threads() -> int:
    """Torch threads for training: the cores we have, at most 2 (the machine is shared)."""
    return max(1, min(2, os.cpu_count() or 1))


def seed_everything(seed: int, threads: int) -> np.random.Generator:
    """Seed torch, fix its thread count, and return the numpy generator for shuffles."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return np.random.default_rng(seed)


def pad_ids(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token index lists → (B, T) LongTensor padded with 0, and the (B,) lengths."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    out = np.zeros((len(seqs), int(lengths.max())), dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return torch.from_numpy(out), torch.from_numpy(lengths)


@dataclass
class FitResult:
    """What :func:`fit` found: the best epoch (1-based), its dev score, all dev scores."""

    best_epoch: int
    best_score: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Run:
    """How a training run was made: the command that repeats it, its seed, epochs, torch
    threads and how long it took."""

    command: str
    seed: int
    epochs: int
    threads: int
    seconds: float


def training_record(run: Run, result: FitResult, metric: str, optimizer: str,
                    dataset: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``training`` section: how to repeat the run and what it reached.

    ``metric`` names the best-dev score (``best_dev_<metric>_torch``).
    """
    return {
        "command": run.command,
        "seed": run.seed,
        "epochs": run.epochs,
        "best_epoch": result.best_epoch,
        f"best_dev_{metric}_torch": result.best_score,
        "history": result.history,
        "seconds": round(run.seconds, 1),
        "threads": run.threads,
        "optimizer": optimizer,
        "dataset": dataset,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


@dataclass(frozen=True)
class Schedule:
    """Batches, epochs, the dev score's name and the weight EMA of a :func:`fit`."""

    batch_size: int
    epochs: int
    metric_name: str = "dev"
    ema: float = 0.0
    progress: bool = True  #: show each epoch's progress on stderr


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    n_train: int,
    schedule: Schedule,
    rng: np.random.Generator,
    loss_on: Callable[[np.ndarray], torch.Tensor],
    dev_score: Callable[[], float],
    after_step: Callable[[], None] | None = None,
) -> FitResult:
    """Train for ``schedule.epochs``; after each, score dev; leave the model at its
    best-dev epoch.

    ``loss_on(indices)`` returns the mean loss of those training examples; ``after_step``
    runs after every optimizer step (e.g. Kim's max-norm constraint). With ``ema`` > 0 the
    weights scored, kept and exported are an exponential moving average of the trained
    ones (decay ``ema`` per step), which smooths the epoch-to-epoch noise of the dev score.
    """
    t0 = time.perf_counter()
    shadow = _Shadow(model, schedule.ema) if schedule.ema > 0 else None
    best_state: dict[str, torch.Tensor] | None = None
    result = FitResult(best_epoch=0, best_score=-1.0)
    for epoch in range(1, schedule.epochs + 1):
        model.train()
        with Progress(f"epoch {epoch:>2}/{schedule.epochs}", -(-n_train // schedule.batch_size),
                      unit="batches", plain="end", enabled=schedule.progress) as bar:
            loss = _epoch(model, optimizer, rng.permutation(n_train), schedule.batch_size,
                          loss_on, after_step, shadow, bar)
            model.eval()
            trained = shadow.swap_in() if shadow is not None else None
            with torch.no_grad():
                score = dev_score()
            better = score > result.best_score
            if better:
                result.best_epoch, result.best_score = epoch, score
                best_state = copy.deepcopy(model.state_dict())
            if trained is not None:
                model.load_state_dict(trained)
            result.history.append({"epoch": epoch, "loss": loss, schedule.metric_name: score})
            bar.close(f"{schedule.metric_name} {score:.4f}" + (" *" if better else ""))
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.perf_counter() - t0
    return result


def _epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, order: np.ndarray,
           batch_size: int, loss_on: Callable[[np.ndarray], torch.Tensor],
           after_step: Callable[[], None] | None, shadow: _Shadow | None, bar: Progress) -> float:
    """One pass over ``order`` in batches; the mean training loss."""
    total = 0.0
    n_train = len(order)
    for b in range(-(-n_train // batch_size)):
        ix = order[b * batch_size : (b + 1) * batch_size]
        optimizer.zero_grad()
        loss = loss_on(ix)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        if shadow is not None:
            shadow.update()
        total += float(loss.detach()) * len(ix)
        bar.advance(1, loss=total / min(n_train, (b + 1) * batch_size))
    return total / n_train


class _Shadow:
    """Exponential moving average of a model's floating-point state."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.model = model
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self) -> None:
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                self.state[k].mul_(self.decay).add_(v.detach(), alpha=1.0 - self.decay)

    def swap_in(self) -> dict[str, torch.Tensor]:
        """Load the averaged weights into the model; returns the trained ones to restore."""
        trained = copy.deepcopy(self.model.state_dict())
        self.model.load_state_dict(self.state)
        return trained
