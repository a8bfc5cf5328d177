"""``millicent package | template | deploy | destroy``: the function on AWS Lambda."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from millicent.cli._common import add_model_specs
from millicent.deploy.target import ARCHITECTURES, DEFAULT_ARCH, DEFAULT_PYTHON, RUNTIME_OS
from millicent.deploy.template import (
    BILLING_MODES,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    GATEWAYS,
)
from millicent.errors import ConfigError

WHEEL_DIR_ENV = "MILLICENT_WHEEL_DIR"


def register(sub: Any) -> None:
    """Add the four verbs to the CLI."""

    def target_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--arch", choices=ARCHITECTURES, default=DEFAULT_ARCH,
                       help=f"Lambda architecture (default {DEFAULT_ARCH})")
        p.add_argument("--python", choices=list(RUNTIME_OS), default=DEFAULT_PYTHON,
                       help=f"Lambda Python runtime (default {DEFAULT_PYTHON})")

    def stack_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--gateway", choices=GATEWAYS, default="url",
                       help="url: Function URL (default, no per-request gateway charge); "
                            "http: API Gateway HTTP API; none: no public endpoint")
        p.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB,
                       help=f"function memory (default {DEFAULT_MEMORY_MB})")
        p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S, help="function timeout in s")
        p.add_argument("--billing-mode", choices=BILLING_MODES, default="PAY_PER_REQUEST",
                       help="DynamoDB table billing (default on-demand)")

    def aws_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stack", required=True, help="CloudFormation stack name")
        p.add_argument("--region", required=True, help="AWS region, e.g. us-east-1")
        p.add_argument("--profile", default=None, help="AWS credentials profile (~/.aws/config)")
        p.add_argument("--bucket", default=None,
                       help="S3 bucket for the code (default millicent-<account>-<region>, created)")
        p.add_argument("--endpoint-url", default=None,
                       help="custom AWS endpoint (moto, LocalStack); default: AWS itself")

    p = sub.add_parser("package", help="build the AWS Lambda zip (and its Dockerfile)")
    add_model_specs(p)
    p.add_argument("--pack", default=None, help="frequent-word pack file to bundle")
    target_args(p)
    p.add_argument("--wheel-dir", default=os.environ.get(WHEEL_DIR_ENV) or None,
                   help=f"take wheels from this directory instead of downloading (default ${WHEEL_DIR_ENV})")
    p.add_argument("--out", default="dist", help="output directory (default dist/)")
    p.set_defaults(func=cmd_package)

    p = sub.add_parser("template", help="write the CloudFormation template (also for `sam deploy`)")
    stack_args(p)
    target_args(p)
    p.add_argument("--out", required=True, help="template file to write (JSON)")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("deploy", help="upload the package, create/update the stack, load the table")
    aws_args(p)
    stack_args(p)
    p.add_argument("--package", default=None,
                   help="the zip from `millicent package` (default: the only one in dist/)")
    p.add_argument("--reserved-concurrency", type=int, default=0,
                   help="cap on concurrent executions, a spending limit (default: none)")
    p.add_argument("--vectors", default=None,
                   help="vectors to load into the table (default: each model's embedding source)")
    p.add_argument("--data-dir", default=None, help="local datasets (for the default vectors)")
    p.add_argument("--no-load", action="store_true", help="do not load the embeddings")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("destroy", help="delete the stack, its table and the uploaded code")
    aws_args(p)
    p.add_argument("--keep-bucket", action="store_true", help="keep the (empty) default code bucket")
    p.set_defaults(func=cmd_destroy)


def cmd_package(args: argparse.Namespace) -> int:
    from millicent.config import parse_models
    from millicent.deploy.package import PackageSpec, build_package
    from millicent.deploy.sizes import SizeLimits
    from millicent.deploy.target import CREATE_BLOCKED, LambdaTarget

    models = [m for spec in args.model for m in parse_models(spec)]
    target = LambdaTarget(python=args.python, arch=args.arch)
    limits = SizeLimits()
    built = build_package(PackageSpec(
        models=tuple((name, Path(d)) for name, d in models),
        out_dir=Path(args.out),
        pack=Path(args.pack) if args.pack else None,
        target=target,
        wheel_dir=Path(args.wheel_dir) if args.wheel_dir else None,
        limits=limits,
    ))
    print(built.sizes.format(limits))
    print(f"\n{built.zip_path}  ({built.sizes.zipped / 2**20:.2f} MB zipped, "
          f"{built.sizes.unzipped / 2**20:.2f} MB unzipped, sha256 {built.sha256[:16]}…)")
    print(f"{built.dockerfile_path}  (container-image variant: same files, same handler)")
    print(f"wheels: {', '.join(built.manifest['wheels'])}; environment: "
          + " ".join(f"{k}={v}" for k, v in built.manifest["environment"].items()))
    if target.python in CREATE_BLOCKED:
        print(f"note: AWS no longer creates {target.runtime} functions; this package is for the "
              f"local platform (use --python 3.12+ for AWS)")
    return 0


def _template_options(args: argparse.Namespace, target: Any = None) -> Any:
    from millicent.deploy.target import LambdaTarget
    from millicent.deploy.template import TemplateOptions

    return TemplateOptions(
        gateway=args.gateway, memory_mb=args.memory_mb, timeout_s=args.timeout,
        billing_mode=args.billing_mode,
        target=target or LambdaTarget(python=getattr(args, "python", "3.12"), arch=getattr(args, "arch", "x86_64")),
    )


def cmd_template(args: argparse.Namespace) -> int:
    from millicent.deploy.template import write_template

    options = _template_options(args)
    options.target.check_deployable()
    path = write_template(args.out, options)
    print(f"wrote {path} ({options.gateway}, {options.target.runtime} {options.target.arch}, "
          f"{options.memory_mb} MB). Parameters CodeBucket and CodeKey are required; "
          f"`millicent deploy` fills them, or: aws cloudformation deploy --template-file {path} "
          f"--stack-name NAME --capabilities CAPABILITY_IAM --parameter-overrides CodeBucket=... CodeKey=...")
    return 0


def _find_package(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    found = sorted(Path("dist").glob("millicent-function-*.zip"))
    if len(found) != 1:
        raise ConfigError("pass --package ZIP (found "
                          + (", ".join(map(str, found)) or "no package in dist/; run `millicent package`")
                          + ")")
    return found[0]


def cmd_deploy(args: argparse.Namespace) -> int:
    from millicent.deploy.stack import AwsTarget, deploy

    package = _find_package(args.package)
    loader = None if args.no_load else _loader(args, package)
    params = {"ReservedConcurrency": str(args.reserved_concurrency)}
    result = deploy(AwsTarget(args.region, args.profile, args.endpoint_url), args.stack, package,
                    options=_template_options(args), bucket=args.bucket, parameters=params,
                    loader=loader)
    print(f"stack {result.stack}: {result.status}")
    print(f"table: {result.table}" + (f" ({result.loaded_items} vectors loaded)"
                                      if result.loaded_items is not None else ""))
    print(f"function: {result.outputs.get('FunctionName')}")
    print(f"endpoint: {result.endpoint or '(none: --gateway none; invoke through the Lambda API)'}")
    return 0


def _loader(args: argparse.Namespace, package: Path) -> Any:
    from millicent.deploy.embeddings import make_loader, vectors_spec
    from millicent.deploy.package import read_package_manifest

    spec = vectors_spec(read_package_manifest(package), args.vectors)
    return make_loader(spec, args.data_dir)


def cmd_destroy(args: argparse.Namespace) -> int:
    from millicent.deploy.stack import AwsTarget, destroy

    destroy(AwsTarget(args.region, args.profile, args.endpoint_url), args.stack,
            bucket=args.bucket, keep_bucket=args.keep_bucket)
    print(f"stack {args.stack} destroyed")
    return 0
