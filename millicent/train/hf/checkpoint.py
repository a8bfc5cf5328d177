"""Checkpoints of a fine-tuning run, written atomically into ``OUT/checkpoints/``.

A checkpoint is a directory: ``model.safetensors`` (every weight), ``state.safetensors``
(the optimizer's moment tensors and torch's random generator, which drives dropout) and
``state.json`` (the optimizer's hyper-parameters, the scheduler, the position in the data
— epoch, batch, step, the epoch's running loss —, the dev scores so far, the best epoch,
the seconds spent). No pickle: every tensor is safetensors, everything else JSON.

Atomic: a checkpoint is written as ``.tmp-NAME``, flushed to disk, renamed to ``NAME``,
and only then named in ``latest.json`` (written to a temporary file and renamed over the
old one). A run killed at any instant leaves ``latest.json`` naming a complete checkpoint
(or none yet). Two are kept: the latest and the one of the best epoch so far (often the
same); the rest, and any half-written one, are removed.

The position suffices to resume because the batches are a pure function of (seed, epoch)
(:mod:`.batches`): with the weights, moments, schedule and generator restored bit for bit,
the resumed steps are the very steps an uninterrupted run takes.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from millicent.errors import ArtifactError

POINTER = "latest.json"
_RNG = "rng.torch"


@dataclass
class Position:
    """Where training is: ``batch`` batches of ``epoch`` (1-based) done, ``step`` optimizer
    steps in all; the epoch's loss so far as a sum over ``rows`` rows."""

    epoch: int = 1
    batch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    rows: int = 0


@dataclass
class TrainState:
    """Everything about a run that is not a tensor."""

    position: Position = field(default_factory=Position)
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = -1.0
    best: str | None = None  #: the checkpoint holding the best epoch's weights
    seconds: float = 0.0  #: training time of the sessions before this one
    sessions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainState:
        return cls(**{**d, "position": Position(**d["position"])})


class Checkpoints:
    """The checkpoints of one run under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def latest(self) -> str | None:
        """The name of the last complete checkpoint, or None."""
        pointer = self.root / POINTER
        if not pointer.is_file():
            return None
        return str(json.loads(pointer.read_text(encoding="utf-8"))["latest"])

    def save(self, name: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             scheduler: Any, state: TrainState) -> None:
        """Write checkpoint ``name`` and make it the latest."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp, final = self.root / f".tmp-{name}", self.root / name
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save_model(model, str(tmp / "model.safetensors"))
        tensors, meta = _optimizer_parts(optimizer.state_dict())
        tensors[_RNG] = torch.get_rng_state()
        save_file(tensors, str(tmp / "state.safetensors"))
        _write_json(tmp / "state.json", {"train": asdict(state), "optimizer": meta,
                                         "scheduler": scheduler.state_dict()})
        for f in tmp.iterdir():
            _fsync(f)
        shutil.rmtree(final, ignore_errors=True)  # a leftover no pointer names
        os.rename(tmp, final)
        _fsync(self.root)
        _write_json(self.root / POINTER, {"latest": name, "best": state.best}, atomic=True)
        self._prune({name, state.best})

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                scheduler: Any) -> TrainState | None:
        """Load the latest checkpoint into the objects; None when there is none."""
        name = self.latest()
        if name is None:
            return None
        d = self.root / name
        meta = json.loads((d / "state.json").read_text(encoding="utf-8"))
        state = TrainState.from_dict(meta["train"])
        self._prune({name, state.best})
        self.load_weights(name, model)
        tensors = load_file(str(d / "state.safetensors"))
        torch.set_rng_state(tensors.pop(_RNG))
        optimizer.load_state_dict(_optimizer_state(tensors, meta["optimizer"]))
        scheduler.load_state_dict(meta["scheduler"])
        return state

    def load_weights(self, name: str, model: torch.nn.Module) -> None:
        """Checkpoint ``name``'s weights into ``model`` (every one must match)."""
        missing, unexpected = load_model(model, str(self.root / name / "model.safetensors"))
        if missing or unexpected:
            raise ArtifactError(f"checkpoint {self.root / name} does not fit the model "
                                f"(missing {missing[:3]}, unexpected {unexpected[:3]})")

    def remove(self) -> None:
        """Delete every checkpoint (the run is complete)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def _prune(self, keep: set[str | None]) -> None:
        for d in self.root.iterdir():
            if d.is_dir() and d.name not in keep:
                shutil.rmtree(d, ignore_errors=True)


def _optimizer_parts(sd: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state dict as tensors (``optimizer.PARAM.NAME``) and JSON."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{pid}.{key}"] = value.detach().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "state": scalars}


def _optimizer_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_optimizer_parts`."""
    state: dict[int, dict[str, Any]] = {int(p): dict(v) for p, v in meta["state"].items()}
    for key, value in tensors.items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def _write_json(path: Path, value: Any, atomic: bool = False) -> None:
    target = path.with_name(path.name + ".tmp") if atomic else path
    with open(target, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if atomic:
        os.replace(target, path)
        _fsync(path.parent)


def _fsync(path: Path) -> None:
    """Flush a file or a directory entry to disk (a rename is durable only then)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
