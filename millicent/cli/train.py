"""``millicent train kim|sm ...`` and ``millicent eval ARTIFACT ...``."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
from collections.abc import Iterator
from typing import Any

from millicent import config
from millicent.cli._common import add_data_dir
from millicent.errors import missing_extra

#: options of each model, in the order the recorded command lists them
_OPTIONS = {
    "kim": ["task", "variant", "vectors", "dim", "train_source", "epochs", "seed", "batch_size",
            "optimizer", "lr", "ema", "threads", "data_dir", "out"],
    "sm": ["vectors", "features", "epochs", "seed", "batch_size", "lr", "ema", "threads",
           "data_dir", "out"],
}


def _command_line(args: argparse.Namespace) -> str:
    """The full command with every option spelt out (recorded in the manifest), so the run
    can be repeated exactly however it was first typed."""
    words = ["millicent", "train", args.model]
    for name in _OPTIONS[args.model]:
        value = getattr(args, name)
        if value is None:
            continue
        words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(words)


def _print_metrics(manifest: dict[str, Any], out: str) -> None:
    t = manifest["training"]
    print(f"best epoch {t['best_epoch']}/{t['epochs']}, {t['seconds']:.1f} s; artifact: {out}")
    for split, m in manifest["metrics"].items():
        print(json.dumps({"split": split, **m}))


def _resolve(args: argparse.Namespace) -> None:
    """Fill in defaults that depend on the machine or on other options, so the recorded
    command repeats the run exactly anywhere."""
    from millicent.train.loop import default_threads

    if not args.threads:
        args.threads = default_threads()
    if getattr(args, "optimizer", None) and args.lr is None:
        args.lr = KIM_LR[args.optimizer]


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
        out=args.out, task=args.task, variant=args.variant, vectors=args.vectors, dim=args.dim,
        epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
        optimizer=args.optimizer, lr=args.lr,
        train_source=args.train_source, threads=args.threads, ema=args.ema,
    )
    manifest = train_kim(opts, config.data_dir(args.data_dir), _command_line(args))
    _print_metrics(manifest, args.out)
    return 0


def _train_sm(args: argparse.Namespace) -> int:
    with _torch_needed():
        from millicent.train.sm import SMOptions, train_sm
    _resolve(args)
    opts = SMOptions(
        out=args.out, vectors=args.vectors, features=args.features, epochs=args.epochs,
        seed=args.seed, batch_size=args.batch_size, lr=args.lr, threads=args.threads, ema=args.ema,
    )
    manifest = train_sm(opts, config.data_dir(args.data_dir), _command_line(args))
    _print_metrics(manifest, args.out)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from millicent.train.evaluate import evaluate_artifact

    result = evaluate_artifact(args.artifact, args.split, config.data_dir(args.data_dir), args.store)
    print(json.dumps(result))
    return 0


#: default learning rate of each Kim CNN optimizer
KIM_LR = {"adadelta": 1.0, "adam": 3e-4}


def _common(p: argparse.ArgumentParser, epochs: int, batch: int, lr: float | None,
            ema: float) -> None:
    p.add_argument("--vectors", default="glove-50", help="glove-50 or a vector file (default glove-50)")
    p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--batch-size", type=int, default=batch, help=f"default {batch}")
    p.add_argument("--lr", type=float, default=lr,
                   help=f"learning rate (default {lr if lr is not None else 'by optimizer'})")
    p.add_argument("--ema", type=float, default=ema,
                   help="score and export an exponential moving average of the weights "
                        f"(decay per step; 0 = off; default {ema})")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: min(2, cores))")
    p.add_argument("--out", required=True, help="artifact directory to write")
    add_data_dir(p)


def register(subparsers: Any) -> None:
    """Add the ``train`` and ``eval`` verbs."""
    train = subparsers.add_parser("train", help="train a model and export its runtime artifact")
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)

    kim = models.add_parser("kim", help="Kim CNN sentence classifier (SST-1 / SST-2)")
    kim.add_argument("--task", choices=["sst-1", "sst-2"], default="sst-1")
    kim.add_argument("--variant", choices=["static", "non-static", "rand"], default="static")
    kim.add_argument("--dim", type=int, default=None, help="embedding dimension (rand variant)")
    kim.add_argument("--optimizer", choices=["adadelta", "adam"], default="adam",
                     help="adam (default, lr 3e-4) or adadelta (Kim 2014, lr 1.0)")
    kim.add_argument("--train-source", choices=["stsa", "glue"], default="stsa",
                     help="SST-2 training set: stsa sentences or the GLUE phrase-level set")
    _common(kim, epochs=20, batch=50, lr=None, ema=0.99)
    kim.set_defaults(func=_train_kim)

    sm = models.add_parser("sm", help="SM CNN answer selection (TrecQA)")
    sm.add_argument("--features", choices=["none", "overlap"], default="none",
                    help="extra join-layer features (overlap: 4 word-overlap features)")
    _common(sm, epochs=12, batch=64, lr=1e-3, ema=0.0)
    sm.set_defaults(func=_train_sm)

    ev = subparsers.add_parser("eval", help="evaluate an artifact through the numpy runtime")
    ev.add_argument("artifact", help="artifact directory")
    ev.add_argument("--split", default="dev",
                    help="dev|test (TrecQA: raw-dev|raw-test; also clean-dev|clean-test)")
    ev.add_argument("--store", default=None, help="read the vectors from this store URL")
    add_data_dir(ev)
    ev.set_defaults(func=_eval)
