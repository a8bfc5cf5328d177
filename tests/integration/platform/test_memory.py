"""The local platform holds functions to their memory size, as Lambda does.

Real ``millicent serve`` processes, real awslambdaric environments: a handler module this
test writes allocates memory on request (at INIT for functions whose name starts with
``fat``, in a subprocess for the ``child`` action), and the platform must kill the
environment that passes ``--memory-mb`` — a 502 with Lambda's ``Runtime.OutOfMemory``, the
REPORT line Lambda writes, a new environment for the next request — while the other
environments serve on, and a real Kim CNN at 128 MB is never killed.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess, pid_alive, start_platform, wait_until
from tests.servers import REPO

pytestmark = pytest.mark.integration

OOM = "Runtime.OutOfMemory"
KILLED = "Error: Runtime exited with error: signal: killed"

HANDLER = '''
import base64, json, os, subprocess, sys, time

HOLD = []
if os.environ["AWS_LAMBDA_FUNCTION_NAME"].startswith("fat"):  # INIT past 128 MB
    HOLD.append(bytearray(int(os.environ.get("FAT_INIT_MB", "160")) << 20))


def act(body):
    action = body.get("action", "pid")
    if action == "alloc":  # keep it: the environment stays this big
        HOLD.append(bytearray(int(body["mb"]) << 20))
    elif action == "spike":  # allocate, touch and free before answering
        block = bytearray(int(body["mb"]) << 20)
        del block
    elif action == "sleep":
        time.sleep(float(body["seconds"]))
    elif action == "child":  # a subprocess of the sandbox holds the memory
        code = ("import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
                "b = bytearray(int(sys.argv[2]) << 20); time.sleep(30)")
        subprocess.run([sys.executable, "-c", code, body["pidfile"], str(body["mb"])])
    return {"pid": os.getpid(), "action": action}


def handler(event, context):
    if event.get("version") == "2.0":  # through the gateway
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        return {"statusCode": 200, "body": json.dumps(act(json.loads(raw or "{}")))}
    return act(event)  # the Invoke API
'''


@pytest.fixture(scope="module")
def handler_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("handler")
    (root / "memhog.py").write_text(HANDLER)
    return root


def serve(handler_dir: Path, log_dir: Path, *args: str) -> PlatformProcess:
    functions = [a for name in ("hog", "calm", "fat") for a in ("--function", f"{name}=memhog.handler")]
    return start_platform([*functions, "--env", f"PYTHONPATH={handler_dir}", "--timeout", "20",
                           "--max-concurrency", "6", *args], log_dir)


@pytest.fixture(scope="module")
def platform(handler_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = serve(handler_dir, tmp_path_factory.mktemp("platform"))  # the default: 128 MB, enforced
    yield p
    assert p.stop() == 0


def log_text(p: PlatformProcess, *needles: str) -> str:
    """functions.log once it holds every needle (it is flushed within 0.2 s)."""
    path = p.log_dir / "functions.log"
    wait_until(lambda: all(n in path.read_text() for n in needles), 5)
    return path.read_text()


def report_line(p: PlatformProcess, request_id: str) -> str:
    text = log_text(p, f"REPORT RequestId: {request_id}")
    (line,) = [ln for ln in text.splitlines() if f"REPORT RequestId: {request_id}" in ln]
    return line


def max_memory_used(line: str) -> int:
    found = re.search(r"Max Memory Used: (\d+) MB", line)
    assert found, line
    return int(found.group(1))


def assert_oom_body(body: dict[str, Any], memory_mb: int = 128) -> None:
    assert body["error"] == "out_of_memory" and body["errorType"] == OOM
    assert body["memory_mb"] == memory_mb and body["max_memory_mb"] > memory_mb
    assert f"over the function's memory size of {memory_mb} MB" in body["message"]
    assert "ran out of memory" in body["message"] and "--memory-mb" in body["message"]


def test_past_its_memory_an_environment_dies_and_the_next_request_gets_a_new_one(
        platform: PlatformProcess) -> None:
    first = platform.post("/hog", {"action": "pid"})
    calm = platform.post("/calm", {"action": "pid"})
    assert first.status == calm.status == 200
    assert float(first.headers["x-millicent-max-memory-mb"]) < 128
    pid = first.json()["pid"]

    r = platform.post("/hog", {"action": "alloc", "mb": 200})
    assert r.status == 502, r.body
    assert_oom_body(r.json())
    assert float(r.headers["x-millicent-max-memory-mb"]) > 128
    rid = r.headers["x-millicent-request-id"]
    assert wait_until(lambda: not pid_alive(pid), 5), "the environment is killed"

    line = report_line(platform, rid)  # as Lambda writes it
    assert "Memory Size: 128 MB" in line and max_memory_used(line) > 128
    assert line.endswith(f"Status: error\tError Type: {OOM}")
    log = log_text(platform, f"RequestId: {rid} {KILLED}")
    assert f"RequestId: {rid} {KILLED}\n" in log and f"] {OOM}\n" in log
    assert "the function ran out of memory: its execution environment used" in log

    record = next(rec for rec in platform.records() if rec["request_id"] == rid)
    assert (record["status"], record["error_type"]) == ("out_of_memory", OOM)
    assert record["max_memory_mb"] > 128 and record["cpu_ms"] is None

    after = platform.post("/hog", {"action": "pid"})
    assert after.status == 200 and after.headers["x-millicent-cold"] == "1"
    assert after.json()["pid"] != pid
    again = platform.post("/calm", {"action": "pid"})  # the other function's environment lived on
    assert again.headers["x-millicent-cold"] == "0" and again.json()["pid"] == calm.json()["pid"]
    stats = platform.stats()
    assert stats["by_status"]["out_of_memory"] >= 1
    assert stats["settings"]["memory_limit"] is True and stats["settings"]["memory_poll_s"] == 0.01


def test_other_environments_of_the_function_keep_serving(platform: PlatformProcess) -> None:
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(platform.post, "/hog", {"action": "sleep", "seconds": 2})
        assert wait_until(lambda: any(e["busy"] for e in platform.stats()["environment_details"]), 5)
        fat = platform.post("/hog", {"action": "alloc", "mb": 200})  # a second environment
        done = slow.result(30)
    assert fat.status == 502 and fat.json()["errorType"] == OOM
    assert done.status == 200
    pid = done.json()["pid"]
    assert pid_alive(pid)
    warm = platform.post("/hog", {"action": "pid"})
    assert warm.headers["x-millicent-cold"] == "0" and warm.json()["pid"] == pid


def test_memory_of_the_sandboxs_subprocesses_counts(platform: PlatformProcess, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    r = platform.post("/hog", {"action": "child", "mb": 200, "pidfile": str(pidfile)})
    assert r.status == 502 and r.json()["errorType"] == OOM, r.body
    child = int(pidfile.read_text())
    assert wait_until(lambda: not pid_alive(child), 5), "the sandbox's subprocess dies with it"


def test_an_init_past_the_memory_size_is_an_init_error(platform: PlatformProcess) -> None:
    for _ in range(2):  # each request runs INIT in a new environment, and fails again
        r = platform.post("/fat", {"action": "pid"})
        assert r.status == 502, r.body
        body = r.json()
        assert body["error"] == "init_error" and body["errorType"] == OOM
        assert "ran out of memory during its INIT" in body["message"]
        assert r.headers["x-millicent-cold"] == "1" and r.headers["x-millicent-init-kind"] == "init"
        line = report_line(platform, r.headers["x-millicent-request-id"])
        assert f"Status: init_error\tError Type: {OOM}" in line and max_memory_used(line) > 128
    assert "INIT_REPORT Init Duration:" in log_text(platform, f"Phase: init\tStatus: error\tError Type: {OOM}")
    assert wait_until(lambda: platform.stats()["environments"]["fat"] == 0, 5)


def test_the_invoke_api_answers_as_lambda_does(platform: PlatformProcess) -> None:
    import boto3
    from botocore.config import Config

    lam = boto3.client("lambda", endpoint_url=platform.url, region_name="us-east-1",
                       config=Config(retries={"max_attempts": 0}))
    r = lam.invoke(FunctionName="hog", Payload=json.dumps({"action": "alloc", "mb": 200}),
                   LogType="Tail")
    assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled"
    rid = r["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    payload = json.loads(r["Payload"].read())
    assert payload == {"errorType": OOM, "errorMessage": f"RequestId: {rid} {KILLED}"}
    tail = base64.b64decode(r["LogResult"]).decode()
    assert f"RequestId: {rid} {KILLED}\n{OOM}\nEND RequestId: {rid}" in tail
    assert f"Status: error\tError Type: {OOM}" in tail


def test_a_spike_between_two_polls_still_fails_at_the_answer(
        handler_dir: Path, tmp_path: Path) -> None:
    """With polls a second apart, a 160 MB block allocated and freed within one answer is
    seen only through the peak (VmHWM) read at the answer: the invocation still fails."""
    p = serve(handler_dir, tmp_path / "slow-polls", "--memory-poll-ms", "1000")
    try:
        assert p.post("/hog", {"action": "pid"}).status == 200  # INIT done: only the spike remains
        time.sleep(1.5)  # the guard's poll of that request is over: it waits for the next one
        r = p.post("/hog", {"action": "spike", "mb": 160})
        assert r.status == 502 and r.json()["errorType"] == OOM, r.body
        assert float(r.headers["x-millicent-duration-ms"]) < 1000  # no poll came
        # the whole peak (the runtime's ≈ 17 MB + 160 MB), not the moment a poll saw it
        assert r.json()["max_memory_mb"] > 170
        assert p.post("/hog", {"action": "spike", "mb": 30}).status == 200  # under it: fine
    finally:
        assert p.stop() == 0


def test_no_memory_limit_only_reports(handler_dir: Path, tmp_path: Path) -> None:
    p = serve(handler_dir, tmp_path / "report-only", "--no-memory-limit")
    try:
        r = p.post("/hog", {"action": "alloc", "mb": 200})
        assert r.status == 200 and float(r.headers["x-millicent-max-memory-mb"]) > 200
        line = report_line(p, r.headers["x-millicent-request-id"])
        assert max_memory_used(line) > 200 and "Status" not in line
        assert p.post("/hog", {"action": "pid"}).json()["pid"] == r.json()["pid"]
        assert "reported only" in (tmp_path / "report-only" / "serve.stderr").read_text()
        assert p.stats()["settings"]["memory_limit"] is False
    finally:
        assert p.stop() == 0


def test_snapshots_hold_init_and_restored_environments_to_the_memory_size(
        handler_dir: Path, tmp_path: Path) -> None:
    p = serve(handler_dir, tmp_path / "snapshot", "--snapshot")
    try:
        stderr = (tmp_path / "snapshot" / "serve.stderr").read_text()
        assert f"fat-template: snapshot INIT failed: {OOM}" in stderr
        r = p.post("/fat", {"action": "pid"})  # no snapshot: this cold start runs INIT, fails
        assert r.status == 502 and r.json()["error"] == "init_error"
        assert r.json()["errorType"] == OOM and "out of memory during its INIT" in r.json()["message"]
        assert p.stats()["snapshots"]["fat"]["state"] == "failed"

        first = p.post("/hog", {"action": "pid"})
        assert first.headers["x-millicent-init-kind"] == "restore"
        r = p.post("/hog", {"action": "alloc", "mb": 200})
        assert r.status == 502, r.body
        assert_oom_body(r.json())
        assert wait_until(lambda: not pid_alive(first.json()["pid"]), 5)
        after = p.post("/hog", {"action": "pid"})
        assert after.status == 200 and after.headers["x-millicent-init-kind"] == "restore"
        snapshot = p.stats()["snapshots"]["hog"]
        assert snapshot["state"] == "ready" and snapshot["forks"] == 2 and snapshot["builds"] == 1
    finally:
        assert p.stop() == 0


def test_a_restore_under_the_limit_counts_the_snapshots_memory(handler_dir: Path, tmp_path: Path) -> None:
    """A restored environment holds what its INIT built (here 90 MB kept at INIT): it passes
    128 MB with 50 MB more, as the restored Lambda sandbox would."""
    p = start_platform(["--function", "fatter=memhog.handler", "--env", f"PYTHONPATH={handler_dir}",
                        "--env", "FAT_INIT_MB=90", "--snapshot"], tmp_path / "restore")
    try:
        ok = p.post("/fatter", {"action": "pid"})
        assert ok.status == 200 and float(ok.headers["x-millicent-max-memory-mb"]) > 90
        r = p.post("/fatter", {"action": "alloc", "mb": 50})
        assert r.status == 502 and r.json()["errorType"] == OOM
    finally:
        assert p.stop() == 0


@pytest.fixture(scope="module")
def kim_store(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The shipped Kim CNN SST-1 and its vectors in SQLite, loaded by the real CLI."""
    artifact = REPO / "millicent" / "artifacts" / "kim-sst1-static"
    if not (artifact / "manifest.json").exists():
        pytest.skip("the shipped Kim CNN SST-1 artifact is missing")
    url = f"sqlite:///{tmp_path_factory.mktemp('kim-store')}/vectors.db"
    subprocess.run([sys.executable, "-m", "millicent.cli.main", "embeddings", "load", str(artifact),
                    "--store", url, "--vocab-from", "sst-1:dev", "--data-dir", str(data_dir),
                    "--quiet"], cwd=REPO, check=True, capture_output=True)
    return artifact, url


@pytest.mark.parametrize("mode", ["on-demand", "snapshot"])
def test_a_real_cnn_under_128_mb_is_never_killed(
        mode: str, kim_store: tuple[Path, str], data_dir: Path, tmp_path: Path) -> None:
    """No false positive: the Kim CNN at the default 128 MB, enforced, answers SST-1's dev
    sentences one by one and in the largest batches, in one environment that lives on."""
    from millicent.data.sst import load_sst

    artifact, url = kim_store
    sentences = [ex.text for ex in load_sst(data_dir, "sst-1", "dev")]
    args = ["--model", f"kim={artifact}", "--store", url, *(["--snapshot"] if mode == "snapshot" else [])]
    p = start_platform(args, tmp_path / "kim")
    try:
        replies = [p.post("/kim", {"sentence": s}) for s in sentences[:300]]
        replies += [p.post("/kim", {"sentences": sentences[i:i + 256]})
                    for i in range(0, len(sentences), 256)]
        replies.append(p.post("/kim", {"sentences": [" ".join(["a"] * 1000)] * 256}))  # the limits
        assert [r.status for r in replies] == [200] * len(replies)
        assert len({r.headers["x-millicent-request-id"] for r in replies}) == len(replies)
        assert [r.headers["x-millicent-cold"] for r in replies] == ["1"] + ["0"] * (len(replies) - 1)
        peaks = [float(r.headers["x-millicent-max-memory-mb"]) for r in replies]
        assert max(peaks) < 128
        stats = p.stats()
        assert "out_of_memory" not in stats["by_status"] and stats["environments"]["kim"] == 1
    finally:
        assert p.stop() == 0


def test_the_memory_experiment_short_run(tmp_path: Path) -> None:
    """``experiments/memory_limit.py --quick``: what it reports, not how fast it was."""
    out = tmp_path / "memory-limit"
    run = subprocess.run([sys.executable, "experiments/memory_limit.py", "--out", str(out), "--quick"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    (detection,) = results["detection"]
    assert detection["poll_ms"] == 10 and detection["all_out_of_memory"]
    for trial in detection["trials"]:
        assert trial["status"] == 502 and trial["seen_mb"] > 128 and trial["latency_ms"] >= 0
    assert results["spikes"]["all_failed"]
    assert all(t["seen_mb"] > 160 for t in results["spikes"]["trials"])
    cost = results["cost"]
    assert cost["enforced"]["cold_starts"] == cost["report-only"]["cold_starts"] == cost["busy"]
    assert "| poll (ms) |" in run.stdout and "per environment-poll" in run.stdout


def test_a_bad_poll_interval_is_refused_clearly(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "millicent.cli.main", "serve", "--function", "x=a.b",
                          "--memory-poll-ms", "0", "--log-dir", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--memory-poll-ms must be in (0, 1000], got 0" in run.stderr
