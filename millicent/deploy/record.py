"""The deployment record: what ``millicent deploy`` made, for the tools that call it.

``deploy`` writes ``runs/deploy/<stack>.json`` (``--record FILE`` elsewhere): stack, region,
profile, endpoint, function, auth, SnapStart version, the concurrency cap in force and the
worst case it allows. ``invoke`` and ``bench`` read it (``--deployment FILE``, or the record
whose endpoint is the one they call) to sign their requests when the auth is ``iam``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from millicent.errors import DataError
from millicent.jsonfile import read_json_object

if TYPE_CHECKING:
    from millicent.deploy.aws import AwsTarget
    from millicent.deploy.stack import Deployment

DEFAULT_DIR = Path("runs/deploy")


def record_path(stack: str, explicit: str | Path | None = None) -> Path:
    return Path(explicit) if explicit else DEFAULT_DIR / f"{stack}.json"


def deployment_record(result: Deployment, target: AwsTarget, bill: dict[str, Any]) -> dict[str, Any]:
    """What a deployment made, as ``deploy`` writes it (``bill``: the worst case it allows)."""
    o = result.options
    return {"stack": result.stack, "region": target.region, "profile": target.profile,
            "aws_endpoint_url": target.endpoint_url, "endpoint": result.endpoint,
            "function": result.outputs.get("FunctionName"), "outputs": result.outputs,
            "auth": o.auth, "gateway": o.gateway, "snapstart": o.snapstart,
            "version": result.version, "reserved_concurrency": o.reserved_concurrency,
            "account": result.account.to_dict() if result.account else None, "bill": bill}


def write_record(path: Path, record: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def read_record(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    data = read_json_object(p, "deployment record", DataError)
    if "stack" not in data:
        raise DataError(f"{p} is not a millicent deployment record")
    return data


def _same(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def find_record(endpoint: str, directory: Path = DEFAULT_DIR) -> dict[str, Any] | None:
    """The record of the deployment serving ``endpoint`` (None when there is none)."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.glob("*.json")):
        try:
            record = read_record(path)
        except DataError:
            continue  # somebody else's file: not a record
        if record.get("endpoint") and _same(str(record["endpoint"]), endpoint):
            return record
    return None
