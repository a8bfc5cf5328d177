"""``millicent serve`` with the real handler, the shipped artifacts and real stores.

The platform runs as a real process on a free loopback port; its environments run
``millicent.runtime.handler.handler`` under awslambdaric; the vectors are loaded by the
real ``millicent embeddings load`` CLI into SQLite (and redis-server for the store-failure
test). Answers are compared with the in-process runtime (service core + same store).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess, Reply, pid_alive, start_platform, wait_until
from tests.servers import REPO, start_redis

pytestmark = pytest.mark.integration


def find_artifact(kind: str, task: str) -> Path | None:
    """The first artifact of ``kind``/``task`` under ``$MILLICENT_ARTIFACTS`` or ``artifacts/``."""
    root = Path(os.environ.get("MILLICENT_ARTIFACTS", REPO / "millicent" / "artifacts"))
    for manifest in sorted(root.glob("*/manifest.json")):
        m = json.loads(manifest.read_text())
        if m.get("kind") == kind and m.get("task") == task:
            return manifest.parent
    return None


def require(path: Path | None, what: str) -> Path:
    if path is None:
        if os.environ.get("MILLICENT_REQUIRE_SERVICES") == "1":
            pytest.fail(f"no {what} artifact under artifacts/")
        pytest.skip(f"no {what} artifact under artifacts/")
    return path


def load_vectors(source: Path, store_url: str, vocab: str, data_dir: Path) -> None:
    """The real CLI: ``millicent embeddings load ARTIFACT --store URL --vocab-from VOCAB``."""
    subprocess.run(
        [sys.executable, "-m", "millicent.cli.main", "embeddings", "load", str(source),
         "--store", store_url, "--vocab-from", vocab, "--data-dir", str(data_dir), "--quiet"],
        cwd=REPO, check=True, capture_output=True,
    )


@pytest.fixture(scope="module")
def kim_artifact() -> Path:
    return require(find_artifact("kim_cnn", "sst-1"), "Kim CNN SST-1")


@pytest.fixture(scope="module")
def sm_artifact() -> Path | None:
    return find_artifact("sm_cnn", "trecqa")


@pytest.fixture(scope="module")
def store_url(kim_artifact: Path, sm_artifact: Path | None, data_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store')}/vectors.db"
    load_vectors(kim_artifact, url, "sst-1:dev", data_dir)
    if sm_artifact is not None:
        load_vectors(sm_artifact, url, "trecqa:raw-dev", data_dir)
    return url


@pytest.fixture(scope="module")
def pack(kim_artifact: Path, store_url: str, data_dir: Path,
         tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frequent-word pack of the 500 most frequent words the store holds (real CLI)."""
    out = tmp_path_factory.mktemp("pack") / "pack.npz"
    subprocess.run(
        [sys.executable, "-m", "millicent.cli.main", "embeddings", "pack", str(kim_artifact),
         "--top", "500", "--store", store_url, "--out", str(out), "--data-dir", str(data_dir)],
        cwd=REPO, check=True, capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def platform(kim_artifact: Path, sm_artifact: Path | None, store_url: str, pack: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    args = ["--model", f"kim={kim_artifact}", "--store", store_url, "--pack", str(pack),
            "--idle-timeout", "3", "--max-concurrency", "4", "--max-tokens", "200"]
    if sm_artifact is not None:
        args += ["--model", f"sm={sm_artifact}"]
    p = start_platform(args, tmp_path_factory.mktemp("serve"))
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def snapshot_platform(kim_artifact: Path, store_url: str, pack: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    """The same kim function on ``serve --snapshot``: INIT once, every cold start a fork."""
    p = start_platform(["--snapshot", "--model", f"kim={kim_artifact}", "--store", store_url,
                        "--pack", str(pack), "--idle-timeout", "3", "--max-concurrency", "4",
                        "--max-tokens", "200"], tmp_path_factory.mktemp("serve-snapshot"))
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def dev_sentences(data_dir: Path) -> list[str]:
    from millicent.data.sst import load_sst

    sentences = [ex.text for ex in load_sst(data_dir, "sst-1", "dev")]
    assert len(sentences) == 1101
    return sentences


@pytest.fixture(scope="module")
def in_process(kim_artifact: Path, store_url: str, dev_sentences: list[str]) -> list[dict[str, Any]]:
    """The runtime in this process: same artifact, same store, the service core."""
    from millicent.config import Limits
    from millicent.runtime.handler import serve
    from millicent.runtime.registry import load_model
    from millicent.store import open_embeddings

    model = load_model(kim_artifact)
    emb = open_embeddings(store_url)
    try:
        return [serve(model, "kim", emb, {"sentence": s}, Limits()) for s in dev_sentences]
    finally:
        emb.close()


def raw_post(port: int, path: str, body: bytes) -> Reply:
    """An HTTP/1.1 POST written by hand on a socket: no client library, no Content-Type."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Reply(int(lines[0].split()[1]), headers, payload)


def test_1101_dev_sentences_answer_like_the_in_process_runtime(
    platform: PlatformProcess, dev_sentences: list[str], in_process: list[dict[str, Any]]
) -> None:
    bodies = [json.dumps({"sentence": s}).encode() for s in dev_sentences]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda b: raw_post(platform.port, "/classify", b), bodies))
    assert [r.status for r in replies] == [200] * 1101
    answers = [r.json() for r in replies]
    assert [a["label"] for a in answers] == [e["label"] for e in in_process]
    for a, e in zip(answers, in_process, strict=True):
        assert a["tokens"] == e["tokens"]
        assert a["probabilities"] == pytest.approx(e["probabilities"], abs=1e-6)
    cold = [r.headers["x-millicent-cold"] == "1" for r in replies]
    assert 1 <= sum(cold) <= 4, "one cold start per environment, at most the concurrency"
    assert not any(cold[200:]), "later requests are warm"
    assert all(a["timings"]["cold_start"] == c for a, c in zip(answers, cold, strict=True))
    warm = answers[-1]["timings"]
    for key in ("tokenize_ms", "fetch_ms", "forward_ms", "other_ms", "total_ms", "cpu_ms", "cache_hits"):
        assert key in warm
    assert answers[-1]["model"] == "kim"
    # the bundled pack served the frequent words, with the store's own vectors
    assert sum(a["timings"]["lookups"]["pack_hits"] for a in answers) > 1101


def test_snapshot_answers_the_dev_sentences_identically(
    platform: PlatformProcess, snapshot_platform: PlatformProcess, dev_sentences: list[str]
) -> None:
    """``serve --snapshot`` and ``serve`` give bit-identical answers to the 1101 SST-1 dev
    sentences; the snapshot's cold starts are restores; after scale to zero the next
    request is a restore again (its REPORT line says Restore Duration)."""
    bodies = [json.dumps({"sentence": s}).encode() for s in dev_sentences]
    keys = ("label", "label_index", "probabilities", "tokens", "unknown_words", "model")
    answers = {}
    for name, p in (("serve", platform), ("snapshot", snapshot_platform)):
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(lambda b, port=p.port: raw_post(port, "/classify", b), bodies))
        assert [r.status for r in replies] == [200] * 1101, name
        answers[name] = [{k: r.json()[k] for k in keys} for r in replies]
        if name == "snapshot":
            cold = [r for r in replies if r.headers["x-millicent-cold"] == "1"]
            assert 1 <= len(cold) <= 4
            assert all(r.headers["x-millicent-init-kind"] == "restore" for r in cold)
            assert all(float(r.headers["x-millicent-restore-ms"]) > 0 for r in cold)
    assert answers["snapshot"] == answers["serve"]
    assert snapshot_platform.stats()["snapshots"]["kim"]["state"] == "ready"
    assert wait_until(lambda: snapshot_platform.stats()["environments"]["kim"] == 0, 10)
    again = snapshot_platform.post("/classify", {"sentence": dev_sentences[0]})
    assert again.status == 200 and again.headers["x-millicent-init-kind"] == "restore"
    assert {k: again.json()[k] for k in keys} == answers["serve"][0]
    rid = again.headers["x-millicent-request-id"]
    (line,) = [ln for ln in (snapshot_platform.log_dir / "functions.log").read_text().splitlines()
               if f"REPORT RequestId: {rid}" in ln]
    assert "Restore Duration" in line and "Init Duration" not in line


def test_idle_timeout_scales_to_zero_then_cold_again(platform: PlatformProcess) -> None:
    r = platform.post("/kim", {"sentence": "a fine , funny film ."})
    assert r.status == 200
    pids = platform.env_pids("kim")
    assert pids
    assert wait_until(lambda: platform.stats()["environments"]["kim"] == 0, 10)
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5), "no environment process remains"
    r = platform.post("/kim", {"sentence": "a fine , funny film ."})
    assert r.status == 200 and r.headers["x-millicent-cold"] == "1"
    assert r.json()["timings"]["cold_start"] is True and r.json()["timings"]["init_ms"] > 0
    assert float(r.headers["x-millicent-init-ms"]) > 0


def test_boto3_invoke_gives_the_same_answer(platform: PlatformProcess, dev_sentences: list[str],
                                            in_process: list[dict[str, Any]]) -> None:
    import boto3

    lam = boto3.client("lambda", endpoint_url=platform.url, region_name="us-east-1")
    for i in (0, 17, 1100):
        r = lam.invoke(FunctionName="kim", Payload=json.dumps({"sentence": dev_sentences[i]}))
        assert r["StatusCode"] == 200 and "FunctionError" not in r
        out = json.loads(r["Payload"].read())
        assert out["label"] == in_process[i]["label"]
        assert out["probabilities"] == pytest.approx(in_process[i]["probabilities"], abs=1e-6)
    r = lam.invoke(FunctionName="kim", Payload=json.dumps({"sentence": "   "}))
    assert r["FunctionError"] == "Unhandled"
    assert json.loads(r["Payload"].read())["errorType"] == "InvalidInput"


def test_killing_an_environment_mid_request_gives_one_502(platform: PlatformProcess) -> None:
    assert platform.post("/kim", {"sentence": "warm up ."}).status == 200
    (pid,) = [e["pid"] for e in platform.stats()["environment_details"]
              if e["function"] == "kim" and not e["busy"]][:1]
    # freeze the idle environment so the next event is delivered to it but never answered,
    # then kill it while the request is in flight
    os.kill(pid, signal.SIGSTOP)
    result: list[Reply] = []
    t = threading.Thread(target=lambda: result.append(platform.post("/kim", {"sentence": "doomed ."})))
    t.start()
    assert wait_until(lambda: any(e["busy"] and e["pid"] == pid
                                  for e in platform.stats()["environment_details"]), 5)
    os.kill(pid, signal.SIGKILL)
    t.join(30)
    assert result[0].status == 502 and result[0].json()["errorType"] == "Runtime.ExitError"
    replies = [platform.post("/kim", {"sentence": "alive again ."}) for _ in range(5)]
    assert [r.status for r in replies] == [200] * 5
    assert replies[0].headers["x-millicent-cold"] == "1"


@pytest.mark.parametrize(("method", "path", "body", "status", "needle"), [
    ("POST", "/classify", b"sentence=hello", 400, "not valid JSON"),
    ("POST", "/classify", b"", 400, "empty"),
    ("POST", "/classify", b'{"sentence": ""}', 400, "empty"),
    ("POST", "/classify", b'{"sentence": " \\t "}', 400, "whitespace"),
    ("POST", "/classify", b'{"sentence": 5}', 400, "must be a string"),
    ("POST", "/classify", b'{"text": "x"}', 400, "missing field"),
    ("POST", "/classify", b"[" * 100_000, 400, "nested too deeply"),
    ("POST", "/classify", json.dumps({"sentence": "word " * 201}).encode(), 400, "limit is 200"),
    ("POST", "/classify", json.dumps({"sentence": "x" * 1_000_001}).encode(), 413, "limit"),
    ("GET", "/classify", None, 405, "use POST"),
    ("POST", "/health", b"{}", 405, "use GET"),
    ("POST", "/bert", b"{}", 404, "no function or route"),
])
def test_bad_requests_get_4xx_json(platform: PlatformProcess, method: str, path: str,
                                   body: bytes | None, status: int, needle: str) -> None:
    before = set(platform.env_pids("kim"))
    r = platform.request(method, path, body)
    assert r.status == status, r.body
    assert needle in r.json()["message"]
    if before:
        assert before <= set(platform.env_pids("kim")), "bad input never crashes an environment"


def test_original_request_format_and_base64_bodies(platform: PlatformProcess) -> None:
    a = raw_post(platform.port, "/classify", b'{"input": "it is a masterpiece ."}')  # no Content-Type
    b = platform.post("/classify", {"sentence": "it is a masterpiece ."},
                      headers={"content-type": "application/json"})
    assert a.status == b.status == 200
    assert a.json()["probabilities"] == b.json()["probabilities"]
    h = platform.request("GET", "/health")
    assert h.status == 200 and h.json()["models"][0]["name"] == "kim"


def test_rank(platform: PlatformProcess, sm_artifact: Path | None, data_dir: Path) -> None:
    if sm_artifact is None:
        r = platform.post("/rank", {"question": "q ?", "answer": "a ."})
        assert r.status == 404
        return
    from millicent.data.trecqa import load_trecqa

    pairs = load_trecqa(data_dir, "raw-dev")[:5]
    q = pairs[0].question
    answers = [p.answer for p in pairs if p.question == q]
    many = platform.post("/rank", {"question": q, "answers": answers})
    assert many.status == 200 and many.json()["model"] == "sm"
    scores = many.json()["scores"]
    assert len(scores) == len(answers) and all(0.0 <= s <= 1.0 for s in scores)
    one = platform.post("/sm", {"sent1": q, "sent2": answers[0]})
    assert one.status == 200 and one.json()["score"] == pytest.approx(scores[0], abs=1e-6)
    too_many = platform.post("/rank", {"question": q, "answers": ["a"] * 1001})
    assert too_many.status == 400


def test_store_failure_is_503_never_a_made_up_answer(kim_artifact: Path, data_dir: Path,
                                                     tmp_path: Path) -> None:
    redis = start_redis()
    url = f"redis://127.0.0.1:{redis.port}/0"
    p = None
    try:
        load_vectors(kim_artifact, url, "sst-1:dev", data_dir)
        p = start_platform(["--model", f"kim={kim_artifact}", "--store", url, "--lru-size", "0",
                            "--env", "MILLICENT_STORE_DEADLINE_S=1"], tmp_path)
        ok = p.post("/classify", {"sentence": "a fine film ."})
        assert ok.status == 200
        pid = p.env_pids("kim")[0]
        redis.stop()
        down = p.post("/classify", {"sentence": "a fine film ."})
        assert down.status == 503 and down.json()["error"] == "store_unavailable"
        assert "label" not in down.json()
        assert p.env_pids("kim") == [pid], "the environment survives a store outage"
        redis = start_redis(redis.port)
        load_vectors(kim_artifact, url, "sst-1:dev", data_dir)
        back = p.post("/classify", {"sentence": "a fine film ."})
        assert back.status == 200 and back.headers["x-millicent-cold"] == "0"
        assert back.json()["probabilities"] == ok.json()["probabilities"]
    finally:
        if p is not None:
            p.stop()
        redis.stop()


def test_invoke_cli(platform: PlatformProcess, in_process: list[dict[str, Any]],
                    dev_sentences: list[str]) -> None:
    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "millicent.cli.main", "invoke",
                               "--endpoint", platform.url, *args],
                              cwd=REPO, capture_output=True, text=True, timeout=60)

    ok = invoke("--sentence", dev_sentences[3])
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["label"] == in_process[3]["label"]
    named = invoke("--function", "kim", "--sentence", dev_sentences[3])
    assert json.loads(named.stdout)["probabilities"] == json.loads(ok.stdout)["probabilities"]
    bad = invoke("--sentence", "   ")
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"] == "invalid_input"
    usage = invoke("--question", "who ?")
    assert usage.returncode == 2 and "--answer" in usage.stderr
