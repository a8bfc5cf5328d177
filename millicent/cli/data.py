"""``millicent data check|fetch|list``: verify, download and describe the public data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from millicent import config
from millicent.cli._common import add_data_dir


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("data", help="check, download and list the public datasets")
    verbs = p.add_subparsers(dest="data_verb", metavar="ACTION", required=True)

    check = verbs.add_parser("check", help="verify a local copy against the catalog (size, sha256, lines)")
    add_data_dir(check)
    _add_only(check)
    check.add_argument("--json", action="store_true", help="print one JSON object per file")
    check.set_defaults(func=cmd_check)

    fetch = verbs.add_parser("fetch", help="download the data into a cache directory (needs internet)")
    fetch.add_argument("--cache-dir", default=None,
                       help=f"where to put the files (default: ${config.CACHE_DIR}/data or ~/.cache/millicent/data)")
    _add_only(fetch)
    fetch.add_argument("--mirror", default=None, metavar="URL",
                       help="base URL of an HTTP copy of a data directory, used instead of the canonical sources")
    fetch.add_argument("--timeout", type=float, default=60.0, help="seconds per network read (default 60)")
    fetch.set_defaults(func=cmd_fetch)

    lst = verbs.add_parser("list", help="list the catalog: groups, files, sources")
    _add_only(lst)
    lst.set_defaults(func=cmd_list)


def _add_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", action="append", default=[], metavar="SEL",
                   help="a group (sst, sst/stsa, trecqa, vectors ...), a path or a glob; repeatable or comma-separated")


def _only(args: argparse.Namespace) -> list[str]:
    return [s.strip() for item in args.only for s in item.split(",") if s.strip()]


def cmd_check(args: argparse.Namespace) -> int:
    from millicent.data.catalog import check
    from millicent.data.paths import resolve_data_dir

    root = resolve_data_dir(args.data_dir)
    results = check(root, _only(args))
    bad = [r for r in results if not r.ok]
    if args.json:
        for r in results:
            print(json.dumps({"path": r.entry.path, "status": r.status, "size": r.size,
                              "lines": r.lines, "sha256": r.sha256, "expected_sha256": r.entry.sha256,
                              "notes": r.notes}))
    else:
        print(f"data directory: {root}")
        print(f"{'status':<10} {'size':>10} {'lines':>8}  path")
        for r in results:
            size = "-" if r.size is None else str(r.size)
            lines = "-" if r.lines is None else str(r.lines)
            status = r.status if r.ok else r.status.upper()
            print(f"{status:<10} {size:>10} {lines:>8}  {r.entry.path}")
            for note in r.notes:
                print(f"{'':<31}{note}")
            if r.status in ("size", "sha256", "lines"):
                print(f"{'':<31}expected size {r.entry.size}, lines {r.entry.lines}, "
                      f"sha256 {r.entry.sha256}; got sha256 {r.sha256}")
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"{len(results)} files: {summary}")
        if bad:
            print("some files are missing or differ: pass --data-dir (or set "
                  f"${config.DATA_DIR}) to a complete copy, or run `millicent data fetch`",
                  file=sys.stderr)
    return 1 if bad else 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from millicent.data.catalog import load_catalog
    from millicent.data.download import fetch

    cache = Path(args.cache_dir) if args.cache_dir else config.cache_dir() / "data"
    print(f"fetching into {cache}")
    results = fetch(load_catalog(), cache, only=_only(args), mirror=args.mirror,
                    timeout=args.timeout, log=print)
    failed = [r for r in results if r.status == "failed"]
    skipped = [r for r in results if r.status == "skipped"]
    print(f"{len(results)} files: {len(results) - len(failed) - len(skipped)} ok, "
          f"{len(skipped)} skipped, {len(failed)} failed")
    if args.cache_dir or config.data_dir() != cache:
        print(f"use it with --data-dir {cache} (or {config.DATA_DIR}={cache})")
    return 1 if failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    from millicent.data.catalog import load_catalog, select

    for e in select(load_catalog(), _only(args)):
        lines = "" if e.lines is None else f" {e.lines} lines"
        print(f"{e.group:<16} {e.path}  ({e.size} B{lines}, {e.license})")
        print(f"{'':<16}   {e.source}")
        if e.derived is not None:
            print(f"{'':<16}   how: {e.derived.how}")
    return 0
