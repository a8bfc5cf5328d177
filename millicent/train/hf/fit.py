"""The fine-tuning loop: steps, checkpoints, a dev score per epoch, the best epoch kept.

Each step: the batch's mean loss, backward, gradients clipped to norm
:data:`CLIP_NORM`, an AdamW step, a scheduler step. A checkpoint is written every
``checkpoint_steps`` steps and at the end of every epoch, after its dev score (so a
resumed run never scores an epoch twice nor skips one). The progress display counts the
whole run's batches, so its ETA is the run's; each epoch's line closes with its dev
score (``*``: the best so far). At the end the best epoch's weights are loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from millicent.progress import Progress
from millicent.train.hf.checkpoint import Checkpoints, Position, TrainState

CLIP_NORM = 1.0


@dataclass(frozen=True)
class Steps:
    """What one run steps through: an epoch's batches (row indices), a batch's loss, the
    dev score (higher is better) and its name."""

    batches: Callable[[int], list[np.ndarray]]
    loss_on: Callable[[np.ndarray], torch.Tensor]
    dev_score: Callable[[], float]
    metric: str


@dataclass
class Trainer:
    """The objects a run trains and how often it checkpoints."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    checkpoints: Checkpoints
    epochs: int
    checkpoint_steps: int = 0
    progress: bool = True

    def save(self, name: str, state: TrainState, started: float, before: float) -> None:
        state.seconds = before + time.perf_counter() - started
        self.checkpoints.save(name, self.model, self.optimizer, self.scheduler, state)


def fit(trainer: Trainer, steps: Steps, state: TrainState) -> TrainState:
    """Train from ``state.position`` to the last epoch; the model ends at its best epoch."""
    started, before = time.perf_counter(), state.seconds
    per_epoch = len(steps.batches(1))
    total = per_epoch * trainer.epochs
    while state.position.epoch <= trainer.epochs:
        epoch = state.position.epoch
        with Progress(f"epoch {epoch}/{trainer.epochs}", total, initial=state.position.step,
                      unit="batches", enabled=trainer.progress) as bar:
            _train_epoch(trainer, steps, state, bar, lambda n: trainer.save(n, state, started,
                                                                            before))
            trainer.model.eval()
            with torch.no_grad():
                score = steps.dev_score()
            better = score > state.best_score
            name = f"epoch-{epoch:03d}"
            p = state.position
            state.history.append({"epoch": epoch, "loss": p.loss_sum / max(p.rows, 1),
                                  steps.metric: score, "step": p.step})
            if better:
                state.best_epoch, state.best_score, state.best = epoch, score, name
            state.position = Position(epoch + 1, 0, p.step)
            trainer.save(name, state, started, before)
            bar.close(f"{steps.metric} {score:.4f}" + (" *" if better else ""))
    if state.best is not None:
        trainer.checkpoints.load_weights(state.best, trainer.model)
    trainer.model.eval()
    return state


def _train_epoch(trainer: Trainer, steps: Steps, state: TrainState, bar: Progress,
                 save: Callable[[str], None]) -> None:
    """The rest of the current epoch's batches, from ``state.position.batch``."""
    p = state.position
    batches = steps.batches(p.epoch)
    params = [q for q in trainer.model.parameters() if q.requires_grad]
    trainer.model.train()
    for b in range(p.batch, len(batches)):
        ix = batches[b]
        trainer.optimizer.zero_grad()
        loss = steps.loss_on(ix)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        trainer.optimizer.step()
        trainer.scheduler.step()
        p.batch, p.step = b + 1, p.step + 1
        p.loss_sum += float(loss.detach()) * len(ix)
        p.rows += len(ix)
        bar.advance(1, loss=p.loss_sum / p.rows)
        every = trainer.checkpoint_steps
        if every and p.step % every == 0 and p.batch < len(batches):
            save(f"step-{p.step:07d}")
