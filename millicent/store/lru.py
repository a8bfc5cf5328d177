"""A bounded least-recently-used cache of word vectors, kept across warm invocations.

It also remembers words the store does *not* hold ("negative" entries): unknown words
(typos, names, numbers) would otherwise go to the store on every request that contains
them. A negative entry only saves the round trip — the word is still reported as unknown
(zero row, ``found=False``), never given an invented vector. Serving stores are read-only,
so a negative entry can only go stale if vectors are loaded while functions stay warm;
it then lasts until evicted or until the execution environment is recycled.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

import numpy as np


class LRUCache:
    """Word → vector (or "absent"), evicting the least recently used beyond ``maxsize``.

    Not thread-safe by design: an execution environment serves one request at a time.
    ``maxsize == 0`` disables the cache (every lookup misses, puts are no-ops).
    ``negative=False`` stops caching absent words.
    """

    def __init__(self, maxsize: int, negative: bool = True) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self.negative = negative
        # value None = the store holds no vector for this key
        self._data: OrderedDict[str, np.ndarray | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def lookup_many(self, keys: Iterable[str]) -> tuple[dict[str, np.ndarray], list[str]]:
        """``(vectors, absent)``: cached vectors and cached-as-absent keys among ``keys``.

        Each hit, positive or negative, becomes most recently used.
        """
        found: dict[str, np.ndarray] = {}
        absent: list[str] = []
        data = self._data
        for k in keys:
            if k not in data:
                continue
            data.move_to_end(k)
            v = data[k]
            if v is None:
                absent.append(k)
            else:
                found[k] = v
        return found, absent

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (negative entries are not returned)."""
        return self.lookup_many(keys)[0]

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        """Insert vectors, evicting the oldest entries if the cache is full."""
        if self.maxsize == 0:
            return
        data = self._data
        for k, v in items.items():
            data[k] = v
            data.move_to_end(k)
        self._evict()

    def put_absent(self, keys: Iterable[str]) -> None:
        """Remember that the store holds no vector for ``keys`` (if negative caching is on)."""
        if self.maxsize == 0 or not self.negative:
            return
        data = self._data
        for k in keys:
            data[k] = None
            data.move_to_end(k)
        self._evict()

    def _evict(self) -> None:
        data = self._data
        while len(data) > self.maxsize:
            data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()
