"""``millicent demo``: the whole story on the embedded default (:mod:`millicent.testbed.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from millicent import config
from millicent.cli._common import add_data_dir, add_pack_size, pack_option
from millicent.errors import ConfigError


def run_demo(args: argparse.Namespace) -> int:
    from millicent.harness.scenario import parse_concurrency
    from millicent.testbed.demo import DemoOptions, run_demo

    top, mb = pack_option(args.pack_top, args.pack_mb)  # refuses bad sizes before any work
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be ≥ 1")
    options = DemoOptions(config.data_dir(args.data_dir), Path(args.out),
                          tuple(parse_concurrency(args.concurrency)), args.limit, args.vocab,
                          top, mb, progress=not args.no_progress, plots=not args.no_plots)
    run_demo(options)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``demo`` verb."""
    p = subparsers.add_parser(
        "demo", help="the whole story on the embedded default: vectors, serve, benchmark, cost",
        description=_description(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir(p)
    p.add_argument("--out", default="runs/demo", help="where everything goes (default runs/demo)")
    p.add_argument("--concurrency", default="5,20",
                   help="the benchmark's concurrency levels (default 5,20)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N items of each evaluation set, for the platform check "
                        "and per benchmark level (default: all: 1101 sentences, 1148 pairs)")
    p.add_argument("--vocab", choices=("all", "datasets"), default="all",
                   help="store every GloVe-50 word (default; 400k with the glove extra) or only "
                        "the SST and TrecQA words")
    add_pack_size(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=run_demo)


def _description() -> str:
    from millicent.testbed import demo

    return demo.__doc__ or ""
