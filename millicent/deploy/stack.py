"""Deploy and destroy the function's CloudFormation stack with boto3.

``deploy``: upload the zip to S3 under a content-addressed key, create or update the stack
from :mod:`millicent.deploy.template`, wait for it, load the embeddings into its table and
return the endpoint. ``destroy``: delete the stack (table included) and the uploaded code.
Any DynamoDB / S3 / CloudFormation endpoint works (``endpoint_url``): AWS, or moto's server
on loopback in the tests. boto3 is imported here only, when a command runs (extra ``aws``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from millicent.deploy.account import (
    AccountConcurrency,
    check_reservation,
    current_reservation,
    read_account,
)
from millicent.deploy.aws import Aws, AwsError, AwsTarget, DeployError, call
from millicent.deploy.package import read_package_manifest
from millicent.deploy.target import LambdaTarget
from millicent.deploy.template import ALIAS, TemplateOptions, template_json

_DONE_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
#: Loads the embeddings into the stack's table; gets the store URL, returns items written.
Loader = Callable[[str], int]


@dataclass
class Deployment:
    """What :func:`deploy` did."""

    stack: str
    status: str
    bucket: str
    key: str
    outputs: dict[str, str] = field(default_factory=dict)
    loaded_items: int | None = None
    options: TemplateOptions = field(default_factory=TemplateOptions)
    account: AccountConcurrency | None = None
    region: str = ""
    version: str | None = None  #: SnapStart: the published version the alias serves

    @property
    def cap(self) -> tuple[int, str] | None:
        """The concurrency cap in force: the reservation, else the unreserved pool."""
        if self.account is None:
            return None
        return self.account.cap(self.options.reserved_concurrency)

    @property
    def endpoint(self) -> str | None:
        return self.outputs.get("EndpointUrl")

    @property
    def table(self) -> str:
        return self.outputs["TableName"]


def default_bucket(aws: Aws) -> str:
    """``millicent-<account>-<region>``: one code bucket per account and region."""
    sts = aws.client("sts")
    account = call("sts get-caller-identity", sts.get_caller_identity)["Account"]
    return f"millicent-{account}-{aws.where.region}"


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
            raise DeployError(f"bucket {bucket} exists but is not usable: {exc}") from exc
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    call(f"create bucket {bucket}", s3.create_bucket, **kwargs)
    call(f"block public access on {bucket}", s3.put_public_access_block, Bucket=bucket,
          PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                          "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def _stack_status(cf: Any, stack: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cf.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise DeployError(f"describe stack {stack}: {exc}") from exc
    return str(stacks[0]["StackStatus"]) if stacks else None


def failure_reasons(cf: Any, stack: str, limit: int = 5) -> list[str]:
    """``"Function (AWS::Lambda::Function) CREATE_FAILED: reason"`` for the failed resources."""
    events = call("describe stack events", cf.describe_stack_events, StackName=stack)["StackEvents"]
    out = []
    for e in events:  # newest first
        if str(e.get("ResourceStatus", "")).endswith("_FAILED") and e.get("LogicalResourceId") != stack:
            out.append(f"{e['LogicalResourceId']} ({e.get('ResourceType', '?')}) "
                       f"{e['ResourceStatus']}: {e.get('ResourceStatusReason', 'no reason given')}")
            if len(out) >= limit:
                break
    return out


def wait_stack(cf: Any, stack: str, poll_s: float = 5.0, timeout_s: float = 1800.0,
               gone_ok: bool = False) -> str:
    """Poll until the stack leaves ``*_IN_PROGRESS``; DeployError with reasons on failure."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = _stack_status(cf, stack)
        if status is None and gone_ok:
            return "DELETE_COMPLETE"
        if status is None:
            raise DeployError(f"stack {stack} disappeared")
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise DeployError(f"stack {stack} still {status} after {timeout_s:.0f} s")
        time.sleep(poll_s)
    if status not in _DONE_OK:
        reasons = failure_reasons(cf, stack)
        raise DeployError(f"stack {stack} ended in {status}: " + ("; ".join(reasons) or "no reason reported"),
                          stack_status=status, reasons=reasons)
    return status


def _outputs(cf: Any, stack: str) -> dict[str, str]:
    stacks = call("describe stack", cf.describe_stacks, StackName=stack)["Stacks"]
    return {o["OutputKey"]: str(o["OutputValue"]) for o in stacks[0].get("Outputs", [])}


@dataclass(frozen=True)
class StackRequest:
    """What to deploy: the stack, the package, the template's options and where the code goes."""

    stack: str
    package: Path
    options: TemplateOptions = field(default_factory=TemplateOptions)
    bucket: str | None = None  #: None: millicent-<account>-<region>, created
    #: the account's concurrency limit, used when GetAccountSettings cannot be read
    account_concurrency: int | None = None


def _options_for(request: StackRequest, manifest: dict[str, Any], data: bytes) -> TemplateOptions:
    """The template's options: runtime and architecture from the package, the code's hash."""
    target = LambdaTarget(python=str(manifest["python"]), arch=str(manifest["arch"]))
    target.check_deployable()
    return replace(request.options, target=target, code_sha256=hashlib.sha256(data).hexdigest())


def _check_account(aws: Aws, cf: Any, request: StackRequest, log: Callable[[str], None]) -> AccountConcurrency:
    """The account's concurrency; a reservation it cannot grant is refused here, before
    anything is created."""
    lam = aws.client("lambda")
    reserved = request.options.reserved_concurrency
    account = read_account(lam, request.account_concurrency, need=reserved is not None)
    if reserved is not None:
        current = 0
        if _stack_status(cf, request.stack) is not None:
            current = current_reservation(lam, _outputs(cf, request.stack).get("FunctionName"))
        check_reservation(reserved, account, current)
    log(f"account concurrency: limit {account.limit}, {account.unreserved} unreserved ({account.source})")
    return account


def _parameters(opts: TemplateOptions, manifest: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    env = manifest.get("environment", {})
    # Everything explicit: on an update, an omitted parameter would keep the old value.
    params: dict[str, Any] = {
        "CodeBucket": bucket, "CodeKey": key, "Architecture": opts.target.arch,
        "MemorySize": opts.memory_mb, "Timeout": opts.timeout_s, "TableBillingMode": opts.billing_mode,
        "Models": env.get("MILLICENT_MODELS", ""), "Pack": env.get("MILLICENT_PACK") or ""}
    if opts.reserved_concurrency is not None:
        params["ReservedConcurrency"] = opts.reserved_concurrency
    if opts.budget_usd is not None:
        params["BudgetUsd"] = opts.budget_usd
    return params


def _create_or_update(cf: Any, stack: str, args: dict[str, Any], poll_s: float,
                      log: Callable[[str], None]) -> str:
    status = _stack_status(cf, stack)
    if status == "ROLLBACK_COMPLETE":  # a failed first creation can only be deleted
        log(f"stack {stack} is {status} from an earlier failed creation: deleting it first")
        call("delete stack", cf.delete_stack, StackName=stack)
        wait_stack(cf, stack, poll_s, gone_ok=True)
        status = None
    if status is None:
        log(f"creating stack {stack}")
        call("create stack", cf.create_stack, **args, OnFailure="ROLLBACK")
    else:
        log(f"updating stack {stack} ({status})")
        try:
            call("update stack", cf.update_stack, **args)
        except AwsError as exc:
            if "No updates are to be performed" not in exc.message:
                raise
            log("stack already up to date")
    return wait_stack(cf, stack, poll_s)


def verify_published(lam: Any, function: str, code_sha256: str, log: Callable[[str], None]) -> str | None:
    """SnapStart: the alias must serve a version of exactly the uploaded code; returns the
    version. DeployError when it serves other code (a version CloudFormation did not
    republish); a missing alias is logged (moto's CloudFormation creates none)."""
    import base64

    try:
        alias = call(f"get alias {ALIAS}", lam.get_alias, FunctionName=function, Name=ALIAS)
    except AwsError as exc:
        log(f"cannot verify the published version: {exc.message}")
        return None
    version = str(alias["FunctionVersion"])
    conf = call(f"get version {version}", lam.get_function_configuration,
                FunctionName=function, Qualifier=version)
    want = base64.b64encode(bytes.fromhex(code_sha256)).decode()
    if conf.get("CodeSha256") != want:
        raise DeployError(f"alias {ALIAS} serves version {version} whose code is "
                          f"{conf.get('CodeSha256')}, not the uploaded {want}: it was not republished")
    log(f"alias {ALIAS} → version {version}: the uploaded code")
    return version


def deploy(where: AwsTarget, request: StackRequest, loader: Loader | None = None,
           poll_s: float = 5.0, log: Callable[[str], None] = print) -> Deployment:
    """Check the account, upload the package, create or update the stack, load the embeddings.

    The template's architecture and runtime come from the package's manifest (its wheels
    fit nothing else); the code's SHA-256 names the published version (SnapStart).
    """
    manifest = read_package_manifest(request.package)
    data = Path(request.package).read_bytes()
    opts = _options_for(request, manifest, data)
    aws = Aws(where)
    s3, cf = aws.client("s3"), aws.client("cloudformation")
    account = _check_account(aws, cf, request, log)
    bucket = request.bucket or default_bucket(aws)
    key = f"{request.stack}/{hashlib.sha256(data).hexdigest()[:16]}.zip"
    _ensure_bucket(s3, bucket, where.region)
    log(f"uploading {Path(request.package).name} ({len(data) / 2**20:.1f} MB) to s3://{bucket}/{key}")
    call("upload the package", s3.put_object, Bucket=bucket, Key=key, Body=data)
    params = _parameters(opts, manifest, bucket, key)
    args = {"StackName": request.stack, "TemplateBody": template_json(opts),
            "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in params.items()],
            "Capabilities": ["CAPABILITY_IAM"],
            "Tags": [{"Key": "millicent:stack", "Value": request.stack}]}
    log(f"{opts.gateway} ({opts.auth} auth), {opts.target.runtime} {opts.target.arch}, "
        f"{opts.memory_mb} MB" + (", SnapStart" if opts.snapstart else ""))
    final = _create_or_update(cf, request.stack, args, poll_s, log)
    result = Deployment(stack=request.stack, status=final, bucket=bucket, key=key,
                        outputs=_outputs(cf, request.stack), options=opts, account=account,
                        region=where.region)
    if opts.snapstart and opts.code_sha256:
        result.version = verify_published(aws.client("lambda"), result.outputs["FunctionName"],
                                          opts.code_sha256, log)
    if loader is not None:
        log(f"loading the embeddings into {result.table}")
        result.loaded_items = loader(aws.store_url(result.table))
    return result


def destroy(
    where: AwsTarget,
    stack: str,
    bucket: str | None = None,
    keep_bucket: bool = False,
    poll_s: float = 5.0,
    log: Callable[[str], None] = print,
) -> None:
    """Delete ``stack`` (function, table, role, log group, gateway) and its uploaded code.

    The default code bucket is removed too once empty, unless ``keep_bucket``.
    """
    aws = Aws(where)
    s3, cf = aws.client("s3"), aws.client("cloudformation")
    if _stack_status(cf, stack) is None:
        log(f"stack {stack} does not exist in {where.region}")
    else:
        log(f"deleting stack {stack}")
        call("delete stack", cf.delete_stack, StackName=stack)
        wait_stack(cf, stack, poll_s, gone_ok=True)
    managed = bucket is None
    bucket = bucket or default_bucket(aws)
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{stack}/")
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    for i in range(0, len(keys), 1000):
        call("delete code objects", s3.delete_objects, Bucket=bucket,
              Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
    if keys:
        log(f"deleted {len(keys)} code object(s) from s3://{bucket}/{stack}/")
    if managed and not keep_bucket and not s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount"):
        call("delete bucket", s3.delete_bucket, Bucket=bucket)
        log(f"deleted empty bucket {bucket}")
