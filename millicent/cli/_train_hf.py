"""``millicent train hf``: fine-tune a Hugging Face encoder (the ``train`` verb's ``hf`` model).

Data as for ``train kim|sm`` (``--train FILE [--dev FILE] [--test FILE]``, columns,
``--label-names``, ``--skip-bad-rows``) or a built-in set (``--dataset sst-1|sst-2`` for
``--task classify``, ``--dataset trecqa`` for ``--task rank``). Rerunning the same command
with the same ``--out`` resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

#: the options of ``train hf``, in the order the recorded command lists them
HF_OPTIONS = ["base", "task", "dataset", "train", "dev", "test", "format", "text_column",
              "label_column", "label_names", "skip_bad_rows", "train_embeddings", "max_length",
              "epochs", "batch_size", "lr", "warmup", "weight_decay", "seed", "threads",
              "checkpoint_steps", "quantize", "check_texts", "data_dir", "out"]


def _train_hf(args: argparse.Namespace) -> int:
    from millicent import config
    from millicent.cli.train import _command_line, _files, _resolve, _torch_needed, data_path
    from millicent.cli.train import label_names as parse_label_names

    with _torch_needed():
        from millicent.train.hf.options import HFOptions
        from millicent.train.hf.run import train_hf
    _resolve(args)
    opts = HFOptions(
        base=str(data_path(args.base, args.data_dir)), task=args.task, out=args.out, data=_files(args), dataset=args.dataset,
        label_names=parse_label_names(args.label_names), train_embeddings=args.train_embeddings,
        max_length=args.max_length, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        warmup=args.warmup, weight_decay=args.weight_decay, seed=args.seed,
        threads=args.threads, checkpoint_steps=args.checkpoint_steps,
        progress=not args.no_progress, quantize=args.quantize,
        check_texts=str(data_path(args.check_texts, args.data_dir)) if args.check_texts else None)
    command = _command_line(args)
    record = train_hf(opts, config.data_dir(args.data_dir), command)
    _artifact(opts, config.data_dir(args.data_dir), command)
    print(f"best epoch {record['best_epoch']}/{record['epochs']}, {record['seconds']:.1f} s "
          f"training; the artifact: {args.out}, Hugging Face directory: {args.out}/hf, "
          f"record: {args.out}/training.json")
    for split, m in record["metrics"].items():
        keep = ("accuracy", "macro_f1", "map", "mrr", "n", "questions")
        print(json.dumps({"split": split, **{k: v for k, v in m.items() if k in keep}}))
    return 0


def _artifact(opts: Any, data_dir: Any, command: str) -> None:
    """``OUT/hf`` imported into ``OUT`` unless it is there already (a complete run's rerun:
    nothing; a run killed while importing: the import again)."""
    import time
    from pathlib import Path

    from millicent.cli._hf_artifact import has_artifact, make_artifact

    out = Path(opts.out)
    if has_artifact(out):
        return
    print(f"{out}: making its artifact (millicent import hf {out}/hf --role {opts.task}"
          + (" --quantize int8)" if opts.quantize == "int8" else ")"), flush=True)
    started = time.monotonic()
    precision = make_artifact(out, opts, data_dir, command)
    print(f"artifact {out} ({precision}; imported in {time.monotonic() - started:.0f} s): "
          f"`millicent serve --model NAME={out}`, `millicent eval {out} --file FILE`")


def add_hf_parser(models: Any) -> None:
    """Add ``hf`` to the ``train`` verb's models."""
    from millicent.cli._common import add_data_dir
    from millicent.cli.train import FORMATS

    p = models.add_parser("hf", help="fine-tune a Hugging Face encoder (classify or rank)",
                          allow_abbrev=False)
    p.add_argument("--base", required=True, metavar="DIR",
                   help="the base model: a local Hugging Face directory (safetensors)")
    p.add_argument("--task", required=True, choices=("classify", "rank"),
                   help="classify texts, or rank answers to a question (a cross-encoder)")
    p.add_argument("--dataset", default=None, choices=("sst-1", "sst-2", "trecqa"),
                   help="a built-in data set instead of --train FILE")
    p.add_argument("--train", default=None, metavar="FILE",
                   help="training data: labelled texts (csv, tsv, jsonl, stsa) or pairs "
                        "(question, answer, label 0/1, optional qid)")
    p.add_argument("--dev", default=None, metavar="FILE",
                   help="model-selection data (default: 10%% of --train held out, seeded)")
    p.add_argument("--test", default=None, metavar="FILE", help="test data, reported")
    p.add_argument("--format", default=None, choices=FORMATS,
                   help="file format (default: from the extension)")
    p.add_argument("--text-column", default="text", help="column / key of the text (default text)")
    p.add_argument("--label-column", default="label",
                   help="column / key of the label (default label)")
    p.add_argument("--label-names", default=None, metavar="VALUE=NAME,...",
                   help="the names the model answers with, e.g. 0=negative,1=positive")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="skip (and count) bad rows instead of stopping at them")
    p.add_argument("--train-embeddings", action=argparse.BooleanOptionalAction, default=False,
                   help="train the token table too (default: frozen, so the model reads the "
                        "base model's table in the store)")
    _training_options(p)
    add_data_dir(p)
    p.set_defaults(func=_train_hf)


def _training_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-length", type=int, default=128,
                   help="tokens per text or pair, special tokens included (default 128)")
    p.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    p.add_argument("--batch-size", type=int, default=32, help="default 32")
    p.add_argument("--lr", type=float, default=5e-5, help="AdamW peak learning rate (default 5e-5)")
    p.add_argument("--warmup", type=float, default=0.1,
                   help="share of the steps with a rising learning rate (default 0.1)")
    p.add_argument("--weight-decay", type=float, default=0.01, help="default 0.01")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: min(2, cores))")
    p.add_argument("--checkpoint-steps", type=int, default=500,
                   help="checkpoint every N steps too (0: at the end of each epoch only; "
                        "default 500)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress display on stderr (the epochs' results still print)")
    p.add_argument("--quantize", default="int8", choices=("int8", "none"),
                   help="the artifact's graph: int8 weights if the importer's gate passes, "
                        "else fp32, said (default); none: fp32")
    p.add_argument("--check-texts", default=None, metavar="FILE",
                   help="the int8 gate's texts (default: TrecQA raw-dev from the data "
                        "directory; see `millicent import hf --help`)")
    p.add_argument("--out", required=True,
                   help="the artifact directory (with the Hugging Face model in OUT/hf); "
                        "rerunning the same command on it resumes")
