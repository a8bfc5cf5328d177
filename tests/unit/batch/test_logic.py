"""The batch runner's pure logic: what an answer means, backoff, batching, result lines."""

from __future__ import annotations

import json
import random

import pytest

from millicent.batch.backoff import Backoff
from millicent.batch.lines import answer_line, error_line, problem_line, refused_message
from millicent.batch.outcome import Answered, Fatal, Refused, Retry, Split, classify, item_index
from millicent.batch.runner import BatchJob, Entry, chunks, cut
from millicent.data.files import Problem
from millicent.errors import ConfigError

RESULT = {"label": "positive", "label_index": 3, "probabilities": [0.1, 0.2, 0.1, 0.5, 0.1],
          "tokens": ["good"], "unknown_words": []}


def test_answers_with_one_result_per_text() -> None:
    assert classify(200, {"results": [RESULT, RESULT]}, 2) == Answered([RESULT, RESULT])
    # a 200 that is not a batch answer stops the job: it is the wrong kind of endpoint
    for body in ({"results": [RESULT]}, {"label": "x"}, None, {"results": ["x", "y"]}):
        out = classify(200, body, 2)
        assert isinstance(out, Fatal) and "batch of 2 texts" in out.reason


@pytest.mark.parametrize(("body", "index"), [
    ({"error": "invalid_input", "message": "sentences[1] is empty or whitespace",
      "field": "sentences", "index": 1}, 1),
    # the service names token-limit items by field only
    ({"error": "invalid_input", "message": "sentences[2] has 1001 tokens; the limit is 1000",
      "field": "sentences[2]", "limit": 1000}, 2),
])
def test_a_refused_item_is_named(body: dict[str, object], index: int) -> None:
    out = classify(400, body, 3)
    assert isinstance(out, Refused) and out.index == index and out.status == 400
    assert out.code == "invalid_input" and "sentences[" not in out.message
    assert out.message.startswith("the text ")


def test_index_out_of_range_or_unnamed_items() -> None:
    assert item_index({"index": 7}, 3) is None
    assert item_index({"index": True}, 3) is None
    assert item_index({"field": "sentences"}, 3) is None
    # a 400 about the whole body is not any text's fault: the job stops
    out = classify(400, {"error": "invalid_input", "message": "field 'sentences' must be a list",
                         "field": "sentences"}, 3)
    assert isinstance(out, Fatal) and out.status == 400


def test_too_large_splits_or_refuses_one_text() -> None:
    over_limit = {"error": "payload_too_large", "field": "sentences", "limit": 256,
                  "message": "300 items in 'sentences'; the limit is 256 (MILLICENT_MAX_BATCH)"}
    assert classify(413, over_limit, 300) == Split(256, "413 payload_too_large: " + over_limit["message"])
    answer = {"error": "payload_too_large", "limit": 6291456, "message": "the answer would be ..."}
    out = classify(413, answer, 40)
    assert isinstance(out, Split) and out.limit is None
    one = classify(413, answer, 1)
    assert isinstance(one, Refused) and one.index == 0 and one.code == "payload_too_large"
    plain = classify(413, None, 1, "Request Entity Too Large")
    assert isinstance(plain, Refused) and plain.message == "Request Entity Too Large"


@pytest.mark.parametrize("status", [0, 429, 500, 502, 503, 504, 599])
def test_transient_answers_are_retried(status: int) -> None:
    out = classify(status, {"error": "x", "message": "y"}, 4, "why", retry_after_s=2.0)
    assert isinstance(out, Retry) and out.status == status and out.retry_after_s == 2.0
    assert out.function_failed == (status in (502, 504))


@pytest.mark.parametrize("status", [401, 403, 404, 405, 409])
def test_other_client_errors_stop_the_job(status: int) -> None:
    out = classify(status, {"error": "not_found", "message": "no function"}, 4)
    assert isinstance(out, Fatal) and "no function" in out.reason


def test_backoff_is_jittered_capped_and_honours_retry_after() -> None:
    b = Backoff(base_s=0.1, cap_s=2.0, rng=random.Random(1))
    waits = [b.delay(n) for n in range(1, 40)]
    assert all(0 <= w <= 2.0 for w in waits)
    assert all(w <= 0.1 * 2 ** n for n, w in enumerate(waits[:4], 1))
    assert len(set(waits)) == len(waits), "jittered: no two the same"
    assert b.delay(1, retry_after_s=1.5) >= 1.5
    assert b.delay(1, retry_after_s=60) <= 2.0


def test_result_lines() -> None:
    assert json.loads(answer_line(7, RESULT)) == {"line": 7, **RESULT}
    assert answer_line(7, {"label": "é"}).endswith("\"é\"}\n".encode())
    assert json.loads(error_line(3, "invalid_input", "the text is empty", 400)) == {
        "line": 3, "error": "invalid_input", "message": "the text is empty", "status": 400}
    blank = json.loads(problem_line(5, Problem("in.txt", 5, "blank line")))
    assert blank == {"line": 5, "error": "blank_line", "message": "blank line"}
    bad = json.loads(problem_line(6, Problem("in.jsonl", 6, "not valid JSON: ...")))
    assert bad["error"] == "bad_row"
    assert refused_message("sentences[12] has 5 tokens") == "the text has 5 tokens"


def test_cut_batches_texts_and_answers_bad_rows_at_once() -> None:
    items: list[tuple[int, str | Problem]] = [(1, "a"), (2, Problem("f", 2, "blank line")),
                                              (3, "b"), (4, "c"), (5, "d")]
    batches = list(cut(items, 2))
    assert [[e.line for e in b] for b in batches] == [[1, 2, 3], [4, 5]]
    assert batches[0][1].error and batches[0][1].result is not None
    assert all(e.result is None for b in batches for e in b if e.text is not None)
    # a long run of bad rows does not grow one batch without bound
    bad = [(n, Problem("f", n, "blank line")) for n in range(1, 101)]
    assert max(len(b) for b in cut(bad, 5)) == 20
    assert [len(c) for c in chunks([Entry(n, "x") for n in range(7)], 3)] == [3, 3, 1]


def test_job_arguments_are_checked(tmp_path: object) -> None:
    from pathlib import Path

    job = BatchJob(Path("in.txt"), Path("out.jsonl"), "http://h:1/", function="kim")
    assert job.url == "http://h:1/kim"
    assert BatchJob(Path("i"), Path("o"), "http://h:1").url == "http://h:1/classify"
    for bad in ({"batch_size": 0}, {"concurrency": 0}, {"function": "a/b"}, {"endpoint": "h:1"},
                {"retry_deadline_s": 0}):
        kw = {"endpoint": "http://h:1", **bad}
        with pytest.raises(ConfigError):
            BatchJob(Path("i"), Path("o"), **kw)  # type: ignore[arg-type]
