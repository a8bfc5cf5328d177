"""The SQLite backend: URL forms, read-only serving, errors, one query per request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from millicent.errors import ConfigError, StoreError
from millicent.store import open_embeddings, open_store
from millicent.store.base import StoreMeta
from millicent.store.sqlite import SQLiteStore, path_from_url


def test_url_forms() -> None:
    assert path_from_url("sqlite:///rel/v.db") == Path("rel/v.db")
    assert path_from_url("sqlite:////abs/v.db") == Path("/abs/v.db")
    with pytest.raises(ConfigError):
        path_from_url("sqlite://host/x.db")
    with pytest.raises(ConfigError):
        path_from_url("sqlite:///")
    with pytest.raises(ConfigError, match="unknown store URL"):
        open_store("mysql://x")


def test_write_then_serve_read_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/v.db"
    with open_store(url) as s:
        s.ensure(StoreMeta(dim=3, source="t"))
        s.put_many([("a", np.array([1, 2, 3])), ("b", np.array([4, 5, 6]))])
        assert s.count() == 2
    ro = open_embeddings(url).backend
    assert isinstance(ro, SQLiteStore) and ro.read_only
    lk = ro.lookup(["b", "a", "zz"])
    assert lk.matrix.tolist() == [[4, 5, 6], [1, 2, 3], [0, 0, 0]]
    assert lk.stats.store_calls == 1
    with pytest.raises(StoreError, match="read-only"):
        ro.put_many([("c", np.zeros(3))])
    ro.close()


def test_missing_or_foreign_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_embeddings(f"sqlite:///{tmp_path}/none.db")
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="no millicent metadata"):
        open_embeddings(f"sqlite:///{other}")


def test_request_larger_than_any_batch_is_one_query(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path}/big.db")
    s.ensure(StoreMeta(dim=2))
    words = [f"w{i}" for i in range(3000)]
    s.put_many((w, np.full(2, i)) for i, w in enumerate(words))
    lk = s.lookup(words)
    assert lk.found.all() and lk.stats.store_calls == 1
    assert lk.matrix[2999].tolist() == [2999, 2999]
