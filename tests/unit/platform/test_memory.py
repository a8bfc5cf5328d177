"""Pure logic of the memory limit: Lambda's messages and REPORT fields, and the guard's
polling (a fake clock-free object stands in for an environment)."""

from __future__ import annotations

import asyncio

import pytest

from millicent.platform.memory import (
    OUT_OF_MEMORY_ERROR,
    MemoryGuard,
    explain,
    init_report,
    lambda_message,
)
from millicent.platform.records import InvocationRecord


def test_lambdas_error_message_names_the_request() -> None:
    assert lambda_message("abc-1") == "RequestId: abc-1 Error: Runtime exited with error: signal: killed"
    assert lambda_message(None) == "Runtime exited with error: signal: killed"


def test_the_explanation_says_what_was_used_against_what_and_what_to_do() -> None:
    text = explain(140.2, 128, "invoke")
    assert "used 141 MB, over the function's memory size of 128 MB" in text
    assert OUT_OF_MEMORY_ERROR in text and "--memory-mb" in text
    assert "the next request starts a new environment" in text
    assert "during its INIT" in explain(None, 256, "init") and "more memory" in explain(None, 256, "init")
    assert "next cold start runs INIT again" in explain(300.0, 256, "snapshot")
    assert "restore from the snapshot" in explain(300.0, 256, "restore")


def test_init_report_is_lambdas_line() -> None:
    assert init_report(12.345) == ("INIT_REPORT Init Duration: 12.35 ms\tPhase: init\tStatus: error"
                                   "\tError Type: Runtime.OutOfMemory")


def test_report_line_of_an_out_of_memory_invocation_reads_as_lambdas() -> None:
    record = InvocationRecord(request_id="r-1", function="f", env_id="f-1", pid=1, cold=False,
                              init_ms=None, duration_ms=12.0, billed_ms=12, billed_ms_100=100,
                              cpu_ms=None, memory_mb=128, max_memory_mb=131.2,
                              status="out_of_memory", error_type=OUT_OF_MEMORY_ERROR)
    line = record.report_line()
    assert line.endswith("Memory Size: 128 MB\tMax Memory Used: 132 MB\tStatus: error"
                         "\tError Type: Runtime.OutOfMemory")


class FakeEnvironment:
    def __init__(self) -> None:
        self.checks = 0

    def check_memory(self) -> None:
        self.checks += 1


def test_the_guard_polls_what_is_watched_and_sleeps_when_nothing_is() -> None:
    async def scenario() -> tuple[int, int, int]:
        env = FakeEnvironment()
        watched: list[FakeEnvironment] = []
        guard = MemoryGuard(lambda: watched, 0.005)
        guard.start()
        await asyncio.sleep(0.05)
        idle = env.checks  # nothing watched: no poll
        watched.append(env)
        guard.wake()
        await asyncio.sleep(0.1)
        busy = env.checks
        watched.clear()
        await asyncio.sleep(0.02)
        after = env.checks
        await asyncio.sleep(0.05)
        await guard.stop()
        return idle, busy, env.checks - after

    idle, busy, later = asyncio.run(scenario())
    assert idle == 0 and busy >= 3 and later == 0


def test_a_poll_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryGuard(list, 0)
