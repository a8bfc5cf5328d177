"""The same behavioural suite against every backend, on real servers (dynalite, redis-server).

Every backend must return, for the same words, exactly the matrix the in-memory reference
returns (float16 stores: the float16-rounded one); the list layout too, since its numbers
are written as shortest float32 decimals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.errors import StoreError
from millicent.runtime.artifact import TokenizerSpec
from millicent.store import open_embeddings, open_store
from millicent.store.base import META_KEY
from millicent.store.loader import load_store
from millicent.store.memory import MemoryStore
from millicent.store.pack import select_top, write_pack
from millicent.tokenizers import make_tokenizer
from tests.integration.store_helpers import BACKENDS, fresh_url
from tests.servers import Server

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))
ptb_key = PTB.vocabulary_key

pytestmark = pytest.mark.integration

DIM = 50
RNG = np.random.default_rng(2018)
WORDS = ["the", ",", "-LRB-", "naïve", "café", "日本", "don't", "n't", "3.14", "a-b"] + [
    f"word{i}" for i in range(340)
]
MATRIX = RNG.standard_normal((len(WORDS), DIM)).astype(np.float32)
UNKNOWN = ["zzqx", "qwertyuiop", "Ünknown"]
# 250 unique present words + unknowns + repeats: > 100 unique, so DynamoDB runs 3+ chunks
REQUEST = WORDS[200:] + UNKNOWN + ["(", "the", "THE", META_KEY, "word250", "zzqx"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def loaded(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    dyn: Server | None = request.getfixturevalue("dynalite") if "dynamodb" in backend else None
    red: Server | None = request.getfixturevalue("redis_server") if backend == "redis" else None
    url, opts = fresh_url(backend, tmp_path, dyn, red)
    with open_store(url) as store:
        report = load_store(store, WORDS, MATRIX, source="test", progress=False, **opts, key=ptb_key)
    assert report.verified and report.count == len(WORDS)
    return backend, url


def reference(backend: str) -> MemoryStore:
    m = MATRIX.astype(np.float16).astype(np.float32) if backend.endswith("float16") else MATRIX
    return MemoryStore.from_vectors(WORDS, m, key=ptb_key)


def test_lookup_equals_the_reference_matrix(loaded: tuple[str, str]) -> None:
    backend, url = loaded
    store = open_embeddings(url)
    try:
        got = store.lookup(PTB.keys(REQUEST))
        want = reference(backend).lookup(PTB.keys(REQUEST))
        assert got.matrix.dtype == np.float32 and got.matrix.shape == (len(REQUEST), DIM)
        assert np.array_equal(got.matrix, want.matrix)
        assert np.array_equal(got.found, want.found)
        assert got.unknown == PTB.keys([*UNKNOWN, META_KEY])  # the unknown words' keys
        s = got.stats
        assert (s.words, s.store_hits, s.missing) == (len(set(REQUEST)) - 1, 152, 4)
        assert s.store_calls == (1 if backend in ("sqlite", "redis") else 2)
        assert len(s.store_item_bytes) == s.store_hits and min(s.store_item_bytes) > 0
    finally:
        store.close()


def test_meta_count_and_read_only(loaded: tuple[str, str]) -> None:
    backend, url = loaded
    store = open_embeddings(url).backend
    meta = store.meta
    assert meta.dim == DIM and meta.count == len(WORDS) == store.count()
    assert meta.layout == ("list" if backend.endswith("list") else "binary")
    assert meta.dtype == ("float16" if backend.endswith("float16") else "float32")
    with pytest.raises(StoreError):
        store.put_many([("x", np.zeros(DIM))])
    store.close()


def test_another_dimension_is_refused_more_words_are_added(loaded: tuple[str, str]) -> None:
    backend, url = loaded
    opts = {"layout": "list"} if backend.endswith("list") else {}
    opts |= {"dtype": "float16"} if backend.endswith("float16") else {}
    with open_store(url) as store:
        with pytest.raises(StoreError, match="dim"):
            load_store(store, ["x"], np.ones((1, 300), np.float32), source="x", progress=False, **opts, key=ptb_key)
        extra = RNG.standard_normal((20, DIM)).astype(np.float32)
        r = load_store(store, [f"extra{i}" for i in range(20)], extra, source="more",
                       progress=False, **opts, key=ptb_key)
        assert (r.written, r.count) == (20, len(WORDS) + 20)


def test_pack_and_lru_in_front(loaded: tuple[str, str], tmp_path: Path) -> None:
    backend, url = loaded
    ref = reference(backend)
    dtype = "float16" if backend.endswith("float16") else "float32"
    sel = select_top(WORDS, MATRIX, top=100, key=ptb_key)
    pack = write_pack(tmp_path / "top100.pack", sel.keys, sel.matrix, dtype=dtype)
    store = open_embeddings(url, pack_path=str(pack), lru_size=1000)
    try:
        request = WORDS[50:150] + UNKNOWN
        first = store.lookup(PTB.keys(request))
        second = store.lookup(PTB.keys(request))
        for lk in (first, second):
            assert np.array_equal(lk.matrix, ref.lookup(PTB.keys(request)).matrix)
        assert (first.stats.pack_hits, first.stats.store_hits, first.stats.missing) == (50, 50, 3)
        assert (second.stats.pack_hits, second.stats.lru_hits, second.stats.store_items) == (50, 50, 0)
        assert second.stats.negative_hits == 3 and second.stats.store_calls == 0
    finally:
        store.close()


def test_all_backends_return_identical_matrices(
    tmp_path: Path, dynalite: Server, redis_server: Server
) -> None:
    matrices = {}
    for backend in ("sqlite", "dynamodb-binary", "dynamodb-list", "redis"):
        url, opts = fresh_url(backend, tmp_path, dynalite, redis_server)
        with open_store(url) as store:
            load_store(store, WORDS, MATRIX, source="test", progress=False, **opts, key=ptb_key)
        with open_embeddings(url) as store:
            matrices[backend] = store.lookup(PTB.keys(REQUEST)).matrix
    first = matrices.pop("sqlite")
    for backend, m in matrices.items():
        assert np.array_equal(m, first), backend


def test_missing_store_is_a_clear_error(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dyn = request.getfixturevalue("dynalite") if "dynamodb" in backend else None
    red = request.getfixturevalue("redis_server") if backend == "redis" else None
    url, _ = fresh_url(backend, tmp_path, dyn, red)
    with pytest.raises(StoreError, match=r"does not exist|no millicent metadata"):
        open_embeddings(url)


def test_provisioned_table_and_on_demand_default(dynalite: Server) -> None:
    ep = f"endpoint={dynalite.endpoint}&region=us-east-1"
    for name, query, mode in (("prov-vectors", "&rcu=7&wcu=3", "PROVISIONED"),
                              ("ondemand-vectors", "", "PAY_PER_REQUEST")):
        with open_store(f"dynamodb://{name}?{ep}{query}") as store:
            load_store(store, WORDS[:30], MATRIX[:30], source="t", progress=False, key=ptb_key)
            table = store.client.describe_table(TableName=name)["Table"]
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        assert billing == mode
        if mode == "PROVISIONED":
            tp = table["ProvisionedThroughput"]
            assert (tp["ReadCapacityUnits"], tp["WriteCapacityUnits"]) == (7, 3)


def test_redis_refuses_the_list_layout(redis_server: Server) -> None:
    with open_store(f"redis://127.0.0.1:{redis_server.port}/0?prefix=lst:") as store, \
            pytest.raises(StoreError, match="binary layout only"):
        load_store(store, WORDS[:3], MATRIX[:3], source="t", layout="list", progress=False, key=ptb_key)
