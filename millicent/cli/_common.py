"""Argument helpers shared by the verbs."""

from __future__ import annotations

import argparse
from typing import Any

from millicent import config
from millicent.errors import ConfigError


def add_data_dir(p: argparse.ArgumentParser) -> None:
    """``--data-dir D`` (defaults to ``$MILLICENT_DATA_DIR``, else the download cache)."""
    p.add_argument(
        "--data-dir",
        default=None,
        help=f"local copy of the datasets (default: ${config.DATA_DIR}, else the download cache)",
    )


def add_model_specs(p: argparse.ArgumentParser, required: bool = True) -> None:
    """Repeatable ``--model NAME=ARTIFACT_DIR``."""
    p.add_argument(
        "--model",
        action="append",
        default=[],
        required=required,
        metavar="NAME=DIR",
        help="a function NAME served from the artifact in DIR (repeatable)",
    )


def add_pack_size(p: argparse.ArgumentParser, scope: str = "") -> None:
    """``--pack-mb MB`` | ``--pack-top K``: the frequent-word pack's size (read with
    :func:`pack_option`); ``scope`` prefixes the help, e.g. ``"--compare: "``."""
    size = p.add_mutually_exclusive_group()
    size.add_argument("--pack-mb", type=float, default=None, metavar="MB",
                      help=f"{scope}the frequent-word pack holds the most frequent words that "
                           "fit MB MiB (default 10 MiB, millicent.store.pack.DEFAULT_PACK_MB: "
                           "≈ 50,000 words at 50-d, ≈ 8,700 at 300-d)")
    size.add_argument("--pack-top", type=int, default=None, metavar="K",
                      help=f"{scope}the pack holds the K most frequent words instead")


def pack_option(top: int | None, mb: float | None) -> tuple[int | None, float | None]:
    """The pack's size as (words, MiB), exactly one set: ``--pack-top`` if given, else
    ``--pack-mb``, else the store layer's default budget (``DEFAULT_PACK_MB``)."""
    from millicent.store.pack import DEFAULT_PACK_MB

    if top is not None and top < 1:
        raise ConfigError("--pack-top must be ≥ 1")
    if mb is not None and mb <= 0:
        raise ConfigError("--pack-mb must be positive")
    if top is not None:
        return top, None
    return None, DEFAULT_PACK_MB if mb is None else mb


def add_pricing_flags(p: Any, defaults: bool = True, dynamodb: bool = True) -> None:
    """How the deployment is priced (``bench``, ``cost``, ``plan``, ``batch``): ``--memory-mb
    --arch --gateway --billing --store`` (with ``dynamodb``, ``--dynamodb-mode --rcu``) and
    ``--prices FILE``. Without ``defaults`` they are overrides (None = as the run was priced).
    ``p``: a parser or an argument group."""

    def d(value: Any) -> Any:
        return value if defaults else None

    p.add_argument("--memory-mb", type=int, default=d(128),
                   help="Lambda memory in MB" + (" (default 128)" if defaults else ""))
    p.add_argument("--arch", choices=["x86", "x86_64", "arm64"], default=d("x86_64"),
                   help="Lambda architecture" + (" (default x86_64)" if defaults else ""))
    p.add_argument("--gateway", choices=["url", "http", "rest", "none"], default=d("url"),
                   help="in front of the function: Function URL (free), API Gateway HTTP API "
                        "or REST API" + (" (default url)" if defaults else ""))
    p.add_argument("--billing", choices=["1ms", "100ms"], default=d("1ms"),
                   help="duration billing unit: 1 ms (since Dec 2020) or 100 ms (the paper's era)")
    p.add_argument("--store", choices=["dynamodb", "none"], default=d("dynamodb"),
                   help="price store reads as DynamoDB, or as free (bundled SQLite, own Redis)")
    if dynamodb:
        p.add_argument("--dynamodb-mode", choices=["on-demand", "provisioned"],
                       default=d("on-demand"))
        p.add_argument("--rcu", type=int, default=d(500),
                       help="provisioned read capacity units (the paper's table had 500)")
    p.add_argument("--prices", default=None, metavar="FILE",
                   help="price sheet JSON (default: the bundled, dated us-east-1 sheet)")


def add_instance_flags(p: Any, capacity_help: str) -> None:
    """``--instance-usd-per-hour`` and ``--instance-capacity-qps``: the always-on instance
    pay-per-request is compared with (``cost`` and ``plan``)."""
    from millicent.economics.tuning import DEFAULT_INSTANCE_USD_PER_HOUR

    p.add_argument("--instance-usd-per-hour", type=float, default=DEFAULT_INSTANCE_USD_PER_HOUR,
                   help="always-on instance price for the break-even "
                        f"(default {DEFAULT_INSTANCE_USD_PER_HOUR})")
    p.add_argument("--instance-capacity-qps", type=float, default=None, help=capacity_help)


def add_signing(p: argparse.ArgumentParser) -> None:
    """``--sigv4`` / ``--deployment FILE`` / ``--region`` / ``--profile``: sign requests to an
    ``AWS_IAM`` Function URL (read with :func:`signer_from_args`)."""
    p.add_argument("--sigv4", action="store_true",
                   help="sign requests with SigV4 (an --auth iam Function URL); automatic when "
                        "the endpoint's deployment record says auth iam")
    p.add_argument("--deployment", default=None, metavar="FILE",
                   help="deployment record written by `millicent deploy` (default: the one of "
                        "this endpoint under runs/deploy/, if any)")
    p.add_argument("--region", default=None,
                   help="region to sign for (default: the record's, else the Function URL's)")
    p.add_argument("--profile", default=None,
                   help="AWS credentials profile to sign with (default: the record's, else boto3's)")


def signer_from_args(args: argparse.Namespace, endpoint: str) -> Any:
    """The SigV4 signer ``args`` ask for (or the endpoint's record implies), or None."""
    from millicent.deploy.signing import resolve_signer

    return resolve_signer(endpoint, args.sigv4, args.deployment, args.region, args.profile)


def artifact_path(spec: str) -> str:
    """An artifact directory as given, or — when no such directory exists — the shipped
    artifact of that name (``kim-sst1-static`` ...: a wheel carries them as package data)."""
    from pathlib import Path

    from millicent.train.shipped import artifacts_dir

    if Path(spec).exists():
        return spec
    shipped = artifacts_dir() / spec
    return str(shipped) if (shipped / "manifest.json").is_file() else spec
