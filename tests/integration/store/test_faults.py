"""DynamoDB faults, for real: boto3 → HTTP → a fault-injecting proxy → dynalite.

Partial answers (``UnprocessedKeys``) and throttling errors must cost retries, never
words: the matrix equals the fault-free one. A persistently throttled table must end in
:class:`StoreUnavailable` within the deadline. dynalite's own ≈1.4 MB response cap produces
real ``UnprocessedKeys`` too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from millicent.errors import StoreUnavailable
from millicent.store import open_embeddings, open_store
from millicent.store.loader import load_store
from tests.integration.faultproxy import FaultProxy
from tests.servers import Server, free_port

pytestmark = pytest.mark.integration

RNG = np.random.default_rng(3)
WORDS = [f"w{i}" for i in range(600)]
MATRIX = RNG.standard_normal((len(WORDS), 50)).astype(np.float32)
TABLE = "fault-vectors"


@pytest.fixture(scope="module")
def table(dynalite: Server) -> str:
    url = f"dynamodb://{TABLE}?endpoint={dynalite.endpoint}&region=us-east-1"
    with open_store(url) as store:
        load_store(store, WORDS, MATRIX, source="rand", progress=False)
    return TABLE


@pytest.fixture
def proxy(dynalite: Server) -> Iterator[FaultProxy]:
    with FaultProxy(dynalite.endpoint, seed=11) as p:
        yield p


def url(endpoint: str, table: str = TABLE) -> str:
    return f"dynamodb://{table}?endpoint={endpoint}&region=us-east-1"


def test_partial_answers_and_throttling_lose_no_word(table: str, proxy: FaultProxy) -> None:
    request = [*WORDS[::2], "absent1", "absent2"]  # 302 unique keys: 4 concurrent chunks
    want = open_embeddings(url(proxy.upstream, table)).lookup(request)
    proxy.partial, proxy.throttle = 0.4, 0.3
    store = open_embeddings(url(proxy.endpoint, table), deadline_s=20.0)
    retries = 0
    for _ in range(15):
        got = store.lookup(request)
        assert np.array_equal(got.matrix, want.matrix)
        assert np.array_equal(got.found, want.found)
        assert got.stats.store_hits == 300 and got.stats.missing == 2
        assert got.stats.store_calls == 4 + got.stats.store_retries
        retries += got.stats.store_retries
    c = proxy.counters
    assert c.partial > 5 and c.throttled > 5 and c.keys_withheld > 50
    assert set(c.codes) == {"ProvisionedThroughputExceededException", "ThrottlingException"}
    assert retries == c.partial + c.throttled  # every injected fault cost exactly one retry
    store.close()


def test_persistent_throttling_ends_in_store_unavailable_within_the_deadline(
    table: str, proxy: FaultProxy
) -> None:
    proxy.throttle_all = True
    store = open_store(url(proxy.endpoint, table), read_only=True, deadline_s=0.8)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="deadline") as info:
        store.get_many(WORDS[:250])
    elapsed = time.monotonic() - t0
    assert 0.1 < elapsed <= 0.8 + 0.3  # + one in-flight call of slack
    assert info.value.status == 503
    assert proxy.counters.throttled >= 3 * 3  # each of 3 chunks retried several times
    store.close()


def test_unreachable_store_ends_in_store_unavailable(table: str) -> None:
    store = open_store(url(f"http://127.0.0.1:{free_port()}", table), read_only=True,
                       deadline_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.get_many(["w1"])
    assert time.monotonic() - t0 < 2.0
    store.close()


def test_dynalite_response_cap_gives_real_unprocessed_keys(dynalite: Server, tmp_path: Path) -> None:
    """100 items of 16 KB exceed dynalite's 1 MB + 400 KB response cap: it returns some as
    UnprocessedKeys (300-d items, 1.2 KB, would need 1,200 keys: more than a batch)."""
    words = [f"big{i}" for i in range(150)]
    big = RNG.standard_normal((150, 4096)).astype(np.float32)
    u = url(dynalite.endpoint, "big-vectors")
    with open_store(u) as store:
        load_store(store, words, big, source="rand", progress=False)
    store = open_embeddings(u)
    lk = store.lookup(words[:100])
    assert np.array_equal(lk.matrix, big[:100])
    assert lk.stats.store_calls == 1 + lk.stats.store_retries and lk.stats.store_retries >= 1
    store.close()


def test_unprocessed_items_on_upload_are_retried(dynalite: Server) -> None:
    """The paper's loader dropped UnprocessedItems; here every word lands and verifies."""
    with FaultProxy(dynalite.endpoint, write_partial=0.5, seed=5) as proxy:
        u = url(proxy.endpoint, "partial-writes")
        with open_store(u) as store:
            report = load_store(store, WORDS, MATRIX, source="rand", resume="upsert",
                                progress=False)
        assert report.verified and report.count == len(WORDS)
        assert proxy.counters.items_withheld > 100
        assert proxy.counters.batch_write > len(WORDS) // 25  # the retries
