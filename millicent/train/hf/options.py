"""The options of ``millicent train hf`` and the identity of a run.

A run's *identity* is what determines its result: the options (not where the output goes,
not the progress display, not how often checkpoints are written), the base model's
weights and the data files' bytes, by sha256. Rerunning a command with the same identity
on the same ``--out`` resumes it; another identity is refused (:mod:`.outdir`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from millicent.errors import InvalidInput
from millicent.train.data import FileOptions

TASKS = ("classify", "rank")
#: the artifact's precision: int8 through the importer's gate (fp32 when it fails), or fp32
QUANTIZE = ("int8", "none")
#: the built-in data sets (``--dataset``) and the task each serves
DATASETS = {"sst-1": "classify", "sst-2": "classify", "trecqa": "rank"}


@dataclass
class HFOptions:
    """Everything that determines a ``train hf`` run (recorded in the training record)."""

    base: str  #: the base model's Hugging Face directory
    task: str  #: classify | rank
    out: str
    #: the user's files; None: the built-in data set ``dataset``
    data: FileOptions | None = None
    dataset: str | None = None
    label_names: dict[str, str] | None = None  # file label → the name the model answers
    train_embeddings: bool = False  #: train the token table too (default: frozen)
    max_length: int = 128  #: tokens per text or pair, special tokens included
    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-5  # AdamW, peak of the linear warm-up / decay schedule
    warmup: float = 0.1  #: share of the steps with a rising learning rate
    weight_decay: float = 0.01
    seed: int = 1
    threads: int = 0  # 0 → default_threads()
    checkpoint_steps: int = 500  #: also checkpoint every N steps (0: at each epoch's end only)
    progress: bool = True  #: the progress display (not part of the run)
    #: the artifact's graph: "int8" (kept if the gate passes, else fp32) or "none" (fp32);
    #: not part of the run: the training is the same either way
    quantize: str = "int8"
    check_texts: str | None = None  #: the int8 gate's texts (default: the importer's)

    def check(self) -> None:
        """InvalidInput naming the first option out of range."""
        if self.task not in TASKS:
            raise InvalidInput(f"--task must be one of {TASKS}, got {self.task!r}")
        if (self.data is None) == (self.dataset is None):
            raise InvalidInput("give the data as --train FILE or --dataset NAME "
                               f"({', '.join(DATASETS)}), not both or neither")
        if self.dataset is not None and DATASETS.get(self.dataset) != self.task:
            raise InvalidInput(f"--dataset must be one of {_datasets(self.task)} with "
                               f"--task {self.task}, got {self.dataset!r}")
        if self.task == "rank" and self.label_names:
            raise InvalidInput("--label-names is for --task classify: a ranker's labels are 0/1")
        checks = [(self.max_length >= 8, "--max-length must be at least 8"),
                  (self.epochs >= 1, "--epochs must be at least 1"),
                  (self.batch_size >= 1, "--batch-size must be at least 1"),
                  (self.lr > 0, "--lr must be positive"),
                  (0.0 <= self.warmup < 1.0, "--warmup is a share of the steps, in [0, 1)"),
                  (self.weight_decay >= 0, "--weight-decay must not be negative"),
                  (self.checkpoint_steps >= 0, "--checkpoint-steps must not be negative"),
                  (self.threads >= 0, "--threads must not be negative"),
                  (self.quantize in QUANTIZE, f"--quantize must be one of {', '.join(QUANTIZE)}")]
        for ok, message in checks:
            if not ok:
                raise InvalidInput(message)

    def identity(self) -> dict[str, Any]:
        """The options that determine the result (paths of data files excluded: their
        sha256 stand for them, see :func:`millicent.train.hf.run.run_identity`)."""
        skip = {"out", "progress", "checkpoint_steps", "data", "base", "quantize", "check_texts"}
        options = {k: v for k, v in asdict(self).items() if k not in skip}
        if self.data is not None:
            data = asdict(self.data)
            for path in ("train", "dev", "test"):
                data[path] = data[path] is not None  # given or not; the bytes are hashed
            options["data"] = data
        return options


def _datasets(task: str) -> list[str]:
    return [name for name, t in DATASETS.items() if t == task]
