"""Every case of the bad-input corpus (tests/data/bad_inputs.json) on every channel — the
real gateway, the Lambda Invoke API with the payload, and API Gateway v1/v2 events through
the Invoke API — gets its 4xx with a JSON error saying what is wrong (or its correct 200),
never a 5xx; and the platform's own accounting proves no environment process died.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from millicent.testing.loopback import PlatformProcess
from tests.reliability import corpus

pytestmark = pytest.mark.integration

CASES = corpus.load()
RUNS = [(case, ch) for case in CASES for ch in corpus.CHANNELS if case.expectation(ch) is not None]

#: invocations in which the handler raised (a direct invocation's 4xx is Lambda's
#: FunctionError): the platform must count exactly these as errors, nothing else
FUNCTION_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def before(platform: PlatformProcess) -> Iterator[dict[str, Any]]:
    """Both functions warm; their environment PIDs and the platform's totals, before the corpus."""
    for path, body in (("/classify", {"sentence": "a fine film ."}),
                       ("/rank", {"question": "who ?", "answer": "me ."})):
        assert platform.post(path, body).status == 200
    stats = platform.stats()
    pids = {e["function"]: e["pid"] for e in stats["environment_details"]}
    assert set(pids) == {"kim", "sm"}
    yield {"stats": stats, "pids": pids}


def test_the_corpus_is_big_and_covers_every_channel() -> None:
    assert len(CASES) >= 50
    for channel in corpus.CHANNELS:
        assert sum(ch == channel for _, ch in RUNS) >= 20, channel
    statuses = {c.expect["status"] for c in CASES}
    assert {200, 400, 404, 405, 413} <= statuses


@pytest.mark.parametrize(("case", "channel"), RUNS, ids=[f"{c.id}-{ch}" for c, ch in RUNS])
def test_case(platform: PlatformProcess, before: dict[str, Any], case: corpus.Case, channel: str) -> None:
    expect = case.expectation(channel)
    assert expect is not None
    out = corpus.run(platform, case, channel)
    if out.function_error:
        FUNCTION_ERRORS.append(f"{case.id}-{channel}")
    found = corpus.problems(out, expect)
    assert not found, f"{case.id} on {channel} ({case.what}): {'; '.join(found)}"


def test_no_environment_died_and_only_handler_errors_were_counted(
    platform: PlatformProcess, before: dict[str, Any]
) -> None:
    stats = platform.stats()
    pids = {e["function"]: e["pid"] for e in stats["environment_details"]}
    assert pids == before["pids"], "an environment was replaced: a bad input killed one"
    assert stats["environments"] == {"kim": 1, "sm": 1}
    old, new = before["stats"]["by_status"], stats["by_status"]
    for status in ("crash", "timeout", "init_error"):
        assert new.get(status, 0) == old.get(status, 0), f"{status}: {new}"
    assert stats["errors"] - before["stats"]["errors"] == len(FUNCTION_ERRORS)
    assert stats["throttles"] == before["stats"]["throttles"]
    assert "Traceback" not in (platform.log_dir / "serve.stderr").read_text()
