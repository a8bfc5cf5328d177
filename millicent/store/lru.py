"""A bounded least-recently-used cache of word vectors, kept across warm invocations."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

import numpy as np


class LRUCache:
    """Word → vector, evicting the least recently used word beyond ``maxsize`` entries.

    Not thread-safe by design: an execution environment serves one request at a time.
    ``maxsize == 0`` disables the cache (every ``get_many`` misses, ``put_many`` is a no-op).
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys`` (each hit becomes most recently used)."""
        out: dict[str, np.ndarray] = {}
        data = self._data
        for k in keys:
            v = data.get(k)
            if v is not None:
                data.move_to_end(k)
                out[k] = v
        return out

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        """Insert vectors, evicting the oldest entries if the cache is full."""
        if self.maxsize == 0:
            return
        data = self._data
        for k, v in items.items():
            data[k] = v
            data.move_to_end(k)
        while len(data) > self.maxsize:
            data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()
