"""CPU time and peak memory of a real child process, through kept-open ``/proc`` files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from millicent.platform import procstat

CHILD = r"""
import sys, threading, time
hold = []

def burn(ms):
    end = time.thread_time() + ms / 1000
    while time.thread_time() < end:
        pass

for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "burn":
        burn(float(cmd[1]))
    elif cmd[0] == "thread":  # a thread that burns, then a second one that stays alive
        t = threading.Thread(target=burn, args=(float(cmd[1]),)); t.start(); t.join()
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    elif cmd[0] == "alloc":
        hold.append(bytearray(int(cmd[1]) << 20))
    print("ok", flush=True)
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")


def test_probe_follows_cpu_threads_and_peak_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None

    def ask(cmd: str) -> None:
        child.stdin.write(cmd + "\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
        assert child.stdout.readline().strip() == "ok"  # type: ignore[union-attr]

    probe = procstat.ProcessProbe(child.pid)
    try:
        ask("burn 1")
        cpu0, peak0 = probe.sample()
        assert cpu0 is not None and peak0 is not None and peak0 > 1
        # the same counters as the file-by-file reading (the child is idle in between)
        assert cpu0 == pytest.approx(procstat.cpu_ms(child.pid), abs=0.5)
        assert peak0 == procstat.max_rss_mb(child.pid)
        ask("burn 60")
        cpu1, _ = probe.sample()
        assert cpu1 is not None and 55 <= cpu1 - cpu0 <= 150
        # CPU of a thread that ended is gone from /proc; a new live thread is picked up
        ask("thread 40")
        cpu2, _ = probe.sample()
        assert cpu2 is not None and cpu2 == pytest.approx(procstat.cpu_ms(child.pid), abs=0.5)
        assert len(probe._tasks) == 2
        ask("alloc 64")
        _, peak3 = probe.sample()
        assert peak3 is not None and peak3 >= peak0 + 60
    finally:
        child.kill()
        child.wait()
    assert probe.sample() == (None, None)  # the process is gone
    probe.close()
    assert not probe._tasks and probe._status is None
