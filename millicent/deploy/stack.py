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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from millicent.deploy.aws import Aws, AwsError, AwsTarget, DeployError, call
from millicent.deploy.package import read_package_manifest
from millicent.deploy.target import LambdaTarget
from millicent.deploy.template import TemplateOptions, template_json

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


def deploy(
    where: AwsTarget,
    stack: str,
    package: str | Path,
    options: TemplateOptions | None = None,
    bucket: str | None = None,
    parameters: dict[str, str] | None = None,
    loader: Loader | None = None,
    poll_s: float = 5.0,
    log: Callable[[str], None] = print,
) -> Deployment:
    """Upload ``package``, create or update ``stack`` and load the embeddings.

    The template's architecture and runtime come from the package's manifest (its wheels
    fit nothing else); ``options`` chooses gateway, memory and billing mode.
    """
    manifest = read_package_manifest(package)
    target = LambdaTarget(python=str(manifest["python"]), arch=str(manifest["arch"]))
    target.check_deployable()
    base = options or TemplateOptions()
    opts = TemplateOptions(gateway=base.gateway, memory_mb=base.memory_mb, target=target,
                           timeout_s=base.timeout_s, billing_mode=base.billing_mode)
    aws = Aws(where)
    s3, cf = aws.client("s3"), aws.client("cloudformation")

    data = Path(package).read_bytes()
    bucket = bucket or default_bucket(aws)
    key = f"{stack}/{hashlib.sha256(data).hexdigest()[:16]}.zip"
    _ensure_bucket(s3, bucket, where.region)
    log(f"uploading {Path(package).name} ({len(data) / 2**20:.1f} MB) to s3://{bucket}/{key}")
    call("upload the package", s3.put_object, Bucket=bucket, Key=key, Body=data)

    env = manifest.get("environment", {})
    # Everything explicit: on an update, an omitted parameter would keep the old value.
    params = {"CodeBucket": bucket, "CodeKey": key, "Architecture": target.arch,
              "MemorySize": opts.memory_mb, "Timeout": opts.timeout_s,
              "TableBillingMode": opts.billing_mode,
              "Models": env.get("MILLICENT_MODELS", ""), "Pack": env.get("MILLICENT_PACK") or "",
              **(parameters or {})}
    args = {"StackName": stack, "TemplateBody": template_json(opts),
            "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in params.items()],
            "Capabilities": ["CAPABILITY_IAM"], "Tags": [{"Key": "millicent:stack", "Value": stack}]}

    status = _stack_status(cf, stack)
    if status == "ROLLBACK_COMPLETE":  # a failed first creation can only be deleted
        log(f"stack {stack} is {status} from an earlier failed creation: deleting it first")
        call("delete stack", cf.delete_stack, StackName=stack)
        wait_stack(cf, stack, poll_s, gone_ok=True)
        status = None
    if status is None:
        log(f"creating stack {stack} in {where.region} ({opts.gateway}, {target.runtime} {target.arch})")
        call("create stack", cf.create_stack, **args, OnFailure="ROLLBACK")
    else:
        log(f"updating stack {stack} ({status})")
        try:
            call("update stack", cf.update_stack, **args)
        except AwsError as exc:
            if "No updates are to be performed" not in exc.message:
                raise
            log("stack already up to date")
    final = wait_stack(cf, stack, poll_s)
    result = Deployment(stack=stack, status=final, bucket=bucket, key=key, outputs=_outputs(cf, stack))
    if loader is not None:
        url = aws.store_url(result.table)
        log(f"loading the embeddings into {result.table}")
        result.loaded_items = loader(url)
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
