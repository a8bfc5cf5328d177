"""Store URL parsing for the network backends (no server needed: clients connect lazily)."""

from __future__ import annotations

import pytest

from millicent.errors import ConfigError
from millicent.store import open_store
from millicent.store.dynamodb import DynamoDBStore
from millicent.store.redis import RedisStore


def test_dynamodb_url() -> None:
    s = open_store("dynamodb://my-table.v1?endpoint=http://127.0.0.1:8000&region=eu-west-1"
                   "&layout=list&dtype=float16&rcu=5&wcu=2&workers=3", deadline_s=2.5)
    assert isinstance(s, DynamoDBStore)
    assert (s.table, s.endpoint, s.rcu, s.wcu, s.workers) == ("my-table.v1", "http://127.0.0.1:8000", 5, 2, 3)
    assert s.options == {"layout": "list", "dtype": "float16"}
    assert s.deadline_s == 2.5
    assert s.client.meta.region_name == "eu-west-1"
    cfg = s.client.meta.config
    assert cfg.retries["total_max_attempts"] == 1 and cfg.max_pool_connections >= 6
    assert cfg.read_timeout == 2.5


@pytest.mark.parametrize("url", [
    "dynamodb://ab?region=us-east-1",  # table name too short
    "dynamodb://good-name?region=us-east-1&colour=blue",
    "dynamodb://good-name?region=us-east-1&rcu=5",  # rcu without wcu
    "dynamodb://good-name?region=us-east-1&rcu=x&wcu=1",
])
def test_bad_dynamodb_urls(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)


def test_redis_url_prefix_and_options() -> None:
    s = open_store("redis://127.0.0.1:6390/2?prefix=glove50:&socket_keepalive=true", deadline_s=1.5)
    assert isinstance(s, RedisStore)
    assert s.prefix == "glove50:" and "6390/2" in s.describe()
    kw = s.client.connection_pool.connection_kwargs
    assert kw["db"] == 2 and kw["socket_timeout"] == 1.5
