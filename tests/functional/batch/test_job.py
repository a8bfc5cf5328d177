"""``run_job`` end to end against a real loopback server answering with millicent's runtime:
bad rows and refused texts become one error line each, 413s split, 429 / 503 are retried,
a stopped job resumes to the same file, a different input or argument is refused."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from millicent.batch.job import run_job
from millicent.batch.journal import Journal
from millicent.batch.runner import BatchJob
from millicent.config import Limits
from millicent.economics.cost import CostOptions
from millicent.economics.prices import load_prices
from millicent.errors import DataError, MillicentError
from tests.batch_support import assert_same_results, read_results
from tests.functional.batch_function_server import FunctionProcess, FunctionServer, kim_and_store
from tests.servers import REPO

WORDS = ["a", "good", "bad", "film", "movie", "the", "is", "not", "great", "awful", "fine", "plot", "it", "was"]
PRICES = load_prices()
OPTIONS = CostOptions()


@pytest.fixture(scope="module")
def local() -> FunctionServer:
    """The served function's twin in this process, for the answers to expect."""
    return FunctionServer(*kim_and_store(WORDS))


@pytest.fixture
def serving(tmp_path: Path) -> Any:
    def start(**faults: Any) -> FunctionProcess:
        return FunctionProcess(WORDS, tmp_path, **faults)
    return start


def texts(n: int) -> list[str]:
    return [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(1 + i % 7)) for i in range(n)]


def write_jsonl(path: Path, rows: list[str | dict[str, Any]]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def job(inp: Path, out: Path, url: str, **kw: Any) -> BatchJob:
    kw.setdefault("progress", False)
    return BatchJob(inp, out, url, **kw)


@pytest.fixture
def dataset(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    rows: list[str | dict[str, Any]] = [{"text": t, "id": i} for i, t in enumerate(texts(60))]
    rows[9] = ""                                  # line 10: blank
    rows[19] = "{not json"                        # line 20: a bad row
    rows[29] = {"text": "\x00\x01"}               # line 30: no tokens: the function refuses it
    rows[39] = {"text": " ".join(["good"] * 30)}  # line 40: over the function's token limit
    yield write_jsonl(tmp_path / "in.jsonl", rows), [
        r["text"] if isinstance(r, dict) else "" for r in rows]


def check_answers(lines: list[dict[str, Any]], inputs: list[str], server: FunctionServer) -> None:
    assert [d["line"] for d in lines] == list(range(1, len(inputs) + 1))
    for d, text in zip(lines, inputs, strict=True):
        if "error" in d:
            continue
        status, single = server.answer({"sentence": text})
        assert status == 200 and d["label"] == single["label"]
        assert d["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)


def test_one_line_per_input_line_errors_named_413_split_429_retried(
        serving: Any, local: FunctionServer, dataset: tuple[Path, list[str]],
        tmp_path: Path) -> None:
    inp, inputs = dataset
    out = tmp_path / "out.jsonl"
    with serving(limits={"max_batch": 8, "max_tokens": 20}, throttle=3) as srv:
        report = run_job(job(inp, out, srv.endpoint, batch_size=16, concurrency=3,
                             retry_deadline_s=30), PRICES, OPTIONS)
        server = srv.stats()
    lines = read(out)
    check_answers(lines, inputs, FunctionServer(local.model, local.store,
                                                Limits(max_batch=8, max_tokens=20)))
    errors = {d["line"]: (d["error"], d["message"]) for d in lines if "error" in d}
    assert errors == {10: ("blank_line", "blank line"),
                      20: ("bad_row", errors[20][1]),
                      30: ("invalid_input", "the text is empty"),
                      40: ("invalid_input", "the text has 30 tokens; the limit is 20")}
    assert errors[20][1].startswith("not valid JSON")
    assert server["statuses"][:3] == [429] * 3 and 413 in server["statuses"]
    # after a 413 naming the limit every batch is cut to it: only those already cut
    # (at most the window of 2·C + 1) met the limit
    assert server["statuses"].count(413) <= 7 and server["batch_sizes"][-1] <= 8
    d = report.to_dict()
    assert d["complete"] and d["lines"] == 60 and d["ok"] == 56 and d["errors"] == 4
    s = report.session
    assert s is not None and s["retries"] >= 3 and s["retry_kinds"]["429"] >= 3 and s["splits"] >= 1
    # 429s never ran: only the answers with a duration are priced
    assert s["requests"] == len(server["statuses"])
    cost = d["cost_per_million_texts_usd"]
    assert cost["requests"] == pytest.approx(0.2 * d["requests_priced"] / 56)


def test_stopped_by_an_outage_then_resumed_equals_one_run(
        serving: Any, tmp_path: Path) -> None:
    inputs = texts(300)
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(inputs) + "\n")
    with serving() as srv:
        run_job(job(inp, tmp_path / "ref.jsonl", srv.endpoint, batch_size=10), PRICES, OPTIONS)
    out = tmp_path / "out.jsonl"
    with serving(outage=(8, 10_000)) as srv:
        with pytest.raises(MillicentError, match=r"input lines \d+–\d+: gave up after \d+ attempts"):
            run_job(job(inp, out, srv.endpoint, batch_size=10, concurrency=2,
                        retry_deadline_s=0.5, checkpoint_s=0.01), PRICES, OPTIONS)
        journal = Journal.load(Journal.path_for(out))
        done = journal.checkpoint.records
        assert 0 < done < 300 and not journal.complete
        assert len(read(out)) == done and read(out)[-1]["line"] == done
        srv.set(outage=(0, 0))  # the store is back
        sent = srv.stats()["requests"]
        report = run_job(job(inp, out, srv.endpoint, batch_size=25), PRICES, OPTIONS)
        assert srv.stats()["requests"] - sent == -(-(300 - done) // 25)
        assert_same_results(read_results(out), read_results(tmp_path / "ref.jsonl"))
        assert report.complete and len(report.sessions) == 2
        assert report.to_dict()["texts_priced"] == 300
        # run again: nothing to do, nothing sent, the file unchanged
        sent, before = srv.stats()["requests"], out.read_bytes()
        again = run_job(job(inp, out, srv.endpoint), PRICES, OPTIONS)
        assert srv.stats()["requests"] == sent
    assert again.already_complete and out.read_bytes() == before


def test_a_run_of_bad_rows_longer_than_a_batch_sends_nothing_for_them(
        serving: Any, tmp_path: Path) -> None:
    inp = tmp_path / "in.txt"
    inp.write_text("a good film\n" + "\n" * 25 + "a bad film\n")
    out = tmp_path / "out.jsonl"
    with serving() as srv:
        report = run_job(job(inp, out, srv.endpoint, batch_size=2), PRICES, OPTIONS)
        # the batches of blank lines between the two texts need no request
        assert srv.stats()["batch_sizes"] == [1, 1]
    lines = read(out)
    assert [d["line"] for d in lines] == list(range(1, 28))
    assert [d.get("error") for d in lines] == [None, *["blank_line"] * 25, None]
    assert report.to_dict()["errors"] == 25


def test_a_text_that_crashes_the_function_is_cornered_and_named(
        serving: Any, tmp_path: Path) -> None:
    inputs = texts(40)
    inputs[22] = "a POISON film"
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(inputs) + "\n")
    out = tmp_path / "out.jsonl"
    with serving(poison="POISON") as srv, pytest.raises(
            MillicentError, match=r"^input line 23: gave up after .*502"):
        run_job(job(inp, out, srv.endpoint, batch_size=8, retry_deadline_s=1.5), PRICES, OPTIONS)
    # every line before the poisoned one is written and checkpointed
    assert [d["line"] for d in read(out)] == list(range(1, 23))


def test_a_resumed_job_refuses_another_input_or_other_arguments(
        serving: Any, tmp_path: Path) -> None:
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(texts(30)) + "\n")
    out = tmp_path / "out.jsonl"
    with serving(outage=(0, 10_000)) as srv:
        with pytest.raises(MillicentError):
            run_job(job(inp, out, srv.endpoint, retry_deadline_s=0.2), PRICES, OPTIONS)
        srv.set(outage=(0, 0))
        with pytest.raises(DataError, match="function = None, not 'kim'"):
            run_job(job(inp, out, srv.endpoint, function="kim"), PRICES, OPTIONS)
        with pytest.raises(DataError, match=r"endpoint = 'http://127\.0\.0\.1:"):
            run_job(job(inp, out, "http://127.0.0.1:9"), PRICES, OPTIONS)
        with inp.open("a") as f:
            f.write("one more line\n")
        with pytest.raises(DataError, match="its size changed"):
            run_job(job(inp, out, srv.endpoint), PRICES, OPTIONS)
        other = tmp_path / "other.jsonl"
        other.write_text("somebody's file\n")
        with pytest.raises(DataError, match="no batch job's result file"):
            run_job(job(inp, other, srv.endpoint), PRICES, OPTIONS)
        assert other.read_text() == "somebody's file\n"


def _cli(inp: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "millicent.cli.main", "batch", "--input", str(inp),
            "--endpoint", url, "--out", str(out), *extra]


def test_the_cli_stops_cleanly_on_sigterm_and_resumes(serving: Any, tmp_path: Path) -> None:
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join(texts(2000)) + "\n")
    out = tmp_path / "out.jsonl"
    with serving(delay_s=0.01) as srv:
        # 250 batches of 8 at C = 1, 10 ms each: more than a second of work is left when
        # the first checkpoint (a second in) puts lines in the file
        proc = subprocess.Popen(_cli(inp, out, srv.endpoint, "--batch-size", "8",
                                     "--concurrency", "1"),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while (not out.exists() or out.read_bytes().count(b"\n") < 100) and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "NOT complete: run again with the same arguments" in err
        journal = Journal.load(Journal.path_for(out))
        # checkpointed on the way out: the journal holds every line written
        assert journal.checkpoint.bytes == out.stat().st_size and journal.checkpoint.records < 2000
        done = subprocess.run(_cli(inp, out, srv.endpoint, "--no-progress"), cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "2,000 lines: 2,000 answered, 0 error lines" in done.stdout
        assert "(2 runs of this job in all)" in done.stdout
        assert [d["line"] for d in read(out)] == list(range(1, 2001))
        # a wrong function is no retry's business: exit 2 and the endpoint's message
        bad = subprocess.run(_cli(inp, tmp_path / "x.jsonl", srv.endpoint, "--function", "bert",
                                  "--no-progress"),
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "the endpoint refused the batch: 404" in bad.stderr
