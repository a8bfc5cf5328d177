"""The local platform as a real process: real awslambdaric environments, real sockets.

Functions run ``tests.lambda_functions.handler`` (echo / sleep / crash / raise ...), so every
scaling and failure path of the platform is exercised without the models. The millicent
handler itself is covered by tests/integration/platform/test_serve_models.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess, pid_alive, start_platform, wait_until

pytestmark = pytest.mark.integration

ECHO = "echo=tests.lambda_functions.handler"
BROKEN = "broken=tests.lambda_functions.missing"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = start_platform(
        ["--function", ECHO, "--function", BROKEN, "--max-concurrency", "3", "--timeout", "2",
         "--idle-timeout", "120", "--max-body-bytes", "10000"],
        tmp_path_factory.mktemp("platform"),
    )
    yield p
    assert p.stop() == 0


def test_cold_then_warm_with_lambda_context(platform: PlatformProcess) -> None:
    first = platform.post("/echo", {"action": "echo"})
    second = platform.post("/echo", {"action": "echo"})
    assert first.status == second.status == 200
    if first.headers["x-millicent-cold"] == "1":  # the first request of the module
        assert float(first.headers["x-millicent-init-ms"]) > 0
    assert second.headers["x-millicent-cold"] == "0"
    assert second.headers["x-millicent-init-ms"] == "0"
    a, b = first.json(), second.json()
    assert a["pid"] == b["pid"], "a warm environment is reused"
    ctx = b["context"]
    assert ctx["aws_request_id"] == second.headers["x-millicent-request-id"]
    assert ctx["function_name"] == "echo" and ctx["function_version"] == "$LATEST"
    assert ctx["memory_limit_in_mb"] == "128"
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert ctx["log_group_name"] == "/aws/lambda/echo"
    assert 0 < ctx["remaining_ms"] <= 2000  # deadline header = now + the 2 s timeout
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", ctx["trace_id"])
    assert b["path"] == "/echo" and b["method"] == "POST"
    for h in ("x-millicent-duration-ms", "x-millicent-billed-ms", "x-millicent-cpu-ms",
              "x-millicent-max-memory-mb", "apigw-requestid"):
        assert h in second.headers


def test_body_without_content_type_arrives_base64(platform: PlatformProcess) -> None:
    r = platform.post("/echo", '{"input": "no content type"}')
    body = r.json()
    assert body["isBase64Encoded"] is True and "content-type" not in body["headers"]
    assert body["decoded_body"] == '{"input": "no content type"}'
    r = platform.post("/echo", '{"a": 1}', headers={"Content-Type": "application/json"})
    assert r.json()["isBase64Encoded"] is False


def test_cpu_and_memory_are_measured(platform: PlatformProcess) -> None:
    r = platform.post("/echo", {"action": "burn", "ms": 40})
    assert r.status == 200
    assert 35 <= float(r.headers["x-millicent-cpu-ms"]) <= float(r.headers["x-millicent-duration-ms"]) + 5
    before = float(r.headers["x-millicent-max-memory-mb"])
    r = platform.post("/echo", {"action": "alloc", "mb": 40})
    assert float(r.headers["x-millicent-max-memory-mb"]) >= before + 35


def test_handler_errors_map_to_status(platform: PlatformProcess) -> None:
    cases = [("InvalidInput", 400, "invalid_input"), ("StoreUnavailable", 503, "store_unavailable"),
             ("PayloadTooLarge", 413, "payload_too_large")]
    for error_type, status, code in cases:
        r = platform.post("/echo", {"action": "raise", "type": error_type, "message": "why"})
        assert r.status == status
        assert r.json() == {"error": code, "message": "why", "errorType": error_type}
    r = platform.post("/echo", {"action": "bug"})
    assert r.status == 502 and r.json()["errorType"] == "ValueError"
    assert platform.post("/echo", {"action": "echo"}).status == 200  # the environment lives on


def test_crash_gives_502_then_a_fresh_environment(platform: PlatformProcess) -> None:
    pid = platform.post("/echo", {"action": "echo"}).json()["pid"]
    r = platform.post("/echo", {"action": "exit", "code": 3})
    assert r.status == 502
    assert r.json()["errorType"] == "Runtime.ExitError" and "exit status 3" in r.json()["message"]
    after = platform.post("/echo", {"action": "echo"})
    assert after.status == 200
    assert after.json()["pid"] != pid or not pid_alive(pid)


def test_killing_an_environment_mid_request_gives_one_502(platform: PlatformProcess) -> None:
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(platform.post, "/echo", {"action": "sleep", "seconds": 1.5})
        busy: list[int] = []

        def find_busy() -> bool:
            busy[:] = [e["pid"] for e in platform.stats()["environment_details"]
                        if e["busy"] and e["pid"]]
            return bool(busy)

        assert wait_until(find_busy, 5)
        os.kill(busy[0], signal.SIGKILL)
        r = pending.result(10)
    assert r.status == 502 and "signal 9" in r.json()["message"]
    assert wait_until(lambda: not pid_alive(busy[0]), 5)
    for _ in range(3):
        assert platform.post("/echo", {"action": "echo"}).status == 200


def test_timeout_kills_the_environment_504(platform: PlatformProcess) -> None:
    t0 = time.monotonic()
    r = platform.post("/echo", {"action": "sleep", "seconds": 10})
    took = time.monotonic() - t0
    assert r.status == 504 and r.json()["errorType"] == "Sandbox.Timedout"
    assert "timed out after 2.00 seconds" in r.json()["message"]
    assert 1.9 <= took < 5
    pid = int(json.loads((platform.log_dir / "invocations.jsonl").read_text().splitlines()[-1])["pid"])
    assert wait_until(lambda: not pid_alive(pid), 5)
    assert platform.post("/echo", {"action": "echo"}).status == 200


def test_concurrency_limit_throttles_with_429(platform: PlatformProcess) -> None:
    throttles_before = platform.stats()["throttles"]
    with ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(lambda _: platform.post("/echo", {"action": "sleep", "seconds": 1}), range(5)))
    codes = sorted(r.status for r in replies)
    assert codes == [200, 200, 200, 429, 429]
    assert len({r.json()["pid"] for r in replies if r.status == 200}) == 3  # one request per environment
    throttled = [r.json() for r in replies if r.status == 429]
    assert all(t["error"] == "too_many_requests" for t in throttled)
    assert platform.stats()["throttles"] == throttles_before + 2


def test_init_error_is_502_and_leaves_no_environment(platform: PlatformProcess) -> None:
    r = platform.post("/broken", {})
    assert r.status == 502
    assert r.json()["errorType"] == "Runtime.HandlerNotFound"
    assert wait_until(lambda: platform.stats()["environments"]["broken"] == 0, 5)


def test_gateway_limits_and_routes(platform: PlatformProcess) -> None:
    r = platform.post("/echo", json.dumps({"x": "y" * 20000}))
    assert r.status == 413 and r.json()["error"] == "payload_too_large"
    r = platform.post("/nope", {})
    assert r.status == 404 and "/echo" in r.json()["message"]
    r = platform.request("GET", "/")
    assert r.status == 404 and r.json()["error"] == "not_found"
    r = platform.post("/echo", {"action": "big", "bytes": 7 * 1024 * 1024})
    assert r.status == 502 and r.json()["errorType"] == "Function.ResponseSizeTooLarge"


def test_boto3_invoke(platform: PlatformProcess) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client("lambda", endpoint_url=platform.url, region_name="us-east-1",
                          config=Config(retries={"max_attempts": 0}))
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    r = client.invoke(FunctionName="echo", Payload=json.dumps({"action": "echo", "n": 1}),
                      LogType="Tail", ClientContext=context)
    body = json.loads(r["Payload"].read())
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert r["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"action": "echo", "n": 1}
    assert body["context"]["client_context"] == {"k": "v"}
    log = base64.b64decode(r["LogResult"]).decode()
    assert "START RequestId" in log and "REPORT RequestId" in log and "Billed Duration" in log

    r = client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo",
                      Payload=json.dumps({"action": "raise", "type": "InvalidInput", "message": "bad"}))
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    err = json.loads(r["Payload"].read())
    assert (err["errorType"], err["errorMessage"]) == ("InvalidInput", "bad")

    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="nope", Payload=b"{}")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="echo", Payload=b"not json")
    assert client.invoke(FunctionName="echo", InvocationType="DryRun")["StatusCode"] == 204


def test_records_and_stats(platform: PlatformProcess) -> None:
    records = platform.records()
    stats = platform.stats()
    assert len(records) == stats["invocations"] > 0
    assert stats["cold_starts"] == sum(r["cold"] for r in records)
    assert stats["errors"] == sum(r["status"] != "ok" for r in records)
    assert stats["environments"]["echo"] == len(platform.env_pids("echo")) >= 1
    for r in records:
        assert r["billed_ms"] >= r["duration_ms"] or r["status"] == "init_error"
        assert r["billed_ms_100"] % 100 == 0
        assert (r["init_ms"] is not None) == r["cold"]
    statuses = {r["status"] for r in records}
    assert {"ok", "function_error", "crash", "timeout", "init_error"} <= statuses


def test_idle_reaping_api_key_and_shutdown(tmp_path: Path) -> None:
    key = "s3cret"
    p = start_platform(["--function", ECHO, "--idle-timeout", "1"], tmp_path, env={"MILLICENT_API_KEY": key})
    try:
        auth = {"x-api-key": key}
        assert p.post("/echo", {}).status == 401
        assert p.post("/echo", {}, headers={"x-api-key": "wrong"}).status == 403
        assert p.request("GET", "/_millicent/stats").status == 401
        r = p.post("/echo", {"action": "echo"}, headers=auth)
        assert r.status == 200 and r.headers["x-millicent-cold"] == "1"
        pid = r.json()["pid"]
        assert p.post("/echo", {}, headers=auth).headers["x-millicent-cold"] == "0"
        # scale to zero: no environment process remains after the idle timeout
        assert wait_until(lambda: p.stats(auth)["environments"]["echo"] == 0, 5)
        assert wait_until(lambda: not pid_alive(pid), 5)
        r = p.post("/echo", {"action": "echo"}, headers=auth)
        assert r.headers["x-millicent-cold"] == "1" and r.json()["pid"] != pid
        last = r.json()["pid"]
        # boto3 sends the key through an event hook (documented in docs/platform.md)
        import boto3

        lam = boto3.client("lambda", endpoint_url=p.url, region_name="us-east-1")

        def add_key(request: Any, **_: Any) -> None:
            request.headers["x-api-key"] = key

        lam.meta.events.register("before-sign.lambda.Invoke", add_key)
        assert json.loads(lam.invoke(FunctionName="echo", Payload=b"{}")["Payload"].read())["pid"] == last
        # a request in flight at shutdown gets its answer (502) and its record
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(p.post, "/echo", {"action": "sleep", "seconds": 5}, headers=auth)
            assert wait_until(lambda: p.stats(auth)["in_flight"] == 1, 5)
            code = p.stop()
            assert pending.result(10).status == 502
    finally:
        code = p.stop()
    assert code == 0
    assert wait_until(lambda: not pid_alive(last), 5), "shutdown kills the environments"
    assert "Traceback" not in (tmp_path / "serve.stderr").read_text()
    assert p.records()[-1]["status"] == "crash"


def test_asyncio_event_loop_serves_too(tmp_path: Path) -> None:
    # uvloop is the default when installed; asyncio's own loop is the fallback without it
    p = start_platform(["--function", ECHO, "--loop", "asyncio"], tmp_path)
    try:
        for cold in ("1", "0"):
            r = p.post("/echo", {"action": "echo"})
            assert r.status == 200 and r.headers["x-millicent-cold"] == cold
        assert "asyncio event loop" in (tmp_path / "serve.stderr").read_text()
    finally:
        assert p.stop() == 0
    assert [rec["status"] for rec in p.records()] == ["ok", "ok"]


def test_init_failure_is_a_502_naming_it_and_the_next_request_inits_again(tmp_path: Path) -> None:
    """Lambda's INIT contract: the handler module raises at import (its store is down), the
    runtime client posts /init/error and exits; the answer is a 502 carrying the error as
    awslambdaric built it, and the next request runs INIT again in a new environment."""
    import boto3

    flag = tmp_path / "init-flag"
    flag.write_text("fail the store at 127.0.0.1:9 is down")
    p = start_platform(["--function", "init=tests.lambda_init.handler", "--env", f"INIT_FLAG={flag}",
                        "--env", "INIT_SLEEP_S=0.25"], tmp_path / "serve")
    try:
        down = p.post("/init", {})
        assert down.status == 502, down.body
        assert down.json() == {"error": "init_error", "errorType": "StoreUnavailable",
                               "message": "the store at 127.0.0.1:9 is down"}
        assert down.headers["x-millicent-cold"] == "1" and down.headers["x-millicent-init-kind"] == "init"
        lam = boto3.client("lambda", endpoint_url=p.url, region_name="us-east-1")
        r = lam.invoke(FunctionName="init", Payload=b"{}")
        assert r["FunctionError"] == "Unhandled"
        assert json.loads(r["Payload"].read())["errorType"] == "StoreUnavailable"
        records = p.records()
        assert [rec["status"] for rec in records] == ["init_error", "init_error"]
        log = (p.log_dir / "functions.log").read_text()
        assert "Status: init_error\tError Type: StoreUnavailable" in log
        assert wait_until(lambda: p.stats()["environments"]["init"] == 0, 5)
        flag.write_text("ok")
        back = p.post("/init", {})
        assert back.status == 200 and back.headers["x-millicent-cold"] == "1"
        assert back.json()["pid"] not in {rec["pid"] for rec in records}
        # the INIT phase (it sleeps 0.25 s) is reported apart from the invocation's Duration
        assert float(back.headers["x-millicent-init-ms"]) >= 250
        assert float(back.headers["x-millicent-duration-ms"]) < 100
        assert back.headers["x-millicent-restore-ms"] == "0"
        assert back.json()["initialization_type"] == "on-demand"
    finally:
        assert p.stop() == 0
