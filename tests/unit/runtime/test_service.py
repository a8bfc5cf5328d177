"""Answer batching in ``service.rank``: bounded padded batches, every answer exactly once."""

from itertools import pairwise

from millicent.runtime.service import BATCH_FLOATS, _chunks


def test_chunks_cover_every_answer_in_order_and_fit_the_budget() -> None:
    lengths = [3, 900, 5, 5, 1000, 2] * 40
    dim = 300
    chunks = _chunks(lengths, dim)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(lengths)
    for (lo, hi), (lo2, _) in pairwise(chunks):
        assert hi == lo2 and hi > lo
    for lo, hi in chunks:
        if hi - lo > 1:  # a single answer always goes, however long
            assert (hi - lo) * max(lengths[lo:hi]) * dim <= BATCH_FLOATS


def test_small_requests_are_one_batch() -> None:
    assert _chunks([10, 12, 8], 50) == [(0, 3)]
    assert _chunks([], 50) == []
