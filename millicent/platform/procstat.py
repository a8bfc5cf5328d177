"""CPU time and peak memory of an environment process, read from ``/proc`` (Linux).

Lambda gives a function a CPU share proportional to its memory size; to project what a
request would cost there we need the CPU time it actually used here, not only wall time.
``/proc/<pid>/stat`` counts user+system time in clock ticks (10 ms on most kernels), far too
coarse for millisecond invocations, so the per-thread ``schedstat`` (nanoseconds of CPU run
time) is summed when the kernel provides it; ``stat`` is the fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _schedstat_ms(pid: int) -> float | None:
    total_ns = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    found = False
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text()
        except OSError:
            continue  # the thread ended between listdir and read
        total_ns += int(text.split()[0])
        found = True
    return total_ns / 1e6 if found else None


def _stat_ms(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces; fields after ')' are fixed
    fields = text.rsplit(")", 1)[1].split()
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
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    return None
