"""``millicent`` entry point: discover verbs, parse, run, map errors to exit codes."""

from __future__ import annotations

import os

# One BLAS thread for in-process forward passes (eval, demo, the server baseline): the
# matmuls are tiny, and idle OpenBLAS workers cost far more than they save on 2 cores
# (measured 15-30 ms instead of 0.2 ms per sentence under load). Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import millicent
import millicent.cli
from millicent.errors import MillicentError


def build_parser() -> argparse.ArgumentParser:
    """The full parser: one sub-command per verb registered by the modules of this package."""
    parser = argparse.ArgumentParser(
        prog="millicent",
        description=(
            "Deploy NLP CNNs as pay-per-request serverless functions with word embeddings "
            "in a key-value store, and measure what every query costs."
        ),
    )
    parser.add_argument("--version", action="version", version=f"millicent {millicent.__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for info in sorted(pkgutil.iter_modules(millicent.cli.__path__), key=lambda m: m.name):
        if info.name in {"main"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"millicent.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failure, 2 usage/config)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        rc = func(args)
    except MillicentError as exc:
        print(f"millicent: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the system said no: a directory that is not there, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"millicent: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("millicent: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
