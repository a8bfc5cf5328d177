"""A slow job's rate reads as what it is (0.47 batches/s, not 0), so its ETA can be trusted
at a glance — fine-tuning a transformer on two CPU cores runs at about that speed."""

from __future__ import annotations

from millicent.progress import Progress
from tests.unit.test_progress import _Clock, _Stream


def test_a_rate_below_ten_keeps_two_digits() -> None:
    clock, out = _Clock(), _Stream(tty=False)
    p = Progress("epoch 1/2", 4210, unit="batches", stream=out, clock=clock)  # type: ignore[arg-type]
    clock.t += 1000
    p.update_to(470)
    assert p.line() == "epoch 1/2: batch 470/4,210 (11%)  0.47 batches/s  ETA 2:12:37"
    clock.t += 1000
    p.update_to(4210)
    assert "  2.1 batches/s  ETA 0:00:00" in p.line()
