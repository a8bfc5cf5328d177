"""CPU time and peak memory of an environment process, read from ``/proc`` (Linux).

Lambda gives a function a CPU share proportional to its memory size; to project what a
request would cost there we need the CPU time it actually used here, not only wall time.
``/proc/<pid>/stat`` counts user+system time in clock ticks (10 ms on most kernels), far too
coarse for millisecond invocations, so the per-thread ``schedstat`` (nanoseconds of CPU run
time) is summed when the kernel provides it; ``stat`` is the fallback.
"""

from __future__ import annotations

import os

_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> bytes | None:
    # os-level I/O: this runs twice per invocation, pathlib/TextIOWrapper cost 5x more
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def _schedstat_ms(pid: int) -> float | None:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total_ns, found = 0, False
    for tid in tasks:
        raw = _read(f"/proc/{pid}/task/{tid}/schedstat")
        if raw:  # None/empty: the thread ended between listdir and read
            total_ns += int(raw.split(None, 1)[0])
            found = True
    return total_ns / 1e6 if found else None


def _stat_ms(pid: int) -> float | None:
    raw = _read(f"/proc/{pid}/stat")
    if not raw:
        return None
    # the command name (field 2) may contain spaces; fields after ')' are fixed
    fields = raw.rsplit(b")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) * 1000.0 / _TICKS_PER_S


def cpu_ms(pid: int) -> float | None:
    """CPU time (user + system, all threads) the process has used so far, in ms.

    None when the process is gone or ``/proc`` is unavailable.
    """
    value = _schedstat_ms(pid)
    return value if value is not None else _stat_ms(pid)


def max_rss_mb(pid: int) -> float | None:
    """Peak resident set size (``VmHWM``) of the process in MiB, or None when unknown."""
    raw = _read(f"/proc/{pid}/status")
    if not raw:
        return None
    at = raw.find(b"VmHWM:")
    if at < 0:
        return None
    return int(raw[at + 6 :].split(None, 1)[0]) / 1024.0  # kB
