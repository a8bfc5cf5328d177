"""A small real Lambda handler the platform tests run in real environment processes.

``handler(event, context)`` does what the event's ``action`` says, so one function can
exercise every platform path: echo the event and the context awslambdaric built, sleep
(timeouts, concurrency), burn CPU, allocate memory, print, raise a millicent error, exit
the process (crash), answer an oversized payload. API Gateway v2 events are answered with
a proxy response echoing the decoded body.

``missing`` does not exist on purpose: ``tests.lambda_functions.missing`` fails at init.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from typing import Any

from millicent import errors

_STARTED = time.time()
_INVOCATIONS = 0
_HOLD: list[bytearray] = []


def _context(context: Any) -> dict[str, Any]:
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "runtime_api": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
    }


def handler(event: Any, context: Any) -> Any:
    global _INVOCATIONS
    _INVOCATIONS += 1
    base = {"pid": os.getpid(), "invocation": _INVOCATIONS, "context": _context(context)}
    if isinstance(event, dict) and event.get("version") == "2.0":
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        inner = json.loads(raw) if raw else {}
        result = handler(inner, context) if isinstance(inner, dict) and "action" in inner else {}
        body = {**base, "path": event["rawPath"], "method": event["requestContext"]["http"]["method"],
                "headers": event["headers"], "isBase64Encoded": event["isBase64Encoded"],
                "decoded_body": raw, "result": result}
        status = int(inner.get("status", 200)) if isinstance(inner, dict) else 200
        return {"statusCode": status, "headers": {"content-type": "application/json", "x-fixture": "1"},
                "body": json.dumps(body)}
    action = event.get("action", "echo") if isinstance(event, dict) else "echo"
    if action == "echo":
        return {**base, "event": event}
    if action == "sleep":
        time.sleep(float(event["seconds"]))
        return base
    if action == "burn":
        end = time.process_time() + float(event["ms"]) / 1000.0
        while time.process_time() < end:
            pass
        return base
    if action == "alloc":
        _HOLD.append(bytearray(int(event["mb"]) * 1024 * 1024))
        return base
    if action == "print":
        print(event["text"])
        return base
    if action == "raise":
        cls = getattr(errors, event.get("type", "InvalidInput"))
        raise cls(event.get("message", "fixture error"))
    if action == "bug":
        raise ValueError("a bug in the handler")
    if action == "exit":
        sys.stdout.flush()
        os._exit(int(event.get("code", 3)))
    if action == "big":
        return {"blob": "x" * int(event["bytes"])}
    return {**base, "unknown_action": action}
