"""``millicent package | template | deploy | destroy``: the function on AWS Lambda."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from millicent.cli._common import add_model_specs, artifact_path
from millicent.deploy.target import ARCHITECTURES, DEFAULT_ARCH, DEFAULT_PYTHON, RUNTIME_OS
from millicent.deploy.template import (
    ALIAS,
    AUTH_TYPES,
    BILLING_MODES,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    GATEWAYS,
)
from millicent.errors import ConfigError

WHEEL_DIR_ENV = "MILLICENT_WHEEL_DIR"


def _target_args(p: argparse.ArgumentParser) -> None:
    """Lambda runtime and architecture."""
    p.add_argument("--arch", choices=ARCHITECTURES, default=DEFAULT_ARCH,
                   help=f"Lambda architecture (default {DEFAULT_ARCH})")
    p.add_argument("--python", choices=list(RUNTIME_OS), default=DEFAULT_PYTHON,
                   help=f"Lambda Python runtime (default {DEFAULT_PYTHON})")


def _stack_args(p: argparse.ArgumentParser) -> None:
    """What the stack holds: gateway, memory, timeout, table billing, bounds."""
    p.add_argument("--gateway", choices=GATEWAYS, default="url",
                   help="url: Function URL (default, no per-request gateway charge); "
                        "http: API Gateway HTTP API; none: no public endpoint")
    p.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB,
                   help=f"function memory (default {DEFAULT_MEMORY_MB})")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S, help="function timeout in s")
    p.add_argument("--billing-mode", choices=BILLING_MODES, default="PAY_PER_REQUEST",
                   help="DynamoDB table billing (default on-demand)")
    _bound_args(p)


def _bound_args(p: argparse.ArgumentParser) -> None:
    """The options that bound the bill and the cold start (shared by template and deploy)."""
    p.add_argument("--reserved-concurrency", type=int, default=None, metavar="N",
                   help="cap on concurrent executions, which bounds the bill (default: none; "
                        "at least 1: on AWS a reservation of 0 blocks every request)")
    p.add_argument("--auth", choices=list(AUTH_TYPES), default="none",
                   help="Function URL auth: none (public, default) or iam (SigV4-signed "
                        "requests of this account's principals only)")
    p.add_argument("--budget-usd", type=float, default=None, metavar="N",
                   help="add an AWS Budgets monthly cost budget of N USD (notifications at 80 %% "
                        "and 100 %%)")
    p.add_argument("--budget-email", default=None, metavar="ADDR",
                   help="send the budget's notifications here (default: an SNS topic of the stack)")
    p.add_argument("--snapstart", action="store_true",
                   help="SnapStart (python3.12+): publish a version per code change behind "
                        f"the alias '{ALIAS}', and point the endpoint at the alias")


def _aws_args(p: argparse.ArgumentParser) -> None:
    """Where: stack, region, credentials, code bucket, endpoint."""
    p.add_argument("--stack", required=True, help="CloudFormation stack name")
    p.add_argument("--region", required=True, help="AWS region, e.g. us-east-1")
    p.add_argument("--profile", default=None, help="AWS credentials profile (~/.aws/config)")
    p.add_argument("--bucket", default=None,
                   help="S3 bucket for the code (default millicent-<account>-<region>, created)")
    p.add_argument("--endpoint-url", default=None,
                   help="custom AWS endpoint (moto, LocalStack); default: AWS itself")


def register(sub: Any) -> None:
    """Add the four verbs to the CLI."""
    p = sub.add_parser("package", help="build the AWS Lambda zip (and its Dockerfile)")
    add_model_specs(p)
    p.add_argument("--pack", default=None, help="frequent-word pack file to bundle")
    _target_args(p)
    p.add_argument("--wheel-dir", default=os.environ.get(WHEEL_DIR_ENV) or None,
                   help=f"take wheels from this directory instead of downloading (default ${WHEEL_DIR_ENV})")
    p.add_argument("--out", default="dist", help="output directory (default dist/)")
    p.add_argument("--via-s3", action="store_true",
                   help="the zip goes through S3 (as `millicent deploy` uploads it): only Lambda's "
                        "250 MB unzipped limit applies, not the 50 MB direct-upload one")
    p.set_defaults(func=cmd_package)

    p = sub.add_parser("template", help="write the CloudFormation template (also for `sam deploy`)")
    _stack_args(p)
    _target_args(p)
    p.add_argument("--package", default=None,
                   help="the zip it will run: its SHA-256 names the published version (SnapStart)")
    p.add_argument("--out", required=True, help="template file to write (JSON)")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("deploy", help="upload the package, create/update the stack, load the table")
    _aws_args(p)
    _stack_args(p)
    p.add_argument("--package", default=None,
                   help="the zip from `millicent package` (default: the only one in dist/)")
    p.add_argument("--account-concurrency", type=int, default=None, metavar="N",
                   help="the account's concurrency limit, when GetAccountSettings cannot be read "
                        "(another endpoint, no permission)")
    p.add_argument("--duration-ms", type=float, default=None, metavar="MS",
                   help="measured invocation duration (e.g. from `millicent cost`) for the "
                        "worst-case bill and the recommended cap")
    p.add_argument("--results", default=None, metavar="DIR",
                   help="a `millicent bench` run to take the measured duration from (projected "
                        "to --memory-mb) instead of --duration-ms")
    p.add_argument("--peak-qps", type=float, default=10.0,
                   help="peak request rate the recommended cap must serve (default 10)")
    p.add_argument("--record", default=None, metavar="FILE",
                   help="deployment record to write (default runs/deploy/<stack>.json)")
    p.add_argument("--vectors", default=None,
                   help="vectors to load into the table (default: each model's embedding source)")
    p.add_argument("--data-dir", default=None, help="local datasets (for the default vectors)")
    p.add_argument("--no-load", action="store_true", help="do not load the embeddings")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("destroy", help="delete the stack, its table and the uploaded code")
    _aws_args(p)
    p.add_argument("--keep-bucket", action="store_true", help="keep the (empty) default code bucket")
    p.set_defaults(func=cmd_destroy)


def cmd_package(args: argparse.Namespace) -> int:
    from millicent.config import parse_models
    from millicent.deploy.package import PackageSpec, build_package
    from millicent.deploy.sizes import S3_UPLOAD, SizeLimits
    from millicent.deploy.target import CREATE_BLOCKED, LambdaTarget

    models = [(name, artifact_path(path)) for spec in args.model for name, path in parse_models(spec)]
    target = LambdaTarget(python=args.python, arch=args.arch)
    limits = S3_UPLOAD if args.via_s3 else SizeLimits()
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
        reserved_concurrency=args.reserved_concurrency, auth=args.auth,
        budget_usd=args.budget_usd, budget_email=args.budget_email, snapstart=args.snapstart,
    )


def cmd_template(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from millicent.deploy.package import package_sha256
    from millicent.deploy.template import write_template

    options = _template_options(args)
    options.target.check_deployable()
    if args.package:
        options = replace(options, code_sha256=package_sha256(args.package, options.target))
    path = write_template(args.out, options)
    extras = [f"reserved concurrency {options.reserved_concurrency}"] if options.reserved_concurrency else []
    extras += [f"{options.auth} auth"] if options.gateway == "url" else []
    extras += ["SnapStart"] if options.snapstart else []
    extras += [f"budget ${options.budget_usd:g}/month"] if options.budget_usd else []
    print(f"wrote {path} ({options.gateway}, {options.target.runtime} {options.target.arch}, "
          f"{options.memory_mb} MB{''.join(', ' + e for e in extras)}). Parameters CodeBucket and "
          f"CodeKey are required; `millicent deploy` fills them, or: aws cloudformation deploy "
          f"--template-file {path} --stack-name NAME --capabilities CAPABILITY_IAM "
          f"--parameter-overrides CodeBucket=... CodeKey=...")
    if options.snapstart and not args.package:
        print(f"note: without --package the published version is {options.version_id}; after a "
              "code change, regenerate with --package ZIP (or use `millicent deploy`) so that a new "
              "version is published — a new CodeKey also republishes it through its description")
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
    from millicent.deploy.stack import AwsTarget, StackRequest, deploy

    package = _find_package(args.package)
    loader = None if args.no_load else _loader(args, package)
    request = StackRequest(args.stack, package, _template_options(args), args.bucket,
                           args.account_concurrency)
    where = AwsTarget(args.region, args.profile, args.endpoint_url)
    result = deploy(where, request, loader=loader)
    print(f"stack {result.stack}: {result.status}")
    print(f"table: {result.table}" + (f" ({result.loaded_items} vectors loaded)"
                                      if result.loaded_items is not None else ""))
    print(f"function: {result.outputs.get('FunctionName')}"
          + (f" (SnapStart: alias {ALIAS} → version {result.version or '? (not verified)'})"
             if result.options.snapstart else ""))
    print(f"endpoint: {result.endpoint or '(none: --gateway none; invoke through the Lambda API)'}"
          + (" (AWS_IAM: sign with SigV4, `millicent invoke` does)" if result.options.auth == "iam" else ""))
    from millicent.analysis.decisions import measured_duration
    from millicent.deploy.bill import bill_lines

    duration = args.duration_ms
    if duration is None and args.results:
        duration = measured_duration(args.results, result.options.memory_mb, result.options.target.arch)
    lines, summary = bill_lines(result, duration, args.peak_qps)
    for line in lines:
        print(line)
    from millicent.deploy.record import deployment_record, record_path, write_record

    record = deployment_record(result, where, summary)
    print(f"record: {write_record(record_path(result.stack, args.record), record)}")
    return 0


def _loader(args: argparse.Namespace, package: Path) -> Any:
    from millicent.deploy.embeddings import (
        artifact_loader,
        key_tokenizer,
        make_loader,
        token_table_model,
        vectors_spec,
    )
    from millicent.deploy.package import read_package_manifest

    manifest = read_package_manifest(package)
    if args.vectors and (Path(args.vectors) / "manifest.json").is_file():
        return artifact_loader(args.vectors, args.data_dir)  # the table an artifact names
    inside = token_table_model(manifest)
    if inside is not None and not args.vectors:  # a transformer's token table
        return artifact_loader(inside, args.data_dir, package=package)
    spec = vectors_spec(manifest, args.vectors)
    return make_loader(spec, args.data_dir, tokenizer=key_tokenizer(manifest))


def cmd_destroy(args: argparse.Namespace) -> int:
    from millicent.deploy.stack import AwsTarget, destroy

    destroy(AwsTarget(args.region, args.profile, args.endpoint_url), args.stack,
            bucket=args.bucket, keep_bucket=args.keep_bucket)
    print(f"stack {args.stack} destroyed")
    return 0
