"""``millicent train kim|sm ...`` and ``millicent eval ARTIFACT ...``.

Training data is the user's files (``--train FILE [--dev FILE] [--test FILE]``; format from
the extension or ``--format``; columns ``--text-column`` / ``--label-column``) or the
built-in sets (``train kim --task sst-1|sst-2``, ``train sm`` on TrecQA's Castor files).
A data path that does not exist as given is looked up in the data directory, so a
recorded command repeats on any machine with the data. Option prefixes are not
abbreviations (``--train`` is never read as another option).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from millicent import config
from millicent.cli._common import add_data_dir, artifact_path
from millicent.cli._train_hf import HF_OPTIONS, add_hf_parser
from millicent.errors import InvalidInput, missing_extra

FORMATS = ("csv", "tsv", "jsonl", "stsa")  # millicent.data.files.LABELLED_FORMATS

_DATA = ["train", "dev", "test", "format"]
#: options of each model, in the order the recorded command lists them
_OPTIONS = {
    "kim": ["task", *_DATA, "text_column", "label_column", "label_names", "skip_bad_rows",
            "variant", "vectors", "dim", "tokenizer", "lowercase", "epochs", "seed",
            "batch_size", "optimizer", "lr", "ema", "threads", "data_dir", "out"],
    "sm": [*_DATA, "skip_bad_rows", "vectors", "features", "tokenizer", "lowercase", "epochs",
           "seed", "batch_size", "lr", "ema", "threads", "data_dir", "out"],
    "hf": HF_OPTIONS,
}
#: options that only mean something with --train FILE (not recorded without it)
_FILE_ONLY = {"text_column", "label_column", "label_names", "skip_bad_rows"}


def _command_line(args: argparse.Namespace) -> str:
    """The full command with every option spelt out (recorded in the manifest), so the run
    can be repeated exactly however it was first typed."""
    words = ["millicent", "train", args.model]
    for name in _OPTIONS[args.model]:
        if args.train is None and name in _FILE_ONLY:
            continue
        value = getattr(args, name)
        flag = f"--{name.replace('_', '-')}"
        if value is None or (value is False and name == "skip_bad_rows"):
            continue
        if isinstance(value, bool):
            words.append(flag if value else f"--no-{name.replace('_', '-')}")
        else:
            words += [flag, str(value)]
    return shlex.join(words)


def _print_metrics(manifest: Any, out: str) -> None:
    t = manifest.training
    print(f"best epoch {t['best_epoch']}/{t['epochs']}, {t['seconds']:.1f} s; artifact: {out}")
    for split, m in manifest.metrics.items():
        print(json.dumps({"split": split, **m}))


def _resolve(args: argparse.Namespace) -> None:
    """Fill in defaults that depend on the machine or on other options, so the recorded
    command repeats the run exactly anywhere."""
    from millicent.train.loop import default_threads

    if not args.threads:
        args.threads = default_threads()
    if getattr(args, "optimizer", None) and args.lr is None:
        args.lr = KIM_LR[args.optimizer]
    if args.model == "kim" and args.task is None and args.train is None:
        args.task = "sst-1"
    if args.train is None and any(getattr(args, n) for n in ("dev", "test", "format")):
        raise InvalidInput("--dev, --test and --format go with --train FILE")


def data_path(path: str | None, data_dir: str | None) -> str | None:
    """``path`` as given if it exists, else inside the data directory if it is there."""
    if path is None or Path(path).expanduser().exists():
        return path
    candidate = config.data_dir(data_dir) / path
    return str(candidate) if candidate.exists() else path


def _files(args: argparse.Namespace) -> Any:
    """The user's data files as ``FileOptions`` (None: the built-in data)."""
    from millicent.train.data import FileOptions

    if args.train is None:
        return None
    return FileOptions(
        train=str(data_path(args.train, args.data_dir)), dev=data_path(args.dev, args.data_dir),
        test=data_path(args.test, args.data_dir), format=args.format,
        text_column=getattr(args, "text_column", "text"),
        label_column=getattr(args, "label_column", "label"),
        skip_bad_rows=args.skip_bad_rows, seed=args.seed)


def label_names(spec: str | None) -> dict[str, str] | None:
    """``0=negative,1=positive`` → ``{"0": "negative", "1": "positive"}``."""
    if not spec:
        return None
    out: dict[str, str] = {}
    for part in spec.split(","):
        value, sep, name = part.partition("=")
        if not sep or not value.strip() or not name.strip():
            raise InvalidInput(f"--label-names takes VALUE=NAME,... got {part!r}")
        out[value.strip()] = name.strip()
    return out


@contextlib.contextmanager
def _torch_needed() -> Iterator[None]:
    """Turn a missing torch into the error naming the ``train`` extra."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            raise missing_extra("torch", "train") from exc
        raise


def _train_kim(args: argparse.Namespace) -> int:
    with _torch_needed():
        from millicent.train.kim import KimOptions, train_kim
    _resolve(args)
    opts = KimOptions(
        out=args.out, data=_files(args), task=args.task or "",
        label_names=label_names(args.label_names), tokenizer=args.tokenizer,
        lowercase=args.lowercase, variant=args.variant, vectors=args.vectors, dim=args.dim,
        epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr, threads=args.threads, ema=args.ema,
        progress=not args.no_progress,
    )
    manifest = train_kim(opts, config.data_dir(args.data_dir), _command_line(args))
    _print_metrics(manifest, args.out)
    return 0


def _train_sm(args: argparse.Namespace) -> int:
    with _torch_needed():
        from millicent.train.sm import SMOptions, train_sm
    _resolve(args)
    opts = SMOptions(
        out=args.out, data=_files(args), task="" if args.train else "trecqa",
        tokenizer=args.tokenizer, lowercase=args.lowercase, vectors=args.vectors,
        features=args.features, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
        lr=args.lr, threads=args.threads, ema=args.ema, progress=not args.no_progress,
    )
    manifest = train_sm(opts, config.data_dir(args.data_dir), _command_line(args))
    _print_metrics(manifest, args.out)
    return 0


def _eval(args: argparse.Namespace) -> int:
    data_dir = config.data_dir(args.data_dir)
    if args.file is None:
        from millicent.train.evaluate import evaluate_artifact

        result = evaluate_artifact(artifact_path(args.artifact), args.split or "dev", data_dir, args.store)
    else:
        if args.split is not None:
            raise InvalidInput("--split and --file exclude each other")
        from millicent.runtime.artifact import read_manifest
        from millicent.train.data import FileOptions
        from millicent.train.scoring import DATA_SECTION, evaluate_file

        # the columns the model was trained with, unless given
        manifest = read_manifest(artifact_path(args.artifact))
        if manifest.role != "classify" and (args.text_column or args.label_column):
            raise InvalidInput("--text-column / --label-column name a classifier's columns; a "
                               "ranker reads the columns question, answer and label (0 or 1), "
                               "and optionally qid")
        trained = manifest.sections.get(DATA_SECTION) or {}
        opts = FileOptions(
            train=str(data_path(args.file, args.data_dir)), format=args.format,
            text_column=args.text_column or trained.get("text_column") or "text",
            label_column=args.label_column or trained.get("label_column") or "label",
            skip_bad_rows=args.skip_bad_rows)
        result = evaluate_file(artifact_path(args.artifact), opts, data_dir, args.store)
    for note in result.get("notes", []):
        print(f"millicent: note: {note}", file=sys.stderr)
    print(json.dumps(result))
    return 0


#: default learning rate of each Kim CNN optimizer
KIM_LR = {"adadelta": 1.0, "adam": 3e-4}


def _data_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--train", default=None, metavar="FILE",
                   help=f"training {what} (csv, tsv, jsonl{', stsa' if what == 'texts' else ''})")
    p.add_argument("--dev", default=None, metavar="FILE",
                   help="model-selection data (default: 10%% of --train held out, seeded)")
    p.add_argument("--test", default=None, metavar="FILE", help="test data, reported")
    p.add_argument("--format", default=None, choices=FORMATS if what == "texts" else FORMATS[:3],
                   help="file format (default: from the extension)")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="skip (and count) bad rows instead of stopping at them")
    p.add_argument("--tokenizer", choices=("ptb", "whitespace"), default="ptb",
                   help="ptb (PTB-style, default) or whitespace; recorded, used by the function")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=True,
                   help="downcase tokens and vector keys (default: yes)")


def _common(p: argparse.ArgumentParser, epochs: int, batch: int, lr: float | None,
            ema: float) -> None:
    p.add_argument("--vectors", default="glove-50",
                   help="glove-50 or a vector file: .bin, .txt, .txt.gz, .vec (default glove-50)")
    p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--batch-size", type=int, default=batch, help=f"default {batch}")
    p.add_argument("--lr", type=float, default=lr,
                   help=f"learning rate (default {lr if lr is not None else 'by optimizer'})")
    p.add_argument("--ema", type=float, default=ema,
                   help="score and export an exponential moving average of the weights "
                        f"(decay per step; 0 = off; default {ema})")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: min(2, cores))")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress display on stderr (the epochs' results still print)")
    p.add_argument("--out", required=True, help="artifact directory to write")
    add_data_dir(p)


def register(subparsers: Any) -> None:
    """Add the ``train`` and ``eval`` verbs."""
    train = subparsers.add_parser("train", help="train a model and export its runtime artifact",
                                  allow_abbrev=False)
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)

    kim = models.add_parser("kim", help="Kim CNN sentence classifier (your files, SST-1 / SST-2)",
                            allow_abbrev=False)
    kim.add_argument("--task", default=None,
                     help="without --train: sst-1 (default) or sst-2; with it: a name for the "
                          "model's task, recorded in the manifest")
    _data_options(kim, "texts")
    kim.add_argument("--text-column", default="text", help="column / key of the text (default text)")
    kim.add_argument("--label-column", default="label",
                     help="column / key of the label (default label)")
    kim.add_argument("--label-names", default=None, metavar="VALUE=NAME,...",
                     help="the names the model answers with, e.g. 0=negative,1=positive")
    # the commands recorded by artifacts trained before --train FILE existed say
    # "--train-source stsa" (the built-in SST files, still the default): kept so they run
    kim.add_argument("--train-source", choices=["stsa"], default=None, help=argparse.SUPPRESS)
    kim.add_argument("--variant", choices=["static", "non-static", "rand"], default="static")
    kim.add_argument("--dim", type=int, default=None, help="embedding dimension (rand variant)")
    kim.add_argument("--optimizer", choices=["adadelta", "adam"], default="adam",
                     help="adam (default, lr 3e-4) or adadelta (Kim 2014, lr 1.0)")
    _common(kim, epochs=20, batch=50, lr=None, ema=0.99)
    kim.set_defaults(func=_train_kim)

    sm = models.add_parser("sm", help="SM CNN answer selection (your pairs, TrecQA)",
                           allow_abbrev=False)
    _data_options(sm, "pairs (question, answer, label 0/1, optional qid)")
    sm.add_argument("--features", choices=["none", "overlap"], default="none",
                    help="extra join-layer features (overlap: 4 word-overlap features)")
    _common(sm, epochs=12, batch=64, lr=1e-3, ema=0.0)
    sm.set_defaults(func=_train_sm)

    add_hf_parser(models)

    ev = subparsers.add_parser("eval", help="evaluate an artifact through the numpy runtime",
                               allow_abbrev=False)
    from millicent.train.shipped import shipped_names

    ev.add_argument("artifact", metavar="ARTIFACT",
                    help="an artifact directory, or the name of a shipped artifact "
                         f"({', '.join(shipped_names())})")
    ev.add_argument("--split", default=None,
                    help="built-in data: dev (default) | test (TrecQA: raw-dev | raw-test, "
                         "also clean-dev | clean-test)")
    ev.add_argument("--file", default=None, metavar="FILE",
                    help="evaluate on a labelled file (classifier) or a pairs file (ranker)")
    ev.add_argument("--format", default=None, choices=FORMATS, help="format of --file")
    ev.add_argument("--text-column", default=None,
                    help="column of the text (default: the model's training column, else text)")
    ev.add_argument("--label-column", default=None,
                    help="column of the label (default: the model's training column, else label)")
    ev.add_argument("--skip-bad-rows", action="store_true", help="skip (and count) bad rows")
    ev.add_argument("--store", default=None, help="read the vectors from this store URL")
    add_data_dir(ev)
    ev.set_defaults(func=_eval)
