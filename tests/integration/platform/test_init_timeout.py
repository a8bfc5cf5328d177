"""Lambda's INIT time limit on the real platform (in-process, real environment processes):
an on-demand INIT past the limit (10 s on Lambda; shortened here) is retried once, at the
invocation, in a new process under the function's timeout; a retry past that is a 502."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from millicent.platform.functions import FunctionSpec, PlatformSettings
from millicent.platform.platform import Platform
from tests.servers import REPO

pytestmark = pytest.mark.integration


def run(init_sleep_s: float, timeout_s: float, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    async def main() -> tuple[list[str], dict[str, Any]]:
        spec = FunctionSpec("init", handler="tests.lambda_init.handler", timeout_s=timeout_s,
                            environment={"INIT_SLEEP_S": str(init_sleep_s), "PYTHONPATH": str(REPO)})
        platform = Platform([spec], PlatformSettings(
            init_timeout_s=0.6, task_root=str(REPO), function_log_path=str(tmp_path / "f.log")))
        await platform.start()
        try:
            result = await platform.invoke("init", b"{}")
        finally:
            await platform.stop()
        log = (tmp_path / "f.log").read_text().splitlines()
        return log, {"record": result.record.to_dict(), "payload": json.loads(result.payload),
                     "error": result.function_error}

    return asyncio.run(main())


def test_an_init_over_the_limit_is_retried_under_the_function_timeout(tmp_path: Path) -> None:
    log, out = run(init_sleep_s=1.0, timeout_s=5.0, tmp_path=tmp_path)
    record = out["record"]
    assert out["error"] is None and record["status"] == "ok"
    assert any("INIT over 0.6 s: retried under the function timeout (5 s)" in line for line in log)
    # both attempts are the INIT phase: the first cut at 0.6 s, the retry ≥ 1.0 s
    assert record["init_ms"] >= 1600 and record["cold"]
    assert out["payload"]["invocation"] == 1


def test_a_retry_past_the_function_timeout_is_an_init_timeout(tmp_path: Path) -> None:
    _, out = run(init_sleep_s=3.0, timeout_s=1.0, tmp_path=tmp_path)
    assert out["error"] == "Unhandled"
    assert out["payload"]["errorType"] == "Runtime.InitTimeout"
    assert out["record"]["status"] == "init_error"
