"""``train_hf``: fine-tune a Hugging Face encoder on the user's data, resumably.

One run: check the base directory, claim ``--out`` (new, resumed or refused:
:mod:`.outdir`), read and encode the data (:mod:`.splits`), load the base with its new
head, freeze the token table unless ``train_embeddings``, restore the last checkpoint if
there is one (saying so), train (:mod:`.fit`), score every held-out split in torch, write
the Hugging Face directory and the training record. The command then imports it into
``--out`` itself, int8 through the importer's gate by default
(:mod:`millicent.cli._hf_artifact`); a complete run whose import was interrupted imports
again when rerun.

Determinism: the seed drives the head's initialisation, dropout (torch's generator, kept
in every checkpoint) and the batches (a function of seed and epoch); the torch thread
count is fixed (``threads``, recorded), deterministic algorithms are on. So the same
command gives the same weights, and a resumed run the weights of an uninterrupted one.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from millicent.errors import ArtifactError
from millicent.train.hf.base import Base, check_base, load_model
from millicent.train.hf.checkpoint import Checkpoints, TrainState
from millicent.train.hf.encode import load_tokenizer, pad_id
from millicent.train.hf.fit import CLIP_NORM, Steps, Trainer, fit
from millicent.train.hf.options import HFOptions
from millicent.train.hf.outdir import claim, mark_complete
from millicent.train.hf.output import (
    read_record,
    table_sha256,
    write_hf_directory,
    write_record,
)
from millicent.train.hf.scores import Inputs, classify_metrics, logits, rank_metrics
from millicent.train.hf.splits import Splits, file_digests, load_splits
from millicent.train.loop import FitResult, Run, default_threads, seed_everything, training_record
from millicent.train.metrics import accuracy

CHECKPOINTS = "checkpoints"


class LinearSchedule:
    """The learning-rate factor at a step: a linear rise over ``warmup`` steps, then a
    linear fall to 0 at ``total`` (a callable object, so the scheduler's state is JSON)."""

    def __init__(self, warmup: int, total: int) -> None:
        self.warmup, self.total = warmup, total

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        return max(0.0, (self.total - step) / max(1, self.total - self.warmup))


def run_identity(opts: HFOptions, base: Base) -> dict[str, Any]:
    """What a rerun must repeat to resume (:mod:`.outdir`)."""
    return {"options": opts.identity(), "base": base.weights, "files": file_digests(opts)}


def train_hf(opts: HFOptions, data_dir: Path | None, command: str) -> dict[str, Any]:
    """Train (or resume, or report a complete run); returns the training record."""
    opts.check()
    opts.threads = opts.threads or default_threads()
    base = check_base(opts.base)
    seed_everything(opts.seed, opts.threads)
    tokenizer = load_tokenizer(base.path, opts.max_length)
    # the data is read (and refused, if it must be) before --out is touched
    splits = load_splits(opts, data_dir, tokenizer)
    out = Path(opts.out)
    if claim(out, run_identity(opts, base), command) == "complete":
        print(f"{out}: this run is complete (rerun with another --out to train again)")
        Checkpoints(out / CHECKPOINTS).remove()  # left if killed right after completing
        return read_record(out)
    _describe(splits, opts)
    model = load_model(base, splits.labels)
    model.get_input_embeddings().weight.requires_grad = opts.train_embeddings
    table_before = table_sha256(model)
    inputs = Inputs(pad_id(tokenizer), base.token_types)
    steps = _steps(model, splits, opts, inputs)
    trainer, described = _trainer(model, opts, len(steps.batches(1)) * opts.epochs, out)
    state = _start(trainer, out)
    state = fit(trainer, steps, state)
    metrics = _metrics(model, splits, inputs)
    record = _record(opts, command, base, splits, state, described, steps.metric)
    record["metrics"] = metrics
    record["token_table"] = {"trained": opts.train_embeddings, "sha256": table_sha256(model),
                             "base_sha256": table_before}
    if not opts.train_embeddings and record["token_table"]["sha256"] != table_before:
        # the store holds the base's table for every model of that base: never ship another
        raise ArtifactError("the frozen token table changed during training (a bug): not saved")
    write_hf_directory(model, base, tokenizer, opts.max_length, out)
    write_record(out, record)
    mark_complete(out)
    trainer.checkpoints.remove()
    return record


def _describe(splits: Splits, opts: HFOptions) -> None:
    sizes = " / ".join(f"{len(e):,} {name}" for name, e in splits.encoded.items())
    cut = splits.truncated()
    print(f"{sizes}; max {opts.max_length} tokens"
          + (f" (truncated: {', '.join(f'{n:,} {k}' for k, n in cut.items())})" if cut else ""))


def _steps(model: Any, splits: Splits, opts: HFOptions, inputs: Inputs) -> Steps:
    """The batches, the loss and the dev score of the task."""
    from millicent.train.hf.batches import collate, epoch_batches

    train, dev = splits.encoded["train"], splits.encoded["dev"]
    lengths = train.lengths()
    y = torch.tensor(splits.gold["train"])

    def batches(epoch: int) -> list[np.ndarray]:
        return epoch_batches(lengths, opts.batch_size, opts.seed, epoch)

    def loss_on(ix: np.ndarray) -> torch.Tensor:
        out = model(**collate(train, ix, inputs.pad, inputs.token_types)).logits
        target = y[torch.from_numpy(ix)]
        if opts.task == "rank":
            return F.binary_cross_entropy_with_logits(out[:, 0], target.float())
        return F.cross_entropy(out, target)

    def dev_score() -> float:
        if opts.task == "rank":
            return float(rank_metrics(model, dev, splits.pairs["dev"], inputs)["map"])
        return accuracy(logits(model, dev, inputs).argmax(axis=1), splits.gold["dev"])

    return Steps(batches, loss_on, dev_score, "dev_map" if opts.task == "rank" else "dev_accuracy")


def _trainer(model: Any, opts: HFOptions, total: int, out: Path) -> tuple[Trainer, str]:
    """AdamW (no decay on biases and LayerNorms) with a linear warm-up and decay."""
    decay: list[torch.nn.Parameter] = []
    plain: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (plain if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": opts.weight_decay},
                                   {"params": plain, "weight_decay": 0.0}], lr=opts.lr)
    warmup = round(opts.warmup * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LinearSchedule(warmup, total))
    described = (f"adamw lr={opts.lr} weight_decay={opts.weight_decay}, linear warm-up "
                 f"{warmup} of {total} steps then linear decay, batch {opts.batch_size} "
                 f"(length-bucketed), grad clip {CLIP_NORM}, token table "
                 + ("trained" if opts.train_embeddings else "frozen"))
    trainer = Trainer(model, optimizer, scheduler, Checkpoints(out / CHECKPOINTS), opts.epochs,
                      opts.checkpoint_steps, opts.progress)
    return trainer, described


def _start(trainer: Trainer, out: Path) -> TrainState:
    """The last checkpoint restored (and said so), or a fresh state."""
    state = trainer.checkpoints.restore(trainer.model, trainer.optimizer, trainer.scheduler)
    if state is None:
        state = TrainState()
    else:
        p = state.position
        print(f"resuming {out} from checkpoint {trainer.checkpoints.latest()}: epoch "
              f"{min(p.epoch, trainer.epochs)}/{trainer.epochs}, batch {p.batch}, step {p.step}, "
              f"{state.seconds:.0f} s trained so far")
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    state.sessions.append({"started": now, "from_step": state.position.step})
    return state


def _metrics(model: Any, splits: Splits, inputs: Inputs) -> dict[str, Any]:
    """Every split but train, scored in torch with the project's metric functions."""
    out: dict[str, Any] = {}
    for name, enc in splits.encoded.items():
        if name == "train":
            continue
        if splits.pairs:
            out[name] = rank_metrics(model, enc, splits.pairs[name], inputs)
        else:
            out[name] = classify_metrics(model, enc, splits.gold[name], splits.labels, inputs)
    return out


def _record(opts: HFOptions, command: str, base: Base, splits: Splits, state: TrainState,
            described: str, metric: str) -> dict[str, Any]:
    """The training record: the project's common fields and the fine-tuning's own."""
    import transformers

    result = FitResult(state.best_epoch, state.best_score, state.history, state.seconds)
    run = Run(command, opts.seed, opts.epochs, opts.threads, state.seconds)
    record = training_record(run, result, metric.removeprefix("dev_"), described, splits.dataset)
    record.update(
        kind="hf", task=opts.task, labels=list(splits.labels), data=splits.data_section,
        base={"path": str(base.path), "model_type": base.model_type, "weights": base.weights},
        max_length=opts.max_length, truncated=splits.truncated(), steps=state.position.step,
        head=("one logit; relevance = sigmoid(logit)" if opts.task == "rank"
              else "softmax over the labels"),
        sessions=state.sessions, transformers=transformers.__version__,
        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return record
