"""Lambda's own bill, line by line: CloudWatch ``REPORT`` lines, found and parsed.

After every invocation Lambda logs one line (tab-separated)::

    REPORT RequestId: 8f5c…\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tInit Duration: 150.00 ms

(a SnapStart restore has ``Restore Duration`` and ``Billed Restore Duration`` instead of
``Init Duration``; X-Ray adds ``XRAY TraceId``/``SegmentId``/``Sampled``; a timeout or crash
adds ``Status`` and ``Error Type``). Liberal in what is *found*: a line may carry a timestamp
prefix (``aws logs tail``), be a JSON log event whose ``message`` holds it (``aws logs
filter-log-events``, exports), a CSV cell, a JSON-escaped string, or Lambda's JSON log format
(``"type": "platform.report"`` with ``metrics``); a file may also be one JSON document with
an ``events`` list. Strict in what is *parsed*: once a line says ``REPORT RequestId:``, every
field must be known, well-formed and in its unit, and the required ones present — otherwise
:class:`~millicent.errors.DataError` names the file and line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.economics.cost import Usage
from millicent.errors import DataError

MARK = "REPORT RequestId:"
#: numeric fields: name -> (unit, integer?)
NUMERIC = {
    "Duration": ("ms", False),
    "Billed Duration": ("ms", True),
    "Memory Size": ("MB", True),
    "Max Memory Used": ("MB", True),
    "Init Duration": ("ms", False),
    "Restore Duration": ("ms", False),
    "Billed Restore Duration": ("ms", True),
}
TEXT = ("Status", "Error Type", "XRAY TraceId", "SegmentId", "Sampled")
REQUIRED = ("Duration", "Billed Duration", "Memory Size")
#: Lambda's JSON log format (``platform.report``): metrics key -> REPORT field
JSON_METRICS = {
    "durationMs": "Duration", "billedDurationMs": "Billed Duration",
    "memorySizeMB": "Memory Size", "maxMemoryUsedMB": "Max Memory Used",
    "initDurationMs": "Init Duration", "restoreDurationMs": "Restore Duration",
    "billedRestoreDurationMs": "Billed Restore Duration",
}
# longest names first, so "Billed Restore Duration" is not read as "…Duration"
_NAMES = sorted([*NUMERIC, *TEXT], key=len, reverse=True)
_FIELD = re.compile(r"(?P<name>" + "|".join(re.escape(n) for n in _NAMES) + r"): (?P<value>\S+)(?: (?P<unit>[A-Za-z]{1,3})\b)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class ReportLine:
    """One parsed REPORT line and where it came from (``file:line``)."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_mb: int | None
    init_ms: float | None
    restore_ms: float | None
    billed_restore_ms: int | None
    status: str | None
    where: str

    @property
    def cold(self) -> bool:
        return self.init_ms is not None or self.restore_ms is not None

    def usage(self) -> Usage:
        """The cost model's view: the Billed Duration as logged is the bill."""
        kind = "restore" if self.restore_ms is not None else "init" if self.init_ms is not None else None
        outside = self.restore_ms if kind == "restore" else self.init_ms
        return Usage(duration_ms=self.duration_ms, init_ms=float(outside or 0.0), init_kind=kind,
                     billed_ms=self.billed_ms, restore_billed_ms=self.billed_restore_ms,
                     memory_mb=self.memory_mb)


def _number(name: str, value: str, unit: str | None, where: str) -> float:
    want, integer = NUMERIC[name]
    if unit != want:
        got = f"{value} {unit}" if unit else f"{value} (no unit)"
        raise DataError(f"{where}: malformed REPORT line: {name} must be in {want}, got {got!r}")
    if not _NUMBER.fullmatch(value) or (integer and "." in value):
        kind = "a whole number" if integer else "a number"
        raise DataError(f"{where}: malformed REPORT line: {name} must be {kind} of {want}, got {value!r}")
    return float(value)


def _fields(text: str, where: str) -> dict[str, Any]:
    """Every ``Name: value [unit]`` after the request id, each known and once."""
    out: dict[str, Any] = {}
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        m = _FIELD.match(text, pos)
        if m is None:
            raise DataError(f"{where}: malformed REPORT line: unexpected {text[pos:pos + 40]!r}")
        name, value, unit = m["name"], m["value"], m["unit"]
        if name in out:
            raise DataError(f"{where}: malformed REPORT line: {name} appears twice")
        if name in NUMERIC:
            out[name], pos = _number(name, value, unit, where), m.end()
        else:  # text fields have no unit: what follows is the next field
            out[name], pos = value, m.end("value")


def parse_report(text: str, where: str) -> ReportLine:
    """Parse one REPORT line (strict; ``where`` names it in errors)."""
    body = text.strip()
    if not body.startswith(MARK):
        raise DataError(f"{where}: not a REPORT line")
    rest = body[len(MARK):].lstrip(" ")
    request_id, _, tail = rest.partition("\t") if "\t" in rest else rest.partition(" ")
    if not request_id or ":" in request_id:
        raise DataError(f"{where}: malformed REPORT line: no RequestId")
    fields = _fields(tail, where)
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise DataError(f"{where}: malformed REPORT line: lacks {', '.join(missing)}")
    if "Init Duration" in fields and "Restore Duration" in fields:
        raise DataError(f"{where}: malformed REPORT line: both Init and Restore Duration")
    if ("Billed Restore Duration" in fields) != ("Restore Duration" in fields):
        raise DataError(f"{where}: malformed REPORT line: Restore Duration and Billed Restore "
                        "Duration come together")
    return _line(request_id, fields, where)


def _line(request_id: str, f: dict[str, Any], where: str) -> ReportLine:
    def opt_int(name: str) -> int | None:
        return int(f[name]) if name in f else None

    return ReportLine(
        request_id=request_id, duration_ms=f["Duration"], billed_ms=int(f["Billed Duration"]),
        memory_mb=int(f["Memory Size"]), max_memory_mb=opt_int("Max Memory Used"),
        init_ms=f.get("Init Duration"), restore_ms=f.get("Restore Duration"),
        billed_restore_ms=opt_int("Billed Restore Duration"), status=f.get("Status"), where=where)


def _from_platform_json(event: dict[str, Any], where: str) -> ReportLine | None:
    """Lambda's JSON log format: ``{"type": "platform.report", "record": {"metrics": …}}``."""
    record = event.get("record")
    if event.get("type") != "platform.report" or not isinstance(record, dict):
        return None
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or not isinstance(record.get("requestId"), str):
        raise DataError(f"{where}: malformed platform.report event: lacks requestId or metrics")
    parts = [f"{MARK} {record['requestId']}"]
    for key, name in JSON_METRICS.items():
        value = metrics.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DataError(f"{where}: malformed platform.report event: {key} is {value!r}")
            num = f"{value:g}" if NUMERIC[name][1] and float(value).is_integer() else repr(float(value))
            parts.append(f"{name}: {num} {NUMERIC[name][0]}")
    if record.get("status") not in (None, "success"):
        parts.append(f"Status: {record['status']}")
    return parse_report("\t".join(parts), where)


def _from_text(text: str, where: str) -> ReportLine | None:
    """A REPORT line anywhere in ``text``: after a timestamp, inside a CSV cell, escaped."""
    at = text.find(MARK)
    if at < 0:
        return None
    piece = text[at:].rstrip()
    if "\\t" in piece:  # a JSON string seen as text: decode its escapes up to the closing quote
        end = re.search(r'(?<!\\)"', piece)
        raw = piece[:end.start()] if end else piece
        try:
            piece = json.loads(f'"{raw}"')
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: malformed REPORT line: bad escape: {exc}") from exc
    return parse_report(piece.rstrip('",'), where)


def find_report(text: str, where: str) -> ReportLine | None:
    """The REPORT record a log line carries, in any of the formats above; None if none."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            event = json.loads(stripped)
        except json.JSONDecodeError:
            event = None
        if isinstance(event, dict):
            found = _from_platform_json(event, where)
            if found is not None:
                return found
            message = event.get("message")
            if isinstance(message, str):
                return find_report(message, where)
            if MARK not in stripped:
                return None
    return _from_text(text, where)


def report_lines(lines: Iterable[str], source: str) -> Iterator[ReportLine]:
    """Every REPORT record in ``lines`` (``source`` names them: ``source:lineno``)."""
    for lineno, line in enumerate(lines, 1):
        found = find_report(line, f"{source}:{lineno}")
        if found is not None:
            yield found


def _events_document(text: str, source: str) -> list[ReportLine] | None:
    """A whole-file JSON document with an ``events`` list (``aws logs filter-log-events``)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    events = doc.get("events") if isinstance(doc, dict) else doc if isinstance(doc, list) else None
    if not isinstance(events, list):
        return None
    out = []
    for i, event in enumerate(events):
        found = find_report(json.dumps(event) if isinstance(event, dict) else str(event),
                            f"{source}: events[{i}]")
        if found is not None:
            out.append(found)
    return out


def read_report_log(path: str | Path) -> list[ReportLine]:
    """Every REPORT record of a log file; DataError for a missing file or a malformed line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"report log {p} not found") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"report log {p} is not UTF-8 text: {exc}") from exc
    if text.lstrip().startswith(("{", "[")):
        whole = _events_document(text, str(p))
        if whole is not None:
            return whole
    return list(report_lines(text.splitlines(), str(p)))


def read_report_logs(paths: Sequence[str | Path]) -> list[ReportLine]:
    """REPORT records of several files; DataError when none holds a single one."""
    lines = [line for path in paths for line in read_report_log(path)]
    if not lines:
        raise DataError(f"no REPORT lines in {', '.join(str(p) for p in paths)}")
    return lines
