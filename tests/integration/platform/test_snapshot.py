"""``millicent serve --snapshot`` as a real process: INIT once per function in a template
process, every cold start a fork of it running the unmodified awslambdaric loop.

``tests.lambda_init`` records where its INIT and its snapshot_restore_py hooks ran, so
these tests see that INIT and the before-snapshot hook ran once, in the template, and the
after-restore hook in each restored environment; ``tests.lambda_functions`` exercises the
failure paths, which behave exactly as without snapshots (kill, timeout, crash, 429).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from millicent.testing.loopback import PlatformProcess, pid_alive, start_platform, wait_until

pytestmark = pytest.mark.integration

ECHO = "echo=tests.lambda_functions.handler"
INIT = "init=tests.lambda_init.handler"
BROKEN = "broken=tests.lambda_functions.missing"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = start_platform(
        ["--snapshot", "--function", ECHO, "--function", INIT, "--function", BROKEN,
         "--max-concurrency", "3", "--timeout", "2", "--idle-timeout", "120",
         "--env", "INIT_SLEEP_S=0.3"],
        tmp_path_factory.mktemp("snapshot"),
    )
    yield p
    assert p.stop() == 0


def report_lines(p: PlatformProcess, request_id: str) -> list[str]:
    return [line for line in (p.log_dir / "functions.log").read_text().splitlines()
            if f"REPORT RequestId: {request_id}" in line]


def test_init_runs_once_in_the_template_and_each_cold_start_restores(platform: PlatformProcess) -> None:
    snap = platform.stats()["snapshots"]["init"]
    assert snap["state"] == "ready" and snap["init_ms"] >= 300  # INIT_SLEEP_S, before listening
    with ThreadPoolExecutor(2) as pool:  # two environments at once: two restores
        first = list(pool.map(lambda _: platform.post("/init", {"sleep": 0.3}), range(2)))
    assert [r.status for r in first] == [200, 200]
    a, b = (r.json() for r in first)
    assert a["pid"] != b["pid"] and a["init_pid"] == b["init_pid"] == snap["pid"]
    assert a["init_pid"] not in (a["pid"], b["pid"])
    for r, body in zip(first, (a, b), strict=True):
        assert r.headers["x-millicent-cold"] == "1" and r.headers["x-millicent-init-kind"] == "restore"
        restore = float(r.headers["x-millicent-restore-ms"])
        assert 0 < restore < 300, "a restore does not run INIT (which sleeps 0.3 s)"
        assert r.headers["x-millicent-init-ms"] == "0"
        assert body["hooks"]["before_snapshot"] == [snap["pid"]]  # once, in the template
        assert body["hooks"]["after_restore"] == [body["pid"]]  # in this environment
        assert body["initialization_type"] == "snap-start" and body["invocation"] == 1
        (line,) = report_lines(platform, r.headers["x-millicent-request-id"])
        assert "Restore Duration: " in line and "Billed Restore Duration: " in line
        assert "Init Duration" not in line
    assert a["runtime_api"] != b["runtime_api"], "each environment has its own Runtime API"
    assert a["log_stream"] != b["log_stream"]
    warm = platform.post("/init", {})
    assert warm.headers["x-millicent-cold"] == "0" and "x-millicent-init-kind" not in warm.headers
    assert warm.headers["x-millicent-restore-ms"] == "0" and warm.json()["invocation"] == 2
    records = {r["request_id"]: r for r in platform.records()}
    rec = records[first[0].headers["x-millicent-request-id"]]
    assert rec["cold"] and rec["init_ms"] is None and rec["restore_ms"] > 0
    assert rec["billed_restore_ms"] >= rec["restore_ms"]


def test_failures_behave_as_without_snapshots(platform: PlatformProcess) -> None:
    assert platform.post("/echo", {"action": "echo"}).status == 200
    crash = platform.post("/echo", {"action": "exit", "code": 3})
    assert crash.status == 502 and "exit status 3" in crash.json()["message"]
    t0 = time.monotonic()
    timeout = platform.post("/echo", {"action": "sleep", "seconds": 10})
    assert timeout.status == 504 and timeout.json()["errorType"] == "Sandbox.Timedout"
    assert time.monotonic() - t0 < 5
    pid = int(platform.records()[-1]["pid"])
    assert wait_until(lambda: not pid_alive(pid), 5), "the timed-out environment is killed"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(platform.post, "/echo", {"action": "sleep", "seconds": 1.5})
        busy: list[int] = []

        def find_busy() -> bool:
            busy[:] = [e["pid"] for e in platform.stats()["environment_details"]
                        if e["busy"] and e["pid"]]
            return bool(busy)

        assert wait_until(find_busy, 5)
        os.kill(busy[0], signal.SIGKILL)
        killed = pending.result(10)
    assert killed.status == 502 and "signal 9" in killed.json()["message"]
    after = platform.post("/echo", {"action": "echo"})
    assert after.status == 200 and after.headers["x-millicent-init-kind"] == "restore"


def test_concurrency_limit_throttles_with_429(platform: PlatformProcess) -> None:
    with ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(lambda _: platform.post("/echo", {"action": "sleep", "seconds": 1}),
                                range(5)))
    assert sorted(r.status for r in replies) == [200, 200, 200, 429, 429]
    assert len({r.json()["pid"] for r in replies if r.status == 200}) == 3


def test_a_handler_that_cannot_load_is_a_502_with_its_init_error(platform: PlatformProcess) -> None:
    assert platform.stats()["snapshots"]["broken"]["state"] == "failed"
    r = platform.post("/broken", {})
    assert r.status == 502 and r.json()["error"] == "init_error"
    assert r.json()["errorType"] == "Runtime.HandlerNotFound"
    assert "missing" in r.json()["message"]
    assert platform.stats()["environments"]["broken"] == 0


def test_template_init_error_then_store_back_then_template_killed(tmp_path: Path) -> None:
    """INIT fails in the template (the store is down): the platform still listens, each
    cold start answers 502 with the error awslambdaric built and tries INIT again; once the
    store is back INIT succeeds. A template that dies is rebuilt by the next cold start."""
    flag = tmp_path / "init-flag"
    flag.write_text("fail the store at 127.0.0.1:9 is down")
    p = start_platform(["--snapshot", "--function", INIT, "--env", f"INIT_FLAG={flag}",
                        "--idle-timeout", "1"], tmp_path / "serve")
    try:
        down = p.post("/init", {})
        assert down.status == 502 and down.json()["error"] == "init_error"
        assert down.json()["errorType"] == "StoreUnavailable"
        assert down.json()["message"] == "the store at 127.0.0.1:9 is down"
        assert p.records()[-1]["status"] == "init_error"
        flag.write_text("ok")
        back = p.post("/init", {})
        assert back.status == 200 and back.headers["x-millicent-init-kind"] == "restore"
        assert float(back.headers["x-millicent-init-ms"]) > 0, "this request waited for INIT"
        snap = p.stats()["snapshots"]["init"]
        assert snap["state"] == "ready" and snap["builds"] == 3
        # scale to zero, then the template dies: the next cold start rebuilds it
        assert wait_until(lambda: p.stats()["environments"]["init"] == 0, 5)
        os.kill(snap["pid"], signal.SIGKILL)
        assert wait_until(lambda: p.stats()["snapshots"]["init"]["state"] != "ready", 5)
        again = p.post("/init", {})
        assert again.status == 200 and again.json()["init_pid"] != snap["pid"]
        assert p.stats()["snapshots"]["init"]["builds"] == 4
        (line,) = report_lines(p, again.headers["x-millicent-request-id"])
        assert "Restore Duration" in line and "Init Duration" in line  # it waited for both
    finally:
        assert p.stop() == 0
    stderr = (tmp_path / "serve" / "serve.stderr").read_text()
    assert "Traceback" not in stderr
    assert "init-template: snapshot INIT failed: StoreUnavailable: the store at 127.0.0.1:9 is down" in stderr


def test_after_restore_hook_failure_is_a_502(tmp_path: Path) -> None:
    p = start_platform(["--snapshot", "--function", INIT, "--env", "RESTORE_FAIL=1"], tmp_path)
    try:
        r = p.post("/init", {})
        assert r.status == 502 and r.json()["error"] == "init_error"
        assert r.json()["errorType"] == "RuntimeError"
        assert "after-restore hook failed" in r.json()["message"]
        rec = p.records()[-1]
        assert rec["status"] == "init_error" and rec["restore_ms"] is not None
    finally:
        assert p.stop() == 0


@pytest.mark.parametrize("loop", ["auto", "asyncio"])  # uvloop when installed, and asyncio's
def test_scale_to_zero_then_the_next_request_is_a_restore(loop: str, tmp_path: Path) -> None:
    p = start_platform(["--snapshot", "--function", ECHO, "--idle-timeout", "1", "--loop", loop],
                       tmp_path)
    try:
        first = p.post("/echo", {"action": "echo"})
        pid = first.json()["pid"]
        assert first.headers["x-millicent-init-kind"] == "restore"
        assert wait_until(lambda: p.stats()["environments"]["echo"] == 0, 5)
        assert wait_until(lambda: not pid_alive(pid), 5), "no environment process remains"
        again = p.post("/echo", {"action": "echo"})
        assert again.headers["x-millicent-cold"] == "1" and again.json()["pid"] != pid
        (line,) = report_lines(p, again.headers["x-millicent-request-id"])
        assert "Restore Duration" in line and "Init Duration" not in line
    finally:
        assert p.stop() == 0
    assert not pid_alive(again.json()["pid"]), "shutdown kills the environments"
