"""A real Lambda handler with a module-scope INIT the platform tests control.

At import (the INIT phase) it records which process ran it, sleeps ``INIT_SLEEP_S`` (so an
Init Duration is visible apart from the invocation's Duration), and fails when the file
named by ``INIT_FLAG`` says ``fail <message>`` — raising a millicent ``StoreUnavailable``,
as a function whose store is down at INIT would. It registers ``snapshot_restore_py``
hooks that record the process they ran in, so a test can tell that INIT and the
before-snapshot hook ran once in the snapshot template and the after-restore hook in each
restored environment.

``handler(event, context)`` answers (for API Gateway v2 events, as a proxy response) the
pids, the hook records, the environment's invocation count and the initialization type.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

from snapshot_restore_py import register_after_restore, register_before_snapshot

from millicent.errors import StoreUnavailable

INIT = {"pid": os.getpid(), "at": time.time()}
HOOKS: dict[str, list[int]] = {"before_snapshot": [], "after_restore": []}
_INVOCATIONS = 0

_flag = os.environ.get("INIT_FLAG")
if _flag and Path(_flag).exists():
    _text = Path(_flag).read_text().strip()
    if _text.startswith("fail"):
        raise StoreUnavailable(_text[4:].strip() or "the store is down at INIT")
time.sleep(float(os.environ.get("INIT_SLEEP_S", "0")))


@register_before_snapshot
def _before() -> None:
    HOOKS["before_snapshot"].append(os.getpid())


@register_after_restore
def _after() -> None:
    HOOKS["after_restore"].append(os.getpid())
    if os.environ.get("RESTORE_FAIL") == "1":
        raise RuntimeError("the after-restore hook failed")


def handler(event: Any, context: Any) -> Any:
    global _INVOCATIONS
    _INVOCATIONS += 1
    body = {"pid": os.getpid(), "init_pid": INIT["pid"], "hooks": HOOKS,
            "invocation": _INVOCATIONS, "initialization_type":
                os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
            "log_stream": context.log_stream_name, "runtime_api": os.environ.get("AWS_LAMBDA_RUNTIME_API")}
    if isinstance(event, dict) and event.get("version") == "2.0":
        raw = event.get("body") or "{}"
        inner = json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)
        if isinstance(inner, dict) and inner.get("sleep"):
            time.sleep(float(inner["sleep"]))
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps(body)}
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(float(event["sleep"]))
    return body
