"""Store and platform faults through the real platform: ``millicent serve`` with the DynamoDB
store whose endpoint is a fault-injecting proxy in front of dynalite.

Each fault costs one clear error at most, and never a wrong answer or a lost word:
throttling and ``UnprocessedKeys`` cost retries only (answers bit-identical to the
fault-free run); a slow store answers inside the timeout, a store slower than the
function's timeout is a 504 (environment killed and replaced); a store down is a 503
that names it, and answers come back when it does — without restarting anything; a killed
environment is one 502 and is replaced; a burst past the concurrency limit gets 429s, every
one of them seen by the client.

A store down at a cold start depends on when the function builds its store: with the
default eager INIT (Lambda's INIT phase) the environment fails its INIT — a 502 naming the
store, awslambdaric's init error — and the next request, once the store is back, runs
INIT again in a new environment; with ``MILLICENT_INIT=lazy`` (the main platform here) it is
the first request's 503 and the same environment answers later. With ``serve --snapshot``
the template's INIT meets the store down the same way; a restore does not read the store,
so after a good snapshot a store outage is a 503 again, never an init error.

The bulk loader's kill-and-resume is tests/integration/store/test_load_resume.py (a real
``millicent embeddings load`` process SIGKILLed midway, then count and checksum checked).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess, Reply, pid_alive, start_platform, wait_until
from tests.reliability.support import StoreProxy, load_vectors
from tests.servers import Server

pytestmark = pytest.mark.integration

TABLE = "reliability-kim"
TIMEOUT_S = 10  # function timeout of the main platform
DEADLINE_S = 3  # the store's retry budget there: below the timeout, so a dead store is a 503


class Store:
    """The proxy in front of dynalite, which can go down and come back on the same port."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.proxy = StoreProxy(upstream, seed=7).start()
        self.port = self.proxy.port

    @property
    def url(self) -> str:
        return f"dynamodb://{TABLE}?endpoint=http://127.0.0.1:{self.port}&region=us-east-1"

    def down(self) -> None:
        self.proxy.stop()

    def up(self) -> None:
        self.proxy = StoreProxy(self.upstream, port=self.port, seed=8).start()

    def calm(self) -> None:
        p = self.proxy
        p.partial = p.throttle = p.delay_s = 0.0
        p.throttle_all = False


@pytest.fixture(scope="module")
def store(dynalite: Server, artifacts: tuple[Path, Path], data_dir: Path) -> Iterator[Store]:
    load_vectors(artifacts[0], f"dynamodb://{TABLE}?endpoint={dynalite.endpoint}&region=us-east-1",
                 "sst-1:dev", data_dir)
    s = Store(dynalite.endpoint)
    yield s
    s.down()


@pytest.fixture
def calm(store: Store) -> Iterator[Store]:
    """The store, fault-free before and after the test."""
    store.calm()
    yield store
    store.calm()


@pytest.fixture(scope="module")
def ddb_platform(store: Store, artifacts: tuple[Path, Path],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    # no LRU and no pack: every request reads the store, so every fault reaches a request;
    # lazy INIT: a store fault at a cold start is then the first request's 503 (the eager
    # INIT's own contract, an init error, is tested by the *_at_an_eager_init tests below)
    p = start_platform(["--model", f"kim={artifacts[0]}", "--store", store.url, "--lru-size", "0",
                        "--max-concurrency", "4", "--timeout", str(TIMEOUT_S), "--idle-timeout", "900",
                        "--env", f"MILLICENT_STORE_DEADLINE_S={DEADLINE_S}", "--env", "MILLICENT_INIT=lazy"],
                       tmp_path_factory.mktemp("faults-serve"))
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def sentences(data_dir: Path) -> list[str]:
    from millicent.data.sst import load_sst

    return [ex.text for ex in load_sst(data_dir, "sst-1", "dev")[:40]]


@pytest.fixture(scope="module")
def reference(ddb_platform: PlatformProcess, store: Store, sentences: list[str]) -> list[dict[str, Any]]:
    """The fault-free answers."""
    store.calm()
    replies = [ddb_platform.post("/classify", {"sentence": s}) for s in sentences]
    assert [r.status for r in replies] == [200] * len(sentences)
    return [r.json() for r in replies]


def same_answer(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Bit-identical: JSON floats round-trip exactly, so equal numbers are equal bits."""
    return all(got[k] == want[k] for k in ("label", "probabilities", "tokens", "unknown_words"))


def one_pid(platform: PlatformProcess) -> int:
    (pid,) = platform.env_pids("kim")
    return int(pid)


def test_throttling_and_unprocessed_keys_cost_retries_never_answers(
    ddb_platform: PlatformProcess, calm: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    proxy = calm.proxy
    before = (proxy.counters.partial, proxy.counters.throttled)
    proxy.partial, proxy.throttle = 0.4, 0.3
    replies = [ddb_platform.post("/classify", {"sentence": s}) for s in sentences]
    assert [r.status for r in replies] == [200] * len(sentences)
    answers = [r.json() for r in replies]
    for got, want in zip(answers, reference, strict=True):
        assert same_answer(got, want), (got["tokens"], got["probabilities"], want["probabilities"])
    injected = proxy.counters.partial - before[0] + proxy.counters.throttled - before[1]
    retries = sum(a["timings"]["lookups"]["store_retries"] for a in answers)
    assert proxy.counters.partial - before[0] > 5 and proxy.counters.throttled - before[1] > 5
    assert retries == injected, "every injected fault cost exactly one retry, and nothing else"
    print(f"faults: {len(answers)} answers identical; {proxy.counters.partial - before[0]} partial "
          f"answers, {proxy.counters.throttled - before[1]} throttles, {retries} retries")
    # the answer says what it cost: one BatchGetItem per request plus its retries
    assert all(a["timings"]["lookups"]["store_calls"] == 1 + a["timings"]["lookups"]["store_retries"]
               for a in answers)


def test_slow_store_answers_inside_the_timeout(
    ddb_platform: PlatformProcess, calm: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    calm.proxy.delay_s = 0.4
    for i in (0, 1, 2):
        t0 = time.monotonic()
        r = ddb_platform.post("/classify", {"sentence": sentences[i]})
        took = time.monotonic() - t0
        assert r.status == 200 and same_answer(r.json(), reference[i])
        assert r.json()["timings"]["fetch_ms"] >= 400 and took < TIMEOUT_S


def test_store_slower_than_its_deadline_is_a_503_and_the_environment_lives(
    ddb_platform: PlatformProcess, calm: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    pid = one_pid(ddb_platform)
    calm.proxy.delay_s = DEADLINE_S + 3  # boto3's read timeout is the deadline: it gives up first
    t0 = time.monotonic()
    r = ddb_platform.post("/classify", {"sentence": sentences[0]})
    took = time.monotonic() - t0
    assert r.status == 503, r.body
    body = r.json()
    assert body["error"] == "store_unavailable" and "label" not in body
    assert f"DynamoDB table {TABLE}" in body["message"] and "still failing" in body["message"]
    assert "last error: ReadTimeoutError" in body["message"]
    assert DEADLINE_S - 0.5 < took < TIMEOUT_S
    assert one_pid(ddb_platform) == pid
    print(f"store slower than its deadline: {r.status} after {took:.2f}s: {body['message']}")
    calm.proxy.delay_s = 0.0
    back = ddb_platform.post("/classify", {"sentence": sentences[0]})
    assert back.status == 200 and same_answer(back.json(), reference[0])


def test_store_down_is_a_503_then_answers_return_without_a_restart(
    ddb_platform: PlatformProcess, store: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    pid = one_pid(ddb_platform)
    store.down()
    try:
        t0 = time.monotonic()
        down = ddb_platform.post("/classify", {"sentence": sentences[5]})
        took = time.monotonic() - t0
        assert down.status == 503, down.body
        body = down.json()
        assert body["error"] == "store_unavailable" and "label" not in body
        assert f"127.0.0.1:{store.port}" in body["message"] and "still failing" in body["message"]
        assert "last error: EndpointConnectionError" in body["message"]
        assert DEADLINE_S - 1.0 < took < DEADLINE_S + 2  # the last backoff may stop ≤ 0.5 s early
        print(f"store down: {down.status} after {took:.2f}s: {body['message']}")
    finally:
        store.up()  # the same port: the function's configuration does not change
    back = [ddb_platform.post("/classify", {"sentence": s}) for s in sentences[5:8]]
    assert [r.status for r in back] == [200] * 3
    assert all(same_answer(r.json(), want) for r, want in zip(back, reference[5:8], strict=True))
    assert back[0].headers["x-millicent-cold"] == "0" and one_pid(ddb_platform) == pid


def test_environment_killed_mid_request_is_one_502_and_replaced(
    ddb_platform: PlatformProcess, calm: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    pid = one_pid(ddb_platform)
    calm.proxy.delay_s = 3.0  # the request is in flight inside the handler, waiting on the store
    result: list[Reply] = []
    t = threading.Thread(target=lambda: result.append(
        ddb_platform.post("/classify", {"sentence": sentences[9]})))
    t.start()
    assert wait_until(lambda: any(e["busy"] for e in ddb_platform.stats()["environment_details"]), 5)
    time.sleep(0.3)  # well inside the store call
    os.kill(pid, signal.SIGKILL)
    t.join(30)
    r = result[0]
    assert r.status == 502 and r.json()["errorType"] == "Runtime.ExitError"
    assert "signal 9" in r.json()["message"]
    print(f"environment killed mid-request: {r.status} {r.json()['message']}")
    calm.proxy.delay_s = 0.0
    assert wait_until(lambda: not pid_alive(pid), 5)
    after = ddb_platform.post("/classify", {"sentence": sentences[9]})
    assert after.status == 200 and after.headers["x-millicent-cold"] == "1"
    assert same_answer(after.json(), reference[9]) and one_pid(ddb_platform) != pid


def test_a_client_that_hangs_up_costs_no_environment(
    ddb_platform: PlatformProcess, calm: Store, sentences: list[str]
) -> None:
    """The caller gives up mid-request: the invocation still finishes and is recorded (it
    was billed), and the warm environment is kept — not killed with the connection."""
    import socket

    pid = one_pid(ddb_platform)
    before = ddb_platform.stats()
    calm.proxy.delay_s = 1.0
    body = json.dumps({"sentence": sentences[3]}).encode()
    with socket.create_connection(("127.0.0.1", ddb_platform.port)) as s:
        s.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert wait_until(lambda: ddb_platform.stats()["in_flight"] == 1, 5)
    assert wait_until(lambda: ddb_platform.stats()["invocations"] == before["invocations"] + 1, 10)
    after = ddb_platform.stats()
    assert after["by_status"]["ok"] == before["by_status"]["ok"] + 1 and after["errors"] == before["errors"]
    assert one_pid(ddb_platform) == pid and after["in_flight"] == 0


def test_environment_dead_while_idle_is_replaced_and_a_store_down_at_cold_start_is_a_503(
    ddb_platform: PlatformProcess, store: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    """An idle environment killed (say by the OOM killer) must not cost the next request a
    502 — it used to be handed the request. The new environment's cold start then meets
    the store down: a 503, and the same environment answers once the store is back."""
    store.calm()
    pid = one_pid(ddb_platform)
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(pid), 5)
    store.down()
    try:
        cold = ddb_platform.post("/classify", {"sentence": sentences[12]})
        assert cold.status == 503, cold.body
        assert cold.headers["x-millicent-cold"] == "1" and cold.json()["error"] == "store_unavailable"
        assert "GetItem" in cold.json()["message"]  # the store's metadata, read at cold start
        assert "last error: EndpointConnectionError" in cold.json()["message"]
        print(f"store down at a cold start: {cold.status}: {cold.json()['message']}")
    finally:
        store.up()
    new_pid = one_pid(ddb_platform)
    assert new_pid != pid
    back = ddb_platform.post("/classify", {"sentence": sentences[12]})
    assert back.status == 200 and same_answer(back.json(), reference[12])
    assert back.headers["x-millicent-cold"] == "0" and back.json()["timings"]["init_ms"] > 0
    assert one_pid(ddb_platform) == new_pid
    assert ddb_platform.stats()["by_status"].get("crash", 0) <= 1  # only the mid-request kill


def test_burst_past_the_concurrency_limit_every_request_answered(
    ddb_platform: PlatformProcess, calm: Store, sentences: list[str], reference: list[dict[str, Any]]
) -> None:
    import boto3
    from botocore.config import Config

    lam = boto3.client("lambda", endpoint_url=ddb_platform.url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x",
                       config=Config(retries={"max_attempts": 0}, max_pool_connections=16))
    calm.proxy.delay_s = 0.3  # every admitted request holds its environment for 0.3 s
    before = ddb_platform.stats()
    http_n, invoke_n = 32, 12
    barrier = threading.Barrier(http_n + invoke_n)

    def http(i: int) -> tuple[int, int, dict[str, Any]]:
        barrier.wait()
        r = ddb_platform.post("/classify", {"sentence": sentences[i % len(sentences)]})
        return i, r.status, r.json()

    def invoke(i: int) -> tuple[int, int, dict[str, Any]]:
        barrier.wait()
        try:
            r = lam.invoke(FunctionName="kim", Payload=json.dumps({"sentence": sentences[i % len(sentences)]}))
        except lam.exceptions.TooManyRequestsException as exc:
            return i, 429, dict(exc.response)
        assert "FunctionError" not in r
        return i, r["StatusCode"], json.loads(r["Payload"].read())

    with ThreadPoolExecutor(http_n + invoke_n) as pool:
        futures = [pool.submit(http, i) for i in range(http_n)]
        futures += [pool.submit(invoke, i) for i in range(invoke_n)]
        results = [f.result(60) for f in futures]
    statuses = [s for _, s, _ in results]
    ok, throttled = statuses.count(200), statuses.count(429)
    assert ok + throttled == http_n + invoke_n, f"not every request got a 200 or a 429: {statuses}"
    assert throttled >= 10 and ok >= 4  # 4 in flight at any time, each for ≥ 0.3 s
    for i, status, body in results:
        if status == 200:
            assert same_answer(body, reference[i % len(sentences)])
        else:
            assert body.get("error") == "too_many_requests" or body["Error"]["Code"] == "TooManyRequestsException"
    after = ddb_platform.stats()
    assert after["throttles"] - before["throttles"] == throttled
    assert after["invocations"] - before["invocations"] == ok
    assert after["errors"] == before["errors"]
    print(f"burst: {http_n + invoke_n} sent, {ok} answered 200, {throttled} answered 429")


def test_store_slower_than_the_function_timeout_is_a_504_and_a_fresh_environment(
    store: Store, artifacts: tuple[Path, Path], sentences: list[str], reference: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """The function hangs on its store past its timeout (the store's deadline, 5 s, is longer
    than the 2 s function timeout): the platform kills the environment and answers 504."""
    store.calm()
    p = start_platform(["--model", f"kim={artifacts[0]}", "--store", store.url, "--lru-size", "0",
                        "--timeout", "2", "--env", "MILLICENT_STORE_DEADLINE_S=5"], tmp_path)
    try:
        assert p.post("/classify", {"sentence": sentences[0]}).status == 200
        pid = one_pid(p)
        store.proxy.delay_s = 4.0
        t0 = time.monotonic()
        r = p.post("/classify", {"sentence": sentences[1]})
        took = time.monotonic() - t0
        assert r.status == 504 and r.json()["errorType"] == "Sandbox.Timedout"
        assert "timed out after 2.00 seconds" in r.json()["message"] and 1.9 <= took < 4
        print(f"store slower than the function timeout: {r.status} after {took:.2f}s: {r.json()['message']}")
        assert wait_until(lambda: not pid_alive(pid), 5), "the hung environment is killed"
        store.proxy.delay_s = 0.0
        after = p.post("/classify", {"sentence": sentences[1]})
        assert after.status == 200 and after.headers["x-millicent-cold"] == "1"
        assert same_answer(after.json(), reference[1])
        assert p.stats()["by_status"]["timeout"] == 1
    finally:
        store.calm()
        assert p.stop() == 0


def test_store_down_at_an_eager_init_is_a_502_naming_it_then_init_again_when_back(
    store: Store, artifacts: tuple[Path, Path], sentences: list[str], reference: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    store.calm()
    store.down()
    p = start_platform(["--model", f"kim={artifacts[0]}", "--store", store.url, "--lru-size", "0",
                        "--env", f"MILLICENT_STORE_DEADLINE_S={DEADLINE_S}"], tmp_path)
    try:
        t0 = time.monotonic()
        down = p.post("/classify", {"sentence": sentences[2]})
        took = time.monotonic() - t0
        assert down.status == 502, down.body
        body = down.json()
        assert body["error"] == "init_error" and body["errorType"] == "StoreUnavailable"
        assert f"127.0.0.1:{store.port}" in body["message"] and "GetItem" in body["message"]
        assert "last error: EndpointConnectionError" in body["message"]
        assert DEADLINE_S - 1.0 < took < DEADLINE_S + 5  # the store's retries, then the init error
        assert down.headers["x-millicent-init-kind"] == "init"
        (failed,) = p.records()
        assert failed["status"] == "init_error" and failed["error_type"] == "StoreUnavailable"
        print(f"store down at an eager INIT: {down.status} after {took:.2f}s: {body['message']}")
        assert wait_until(lambda: p.stats()["environments"]["kim"] == 0, 5)
    finally:
        store.up()
    try:
        back = p.post("/classify", {"sentence": sentences[2]})
        assert back.status == 200 and same_answer(back.json(), reference[2])
        assert back.headers["x-millicent-cold"] == "1" and one_pid(p) != failed["pid"]
        timings = back.json()["timings"]
        assert timings["init"] == "eager" and timings["init_ms"] > 0
        # INIT (models + store) is the platform's Init Duration, outside the invocation
        assert float(back.headers["x-millicent-init-ms"]) > timings["init_ms"]
        assert timings["total_ms"] < timings["init_ms"] + float(back.headers["x-millicent-duration-ms"])
    finally:
        assert p.stop() == 0


def test_store_down_at_a_snapshot_init_then_restores_survive_an_outage(
    store: Store, artifacts: tuple[Path, Path], sentences: list[str], reference: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    store.calm()
    store.down()
    try:
        p = start_platform(["--snapshot", "--model", f"kim={artifacts[0]}", "--store", store.url,
                            "--lru-size", "0", "--idle-timeout", "1",
                            "--env", f"MILLICENT_STORE_DEADLINE_S={DEADLINE_S}"], tmp_path)
        assert p.stats()["snapshots"]["kim"]["state"] == "failed"
        down = p.post("/classify", {"sentence": sentences[4]})  # INIT again: still down
        assert down.status == 502 and down.json()["errorType"] == "StoreUnavailable"
        assert "GetItem" in down.json()["message"]
    finally:
        store.up()
    try:
        back = p.post("/classify", {"sentence": sentences[4]})  # INIT once more, then restore
        assert back.status == 200 and same_answer(back.json(), reference[4])
        assert back.headers["x-millicent-init-kind"] == "restore"
        assert back.json()["timings"]["init"] == "restore"
        assert p.stats()["snapshots"]["kim"]["state"] == "ready"
        # scale to zero, store down: a restore needs no store, the request is a 503
        assert wait_until(lambda: p.stats()["environments"]["kim"] == 0, 5)
        store.down()
        try:
            outage = p.post("/classify", {"sentence": sentences[5]})
            assert outage.status == 503 and outage.json()["error"] == "store_unavailable"
            assert outage.headers["x-millicent-init-kind"] == "restore"
            (pid,) = p.env_pids("kim")
        finally:
            store.up()
        again = p.post("/classify", {"sentence": sentences[5]})
        assert again.status == 200 and same_answer(again.json(), reference[5])
        assert again.headers["x-millicent-cold"] == "0" and p.env_pids("kim") == [pid]
    finally:
        assert p.stop() == 0
