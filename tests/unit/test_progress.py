"""The tool's one progress display: plain lines in logs (every tenth, with rate and ETA,
the counters given, once at the end), a bar on a terminal, nothing when disabled."""

from __future__ import annotations

from millicent.progress import Progress, clock_text, displays


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.text = ""
        self.tty = tty

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self.tty


def test_plain_lines_every_tenth_with_rate_and_eta() -> None:
    clock, out = _Clock(), _Stream(tty=False)
    p = Progress("batch", 1000, unit="lines", stream=out, clock=clock)  # type: ignore[arg-type]
    for line in range(50, 1001, 50):
        clock.t += 0.5
        p.update_to(line, errors=line // 500, retries=3)
    p.close()
    lines = out.text.splitlines()
    assert len(lines) == 10, "one plain line per tenth, none repeated at the end"
    assert lines[0] == "batch: line 100/1,000 (10%)  100 lines/s  ETA 0:00:09  errors 0  retries 3"
    assert lines[-1].startswith("batch: line 1,000/1,000 (100%)") and "errors 2" in lines[-1]
    assert clock_text(3725) == "1:02:05"


def test_a_resumed_job_counts_its_rate_from_where_it_started() -> None:
    clock, out = _Clock(), _Stream(tty=False)
    p = Progress("batch", None, unit="lines", initial=500, stream=out, clock=clock)  # type: ignore[arg-type]
    clock.t += 1
    p.update_to(600)
    p.close()
    assert out.text == "batch: line 600  100 lines/s  ETA –\n"


def test_end_only_prints_one_summary_line() -> None:
    clock, out = _Clock(), _Stream(tty=False)
    with Progress("epoch 1/2", 100, unit="batches", stream=out, plain="end",  # type: ignore[arg-type]
                  clock=clock) as p:
        for _ in range(100):
            clock.t += 0.01
            p.advance(1, loss=0.25)
        p.close("dev_accuracy 0.8123")
    assert out.text.count("\n") == 1
    assert out.text.startswith("epoch 1/2: batch 100/100 (100%)  100 batches/s")
    assert "loss 0.2500 | dev_accuracy 0.8123" in out.text


def test_a_terminal_gets_a_bar_redrawn_in_place() -> None:
    out = _Stream(tty=True)
    p = Progress("loading", 200, unit="words", stream=out)  # type: ignore[arg-type]
    p.advance(100)
    p.advance(100, errors=1)
    p.close()
    assert "\r" in out.text and out.text.endswith("\n") and "200/200" in out.text
    assert "loading" in out.text


def test_disabled_shows_nothing_and_a_factory_is_lent_only_when_enabled() -> None:
    out = _Stream(tty=False)
    with Progress("x", 10, stream=out, enabled=False) as p:  # type: ignore[arg-type]
        p.advance(10)
    assert out.text == ""
    assert displays(False) is None
    make = displays(True, unit="words")
    assert make is not None and isinstance(make("loading", 5), Progress)
