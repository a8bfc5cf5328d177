"""REPORT lines straight from a CloudWatch Logs log group (``millicent cost --log-group``).

``filter_log_events`` over the window, every page (the API returns at most 1 MB or 10,000
events per call and a ``nextToken``), asking only for the events that can be a REPORT: the
text line (``"REPORT RequestId"``) or Lambda's JSON log format (``"platform.report"``). Each
event goes through the same finder and strict parser as a log file
(:mod:`millicent.economics.reportlog`); a malformed one is named by its stream and event id.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from millicent.economics.reportlog import ReportLine, find_report
from millicent.errors import ConfigError, DataError

#: CloudWatch Logs filter pattern: either term (``?`` is OR)
REPORT_PATTERN = '?"REPORT RequestId" ?"platform.report"'
_SPAN = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def since_start(spec: str, now: dt.datetime) -> dt.datetime:
    """``--since``: a span back from ``now`` (``90s``, ``30m``, ``1h``, ``2d``, ``1w``) or an
    ISO timestamp (UTC unless it says otherwise)."""
    m = _SPAN.fullmatch(spec.strip())
    if m:
        return now - dt.timedelta(seconds=float(m["n"]) * _UNIT_S[m["unit"]])
    try:
        at = dt.datetime.fromisoformat(spec.strip())
    except ValueError:
        raise ConfigError(f"--since must be a span like 1h, 30m, 2d or an ISO time, got {spec!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def iter_report_events(logs: Any, group: str, start: dt.datetime, end: dt.datetime,
                       page_size: int | None = None) -> Iterator[ReportLine]:
    """Every REPORT record of ``group`` between ``start`` and ``end``, page after page."""
    from millicent.deploy.aws import call

    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": _ms(start), "endTime": _ms(end),
                              "filterPattern": REPORT_PATTERN}
    if page_size is not None:
        kwargs["limit"] = page_size
    while True:
        page = call(f"filter_log_events on {group}", logs.filter_log_events, **kwargs)
        for event in page.get("events", []):
            where = (f"log group {group}, stream {event.get('logStreamName', '?')}, "
                     f"event {event.get('eventId', '?')}")
            found = find_report(str(event.get("message", "")), where)
            if found is not None:
                yield found
        token = page.get("nextToken")
        if not token or token == kwargs.get("nextToken"):
            return
        kwargs["nextToken"] = token


def read_log_group(logs: Any, group: str, since: str, now: dt.datetime | None = None,
                   page_size: int | None = None) -> list[ReportLine]:
    """REPORT lines of ``group`` over the ``since`` window; DataError when there are none."""
    end = now or dt.datetime.now(dt.UTC)
    start = since_start(since, end)
    if start >= end:
        raise ConfigError(f"--since {since} is not in the past")
    from millicent.deploy.aws import AwsError

    try:
        lines = list(iter_report_events(logs, group, start, end, page_size))
    except AwsError as exc:
        if exc.details.get("aws_code") == "ResourceNotFoundException":
            raise DataError(f"log group {group} not found: {exc.message}") from exc
        raise
    if not lines:
        raise DataError(f"no REPORT lines in log group {group} since {start.isoformat(timespec='seconds')}")
    return lines
