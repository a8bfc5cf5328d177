"""The pure parts of ``train hf``: length-bucketed batches, the learning-rate schedule, the
``--out`` claim and the identity differences it names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.errors import InvalidInput

pytest.importorskip("torch")

from millicent.train.hf.batches import epoch_batches
from millicent.train.hf.outdir import claim, differences, mark_complete
from millicent.train.hf.run import LinearSchedule


def test_batches_cover_every_row_once_in_buckets_of_similar_length() -> None:
    lengths = np.random.default_rng(0).integers(3, 60, size=1003)
    batches = epoch_batches(lengths, 8, seed=1, epoch=1, chunk_batches=5)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1003))
    assert all(len(b) <= 8 for b in batches) and len(batches) == 26 * 5 - 4  # 25 chunks of 40 + 3
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    shuffled = np.mean([np.ptp(lengths[b]) for b in np.array_split(np.arange(1003), 126)])
    assert spread < shuffled / 3  # sorting within chunks: far less padding


def test_batches_are_a_function_of_seed_and_epoch() -> None:
    lengths = np.arange(200) % 17
    one = epoch_batches(lengths, 16, seed=1, epoch=2)
    assert all(np.array_equal(a, b) for a, b in zip(one, epoch_batches(lengths, 16, 1, 2), strict=True))
    other = epoch_batches(lengths, 16, seed=1, epoch=3)
    assert any(not np.array_equal(a, b) for a, b in zip(one, other, strict=True))


def test_linear_schedule_rises_then_falls_to_zero() -> None:
    f = LinearSchedule(warmup=4, total=20)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4) == 1.0 and f(12) == 0.5 and f(20) == 0.0 and f(25) == 0.0
    assert LinearSchedule(0, 10)(0) == 1.0


def test_differences_name_each_option() -> None:
    there = {"options": {"lr": 5e-05, "data": {"train": True}}, "files": {"train": "a" * 64}}
    here = {"options": {"lr": 3e-05, "data": {"train": True}}, "files": {"train": "b" * 64}}
    assert differences(there, here) == [
        'files.train: "aaaaaaaaaaa… there, "bbbbbbbbbbb… here', "options.lr: 5e-05 there, 3e-05 here"]
    assert differences(there, there) == []


def test_claim_new_resume_complete_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    ident = {"options": {"lr": 1.0}}
    assert claim(out, ident, "cmd") == "new"
    assert claim(out, ident, "cmd") == "resume"
    with pytest.raises(InvalidInput, match=r"another command .*lr: 1\.0 there, 2\.0 here"):
        claim(out, {"options": {"lr": 2.0}}, "cmd2")
    mark_complete(out)
    assert claim(out, ident, "cmd") == "complete"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidInput, match="is a file"):
        claim(tmp_path / "file", ident, "cmd")
