"""``millicent cost --log-group``: REPORT lines read from CloudWatch Logs (moto's server, a
real process on loopback) with paginated ``filter_log_events``, priced as ``--report-log``.

moto ignores CloudWatch's OR filter pattern (``?"a" ?"b"``) and returns every event, so the
non-REPORT events below also prove the parser skips them; AWS itself filters server-side.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from millicent.cli.main import main
from millicent.deploy.logsource import read_log_group
from millicent.errors import DataError
from tests.deploy_support import MotoServer

pytestmark = pytest.mark.integration
REGION = "eu-west-1"
GROUP = "/aws/lambda/millicent-it"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    yield server
    server.stop()


def _report(i: int, extra: str = "") -> str:
    return (f"REPORT RequestId: 00000000-0000-0000-0000-{i:012d}\tDuration: 12.{i % 90 + 10} ms\t"
            f"Billed Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t{extra}")


@pytest.fixture(scope="module")
def logs(moto):
    # module scope: the autouse dummy credentials are not set yet, so name them here
    client = boto3.client("logs", region_name=REGION, endpoint_url=moto.endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_log_group(logGroupName=GROUP)
    now = int(time.time() * 1000)
    for s in range(2):  # two environments' streams, START/END around every REPORT
        stream = f"2026/11/30/[$LATEST]{s:032x}"
        client.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        events = []
        for i in range(s * 500, (s + 1) * 500):
            t = now - 60_000 + i
            events += [{"timestamp": t, "message": f"START RequestId: {i} Version: $LATEST"},
                       {"timestamp": t, "message": _report(i)},
                       {"timestamp": t, "message": f"END RequestId: {i}"}]
        client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)
    # an old event outside the window, and one in Lambda's JSON log format
    old = f"2026/11/29/[$LATEST]{9:032x}"
    client.create_log_stream(logGroupName=GROUP, logStreamName=old)
    client.put_log_events(logGroupName=GROUP, logStreamName=old, logEvents=[
        {"timestamp": now - 3 * 3600_000, "message": _report(9999)}])
    return client


class _CountingLogs:
    """The real client, counting the pages asked for."""

    def __init__(self, client) -> None:
        self.client, self.calls = client, 0

    def filter_log_events(self, **kwargs):
        self.calls += 1
        return self.client.filter_log_events(**kwargs)


def test_reads_every_page_and_only_the_window(logs) -> None:
    counting = _CountingLogs(logs)
    lines = read_log_group(counting, GROUP, "1h", page_size=100)  # 3,000 events in the window
    assert counting.calls >= 30
    assert len(lines) == 1000
    assert len({line.request_id for line in lines}) == 1000
    assert all(line.billed_ms == 13 and line.memory_mb == 128 for line in lines)
    assert len(read_log_group(logs, GROUP, "4h", page_size=1000)) == 1001


def test_cli_prices_the_log_group_like_a_report_log(moto, logs, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cost"
    assert main(["cost", "--log-group", GROUP, "--since", "1h", "--region", REGION,
                 "--endpoint-url", moto.endpoint, "--out", str(out)]) == 0
    (group,) = json.loads((out / "cost.json").read_text())["groups"]
    assert group["requests"] == 1000
    assert round(group["cost_per_million_usd"]["compute"], 4) == 0.0271
    assert group["cost_per_million_usd"]["requests"] == pytest.approx(0.20)
    assert f"log group {GROUP} (since 1h)" in capsys.readouterr().out


def test_a_malformed_event_names_its_stream_and_event(moto, logs) -> None:
    client = boto3.client("logs", region_name=REGION, endpoint_url=moto.endpoint)
    group = "/aws/lambda/millicent-bad"
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="s1")
    client.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": _report(1).replace("13 ms", "13.5 ms")}])
    with pytest.raises(DataError, match=r"log group /aws/lambda/millicent-bad, stream s1, event .*"
                                        r"Billed Duration must be a whole number"):
        read_log_group(client, group, "1h")
    with pytest.raises(DataError, match="not found"):
        read_log_group(client, "/aws/lambda/nope", "1h")
    with pytest.raises(DataError, match="no REPORT lines"):
        client.create_log_group(logGroupName="/aws/lambda/empty")
        read_log_group(client, "/aws/lambda/empty", "1h")
