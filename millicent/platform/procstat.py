"""CPU time and peak memory of an environment process, read from ``/proc`` (Linux).

Lambda gives a function a CPU share proportional to its memory size; to project what a
request would cost there we need the CPU time it actually used here, not only wall time.
``/proc/<pid>/stat`` counts user+system time in clock ticks (10 ms on most kernels), far too
coarse for millisecond invocations, so the per-thread ``schedstat`` (nanoseconds of CPU run
time) is summed when the kernel provides it; ``stat`` is the fallback.
"""

from __future__ import annotations

import contextlib
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


class ProcessProbe:
    """:func:`cpu_ms` and :func:`max_rss_mb` of one process, read from ``/proc`` files kept
    open: one ``pread`` of ``status`` plus one per thread's ``schedstat`` per sample,
    instead of opening, reading and closing each file (and listing the threads) every time
    — 23 µs → 11 µs per invocation on the development machine.

    The thread list is read again when ``status`` reports another thread count or a
    thread's file has gone. Not thread-safe (the platform's event loop owns it).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._status: int | None = None
        self._tasks: dict[str, int] = {}  # thread id → open schedstat fd

    def sample(self) -> tuple[float | None, float | None]:
        """``(cpu_ms, max_rss_mb)`` now; None for what cannot be read (process gone)."""
        threads, hwm = self._read_status()
        if threads is None:
            return None, hwm
        cpu = self._schedstat(threads)
        return (cpu if cpu is not None else _stat_ms(self.pid)), hwm

    def close(self) -> None:
        for fd in [*self._tasks.values(), *([self._status] if self._status is not None else [])]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._tasks.clear()
        self._status = None

    def _read_status(self) -> tuple[int | None, float | None]:
        try:
            if self._status is None:
                self._status = os.open(f"/proc/{self.pid}/status", os.O_RDONLY)
            raw = os.pread(self._status, 4096, 0)
        except OSError:
            return None, None
        threads = _field(raw, b"Threads:")
        hwm = _field(raw, b"VmHWM:")
        return (None if threads is None else int(threads),
                None if hwm is None else hwm / 1024.0)

    def _schedstat(self, threads: int) -> float | None:
        if len(self._tasks) != threads:
            self._relist()
        for _ in range(2):  # a thread ended since the listing: list again, once
            total_ns = 0
            try:
                for fd in self._tasks.values():
                    total_ns += int(os.pread(fd, 128, 0).split(None, 1)[0])
            except (OSError, ValueError, IndexError):
                self._relist()
                continue
            return total_ns / 1e6 if self._tasks else None
        return None

    def _relist(self) -> None:
        try:
            tids = set(os.listdir(f"/proc/{self.pid}/task"))
        except OSError:
            tids = set()
        for tid in [t for t in self._tasks if t not in tids]:
            with contextlib.suppress(OSError):
                os.close(self._tasks.pop(tid))
        for tid in tids - set(self._tasks):
            with contextlib.suppress(OSError):
                self._tasks[tid] = os.open(f"/proc/{self.pid}/task/{tid}/schedstat", os.O_RDONLY)


def _field(raw: bytes, name: bytes) -> float | None:
    """The number after ``name`` in a ``/proc/<pid>/status`` text, or None."""
    at = raw.find(name)
    if at < 0:
        return None
    return float(raw[at + len(name):].split(None, 1)[0])
