"""DynamoDB store (botocore low-level client): partition key = word, one item per word.

``dynamodb://TABLE?endpoint=http://127.0.0.1:8000&region=us-east-1`` — other parameters:
``layout=binary|list`` and ``dtype=float32|float16`` (defaults when the table is created),
``rcu=N&wcu=N`` (create a provisioned table; on-demand otherwise), ``workers=N``
(concurrent BatchGetItem chunks, default 8).

Reads: BatchGetItem of ≤ 100 keys, eventually consistent, projecting only ``k`` and ``v``;
a request with more unique words runs its chunks concurrently on a thread pool kept by the
store. ``UnprocessedKeys``, throttling (``ProvisionedThroughputExceededException``,
``ThrottlingException``, ``RequestLimitExceeded``), 5xx and connection errors are retried
with exponential backoff and full jitter until the store's deadline, then
:class:`~millicent.errors.StoreUnavailable` — a word is never silently dropped.
botocore's own retries are switched off (one attempt per call): they would sleep up to
seconds, beyond the caller's deadline, and hide the retries from the stats.

Writes: BatchWriteItem of 25 items, ``UnprocessedItems`` retried the same way (with a
longer, per-batch deadline: loads are not latency-bound).

The client is botocore's low-level DynamoDB client, created from a botocore session (not
boto3's: its resource layer and s3transfer are ≈ 45 ms of import a function never uses),
with a model loader that knows only DynamoDB is asked for and parses botocore's JSON
models without an ``OrderedDict`` hook (:mod:`.dynamodb_session`), and with the
credentials the environment gives (Lambda's ``AWS_ACCESS_KEY_ID`` ...) passed directly,
so no credential chain is built to find the same ones. Measured in a fresh process
(``experiments/store_cold_path.py``): see docs/stores.md. botocore is imported when a store
is opened, not with this module (the function package imports every store module; only a
DynamoDB-backed function pays its import time).
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from millicent.errors import ConfigError, StoreError, missing_extra
from millicent.store import dynamodb_items as items_
from millicent.store.base import META_KEY, EmbeddingStore
from millicent.store.retry import Backoff
from millicent.types import LookupStats


def _botocore() -> tuple[Any, Any]:
    """``(botocore.session, botocore.exceptions)``, imported when a DynamoDB store is opened
    (not when this module is imported: the function package imports every store module)."""
    try:
        import botocore.exceptions
        import botocore.session
    except ImportError as exc:
        raise missing_extra("botocore", "aws") from exc
    return botocore.session, botocore.exceptions


RETRYABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
})
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
#: a load's batch may wait this long without progress before StoreUnavailable
WRITE_DEADLINE_S = 60.0
#: the User-Agent of the store's DynamoDB requests
USER_AGENT = "millicent-dynamodb-store"


def _retryable(exc: Exception, errors: Any) -> bool:
    if isinstance(exc, errors.ClientError):
        err = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return err.get("Code") in RETRYABLE_CODES or status >= 500
    return isinstance(exc, errors.BotoCoreError) and not isinstance(exc, errors.NoCredentialsError)


class DynamoDBStore(EmbeddingStore):
    """Vectors in a DynamoDB table (AWS, dynalite, DynamoDB Local)."""

    scheme: ClassVar[str] = "dynamodb"
    batch_limit: ClassVar[int] = 100  # BatchGetItem
    write_batch_limit: ClassVar[int] = 25  # BatchWriteItem
    write_concurrency: ClassVar[int] = 4

    def __init__(
        self,
        table: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        read_only: bool = False,
        deadline_s: float | None = None,
        capacity: tuple[int, int] | None = None,
        workers: int = 8,
        client: Any = None,
    ) -> None:
        """``capacity``: (RCU, WCU) of a provisioned table (None: on-demand)."""
        super().__init__(deadline_s)
        if not _TABLE_NAME.match(table):
            raise ConfigError(f"invalid DynamoDB table name {table!r} (3-255 of A-Z a-z 0-9 _ . -)")
        self.table = table
        self.endpoint = endpoint
        self.read_only = read_only
        self.rcu: int | None = capacity[0] if capacity else None
        self.wcu: int | None = capacity[1] if capacity else None
        self.workers = max(1, workers)
        self._botocore, self._errors = _botocore()
        self.client = client if client is not None else self._make_client(endpoint, region)
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, deadline_s: float | None = None) -> DynamoDBStore:
        parts = urlsplit(url)
        table = unquote(parts.netloc or parts.path.lstrip("/"))
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(q) - {"endpoint", "region", "layout", "dtype", "rcu", "wcu", "workers"}
        if unknown:
            raise ConfigError(f"unknown DynamoDB store URL parameter(s) {sorted(unknown)} in {url!r}")
        try:
            rcu = int(q["rcu"]) if "rcu" in q else None
            wcu = int(q["wcu"]) if "wcu" in q else None
            workers = int(q.get("workers", 8))
        except ValueError as exc:
            raise ConfigError(f"rcu, wcu and workers must be integers in {url!r}") from exc
        if (rcu is None) != (wcu is None):
            raise ConfigError("give both rcu and wcu for a provisioned table, or neither")
        capacity = None if rcu is None or wcu is None else (rcu, wcu)
        store = cls(table, endpoint=q.get("endpoint"), region=q.get("region"), read_only=read_only,
                    deadline_s=deadline_s, capacity=capacity, workers=workers)
        store.options = {k: q[k] for k in ("layout", "dtype") if k in q}
        return store

    def _make_client(self, endpoint: str | None, region: str | None) -> Any:
        from botocore.config import Config

        from millicent.store.dynamodb_session import given_credentials, lean_session

        session = lean_session(self._botocore)
        region = region or session.get_config_variable("region") or (
            "us-east-1" if endpoint else None)
        if region is None:
            raise ConfigError("no AWS region: add ?region=... to the store URL or set AWS_REGION")
        host = urlsplit(endpoint).hostname if endpoint else None
        creds = given_credentials()
        if not creds and host in ("127.0.0.1", "localhost", "::1") and (
                session.get_credentials() is None):
            # a local DynamoDB (dynalite) wants a signed request but checks no secret
            creds = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        # A fixed user agent and no client-side parameter validation: botocore otherwise
        # rebuilds its user-agent string from ~30 components and walks the request's shape
        # on every call — together a third of a BatchGetItem's client CPU (1.8 → 1.2 ms on
        # the development machine), paid by every request that misses pack and LRU. The
        # requests are built here, and DynamoDB validates them anyway.
        config = Config(
            connect_timeout=1.0,
            read_timeout=max(1.0, self.deadline_s),
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=max(10, 2 * self.workers),
            tcp_keepalive=True,
            user_agent=USER_AGENT,
            parameter_validation=False,
        )
        return session.create_client("dynamodb", endpoint_url=endpoint, region_name=region,
                                     config=config, **creds)

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"DynamoDB table {self.table}{where}"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def disconnect(self) -> None:
        # The chunk threads do not survive a fork (a copied executor would wait forever for
        # workers the child lacks) and the HTTP connections must not be shared: drop both;
        # the client object, costly to build, is kept and reconnects on the next call.
        self.close()
        closer = getattr(self.client, "close", None)
        if callable(closer):
            closer()

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="millicent-ddb")
        return self._pool

    def _call(self, what: str, backoff: Backoff, stats: LookupStats | None, fn: Any, **kw: Any) -> Any:
        """One API call, retried on throttling / 5xx / connection errors until the deadline."""
        errors = self._errors
        while True:
            try:
                return fn(**kw)
            except (errors.ClientError, errors.BotoCoreError) as exc:
                if isinstance(exc, errors.NoCredentialsError):
                    raise ConfigError(f"{self.describe()}: no AWS credentials found") from exc
                if not _retryable(exc, errors):
                    raise self._fatal(what, exc) from exc
                backoff.wait(f"{self.describe()}: {what}", exc)
                if stats is not None:
                    stats.store_retries += 1
                    stats.store_calls += 1

    def _fatal(self, what: str, exc: Exception) -> StoreError:
        if isinstance(exc, self._errors.ClientError):
            code = exc.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                return StoreError(f"{self.describe()} does not exist: load vectors first "
                                  "(millicent embeddings load SOURCE --store URL)")
        return StoreError(f"{self.describe()}: {what} failed: {exc}")

    # ------------------------------------------------------------------ reading
    def _fetch(self, keys: list[str], stats: LookupStats) -> dict[str, Any]:
        return self._batch_get(keys, stats, Backoff(self.deadline_s))

    def _batch_get(self, keys: list[str], stats: LookupStats, backoff: Backoff) -> dict[str, Any]:
        k, v = items_.KEY_ATTR, items_.VALUE_ATTR
        request: dict[str, Any] = {
            "Keys": [{k: {"S": key}} for key in keys],
            "ProjectionExpression": "#k, #v",
            "ExpressionAttributeNames": {"#k": k, "#v": v},
            "ConsistentRead": False,
        }
        out: dict[str, Any] = {}
        while True:
            resp = self._call("BatchGetItem", backoff, stats, self.client.batch_get_item,
                              RequestItems={self.table: request})
            returned = resp.get("Responses", {}).get(self.table, [])
            for item in returned:
                out[item[k]["S"]] = items_.from_attribute(item[v])
            pending = resp.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys")
            if not pending:
                return out
            if returned:  # progress (e.g. the 16 MB response cap): start the backoff over
                backoff.attempts = 0
            backoff.wait(f"{self.describe()}: {len(pending)} keys still unprocessed")
            stats.store_retries += 1
            stats.store_calls += 1
            request = {**request, "Keys": pending}

    def _fetch_chunks(self, chunks: list[list[str]], stats: LookupStats) -> dict[str, Any]:
        """Chunks run concurrently; one deadline covers the whole request."""
        if len(chunks) == 1:
            return super()._fetch_chunks(chunks, stats)
        started = time.monotonic()

        def one(chunk: list[str]) -> tuple[dict[str, Any], LookupStats]:
            local = LookupStats(store_calls=1)  # thread-private counters, merged below
            return self._batch_get(chunk, local, Backoff(self.deadline_s, started=started)), local

        futures: list[Future[tuple[dict[str, Any], LookupStats]]] = [
            self._executor().submit(one, c) for c in chunks
        ]
        out: dict[str, Any] = {}
        error: BaseException | None = None
        for fut in futures:  # wait for all, so no request outlives the lookup
            try:
                found, local = fut.result()
            except BaseException as exc:
                error = error or exc
                continue
            out.update(found)
            stats.store_calls += local.store_calls
            stats.store_retries += local.store_retries
        if error is not None:
            raise error
        return out

    def decode(self, raw: Any) -> np.ndarray:
        if isinstance(raw, list):  # list layout: number strings → exact float32
            raw = np.array([float(n) for n in raw], dtype=np.float32)
        return super().decode(raw)

    def _item_size(self, key: str, value: Any) -> int:
        return items_.item_size(key, value)

    # ------------------------------------------------------------------ writing
    def _write(self, items: list[tuple[str, Any]]) -> None:
        if self.read_only:
            raise StoreError(f"{self.describe()} is open read-only")
        k, v = items_.KEY_ATTR, items_.VALUE_ATTR
        requests = [
            {"PutRequest": {"Item": {k: {"S": key}, v: items_.to_attribute(raw)}}}
            for key, raw in items
        ]
        backoff = Backoff(max(WRITE_DEADLINE_S, self.deadline_s), cap_s=2.0)
        while requests:
            resp = self._call("BatchWriteItem", backoff, None, self.client.batch_write_item,
                              RequestItems={self.table: requests})
            pending = resp.get("UnprocessedItems", {}).get(self.table, [])
            if pending and len(pending) < len(requests):
                backoff.attempts = 0
            requests = pending
            if requests:
                backoff.wait(f"{self.describe()}: {len(requests)} items still unprocessed")

    def _create(self) -> None:
        backoff = Backoff(max(WRITE_DEADLINE_S, self.deadline_s))
        try:
            desc = self._call("DescribeTable", backoff, None, self.client.describe_table,
                              TableName=self.table)
        except StoreError as exc:
            if "does not exist" not in str(exc):
                raise
            desc = None
        if desc is None:
            kw: dict[str, Any] = {"BillingMode": "PAY_PER_REQUEST"}
            if self.rcu is not None and self.wcu is not None:
                kw = {"BillingMode": "PROVISIONED", "ProvisionedThroughput": {
                    "ReadCapacityUnits": self.rcu, "WriteCapacityUnits": self.wcu}}
            try:
                self.client.create_table(
                    TableName=self.table,
                    AttributeDefinitions=[{"AttributeName": items_.KEY_ATTR, "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": items_.KEY_ATTR, "KeyType": "HASH"}],
                    **kw,
                )
            except self._errors.ClientError as exc:  # another loader created it meanwhile
                if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                    raise self._fatal("CreateTable", exc) from exc
        self._wait_active(backoff)

    def _wait_active(self, backoff: Backoff) -> None:
        while True:
            desc = self._call("DescribeTable", backoff, None, self.client.describe_table,
                              TableName=self.table)
            if desc["Table"]["TableStatus"] == "ACTIVE":
                return
            backoff.wait(f"{self.describe()}: waiting for the table to become ACTIVE")

    # ------------------------------------------------------------------ meta / count
    def _read_meta(self) -> dict[str, Any] | None:
        try:
            resp = self._call("GetItem", Backoff(self.deadline_s), None, self.client.get_item,
                              TableName=self.table, ConsistentRead=True,
                              Key={items_.KEY_ATTR: {"S": META_KEY}})
        except StoreError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        item = resp.get("Item")
        return None if item is None else dict(json.loads(item[items_.META_ATTR]["S"]))

    def _write_meta(self, meta: dict[str, Any]) -> None:
        if self.read_only:
            raise StoreError(f"{self.describe()} is open read-only")
        self._call("PutItem", Backoff(max(WRITE_DEADLINE_S, self.deadline_s)), None,
                   self.client.put_item, TableName=self.table,
                   Item={items_.KEY_ATTR: {"S": META_KEY},
                         items_.META_ATTR: {"S": json.dumps(meta, sort_keys=True)}})

    def _count(self) -> int:
        """Exact count by a paginated ``Scan`` (``ItemCount`` lags by hours on AWS)."""
        total = 0
        kw: dict[str, Any] = {
            "TableName": self.table, "Select": "COUNT",
            "FilterExpression": "#k <> :meta",
            "ExpressionAttributeNames": {"#k": items_.KEY_ATTR},
            "ExpressionAttributeValues": {":meta": {"S": META_KEY}},
        }
        while True:
            resp = self._call("Scan", Backoff(max(WRITE_DEADLINE_S, self.deadline_s)), None,
                              self.client.scan, **kw)
            total += int(resp["Count"])
            last = resp.get("LastEvaluatedKey")
            if not last:
                return total
            kw["ExclusiveStartKey"] = last
