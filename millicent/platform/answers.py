"""What the gateway answers for a finished invocation, as pure functions (no aiohttp): the
HTTP status of a function error and the ``x-millicent-*`` headers carrying its REPORT record."""

from __future__ import annotations

from millicent import errors
from millicent.errors import MillicentError
from millicent.platform.records import InvocationRecord
from millicent.platform.sandbox import CRASH_ERROR, TIMEOUT_ERROR


def error_status(error_type: str | None) -> int:
    """HTTP status for a function error: a millicent error's own, else Lambda's gateway codes."""
    if error_type == TIMEOUT_ERROR:
        return 504
    if error_type == CRASH_ERROR:
        return 502
    cls = getattr(errors, error_type or "", None)
    if isinstance(cls, type) and issubclass(cls, MillicentError):
        return cls.status
    return 502


def report_headers(record: InvocationRecord) -> dict[str, str]:
    """The ``x-millicent-*`` headers carrying one invocation's REPORT record.

    ``init-ms`` is the INIT phase and ``restore-ms`` a snapshot's restore, both outside the
    invocation's ``duration-ms`` (the billed Duration); "0" when there was none.
    ``init-kind`` says which cold start it was (``init`` | ``restore``), absent when warm.
    """
    h = {
        "x-millicent-request-id": record.request_id,
        "x-millicent-cold": "1" if record.cold else "0",
        "x-millicent-duration-ms": f"{record.duration_ms:.3f}",
        "x-millicent-billed-ms": str(record.billed_ms),
        "x-millicent-init-ms": f"{record.init_ms:.3f}" if record.init_ms is not None else "0",
        "x-millicent-restore-ms": (f"{record.restore_ms:.3f}" if record.restore_ms is not None
                                   else "0"),
        "x-millicent-memory-mb": str(record.memory_mb),
    }
    kind = record.init_kind
    if kind is not None:
        h["x-millicent-init-kind"] = kind
    if record.cpu_ms is not None:
        h["x-millicent-cpu-ms"] = f"{record.cpu_ms:.3f}"
    if record.max_memory_mb is not None:
        h["x-millicent-max-memory-mb"] = f"{record.max_memory_mb:.1f}"
    return h
