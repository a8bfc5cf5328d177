"""``millicent batch``: a file of texts through a deployed classification function,
in batch requests, resumably, with one result line per input record."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from millicent import config
from millicent.cli._common import add_pricing_flags
from millicent.data.files import FORMATS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "batch",
        help="classify every text of a file through an endpoint, in batches, resumably",
        description=(
            "Stream FILE (csv, tsv, jsonl, txt) through a classification function in batch "
            "requests ({\"sentences\": [...]}) with C in flight, and write one JSON line per "
            "input record, in input order, each with its input line number: the answer, or "
            "an error naming why the line was refused (a blank line, a bad row, a text the "
            "function refused). 429, 5xx and lost connections are retried with jittered "
            "backoff. Killed at any moment, the same command resumes where it stopped; a "
            "journal OUT.journal beside the result file records the job."))
    p.add_argument("--input", required=True, metavar="FILE", help="the texts (.gz is read too)")
    p.add_argument("--endpoint", required=True, metavar="URL",
                   help="the deployment's base URL, e.g. http://127.0.0.1:9000")
    p.add_argument("--function", default=None, metavar="NAME",
                   help="POST /NAME (default POST /classify: the first classification model)")
    p.add_argument("--out", required=True, metavar="RESULTS.jsonl", help="the result file")
    p.add_argument("--format", default=None, choices=FORMATS,
                   help="the input's format (default: from its extension)")
    p.add_argument("--text-column", default="text", metavar="NAME",
                   help="the CSV/TSV column or JSON key holding the text (default text)")
    p.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="texts per request (default 64; the function takes up to "
                        "MILLICENT_MAX_BATCH, 256 by default, and a larger N is cut down)")
    p.add_argument("--concurrency", type=int, default=4, metavar="C",
                   help="requests in flight (default 4)")
    p.add_argument("--api-key", default=None, metavar="K",
                   help=f"sent as x-api-key (default: ${config.API_KEY} when set)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="client timeout per request (default 60 s; a timeout is retried)")
    p.add_argument("--retry-deadline", type=float, default=300.0, metavar="S",
                   help="give a failing batch this long before stopping the job (default 300 s)")
    p.add_argument("--no-progress", action="store_true", help="no progress display on stderr")
    _pricing(p)
    p.set_defaults(func=run_batch)


def _pricing(p: argparse.ArgumentParser) -> None:
    """How the closing summary prices the job (as ``millicent bench`` does)."""
    add_pricing_flags(p.add_argument_group("pricing of the closing summary"), dynamodb=False)


def run_batch(args: argparse.Namespace) -> int:
    from millicent.batch.job import job_report, run_job
    from millicent.batch.runner import BatchJob
    from millicent.batch.summary import render
    from millicent.economics.cost import CostOptions
    from millicent.economics.prices import load_prices

    prices = load_prices(args.prices)
    options = CostOptions(memory_mb=args.memory_mb, arch=args.arch, gateway=args.gateway,
                          billing=args.billing, store=args.store)
    prices.granularity_ms(options.billing)
    job = BatchJob(input=Path(args.input), out=Path(args.out), endpoint=args.endpoint,
                   function=args.function, fmt=args.format, text_column=args.text_column,
                   batch_size=args.batch_size, concurrency=args.concurrency,
                   api_key=args.api_key or os.environ.get(config.API_KEY) or None,
                   timeout_s=args.timeout, retry_deadline_s=args.retry_deadline,
                   progress=not args.no_progress)
    try:
        report = run_job(job, prices, options)
    except KeyboardInterrupt:
        print(render(job_report(job.out)), file=sys.stderr)
        raise
    except Exception:
        if job.out.with_name(job.out.name + ".journal").exists():
            print(render(job_report(job.out)), file=sys.stderr)
        raise
    print(render(report))
    return 0
