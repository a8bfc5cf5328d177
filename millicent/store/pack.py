"""The frequent-word pack: the top-K words' vectors in one file the function memory-maps.

Word frequencies are Zipfian, so a few thousand words answer most lookups of a request;
bundling their vectors with the function removes those words from the store round trip
(the paper's stated future work). File layout (little-endian)::

    b"MCPACK1\\n"                8 bytes magic
    header length H              uint64
    header                       H bytes of JSON: format, dim, dtype, count, source, by,
                                 keys_offset, keys_bytes, matrix_offset, created
    keys                         UTF-8 vector keys joined by "\\n", rank order
    (zero padding to 64 bytes)
    matrix                       count × dim float32 (or float16), row i = key i

Opening reads the header and the keys (to build a key → row dict) and memory-maps the
matrix: pages are read only when touched, so a 50 MB pack costs no 50 MB read at cold
start. :func:`select_top` picks K from a size budget.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from millicent.errors import ConfigError, StoreError
from millicent.store.base import storable_key
from millicent.types import KeyFunction

MAGIC = b"MCPACK1\n"
FORMAT = 1
_ALIGN = 64
MB = 1 << 20  # budgets are in MiB, like Lambda's package limits

#: The pack's default size, a budget in MiB rather than a word count: the words it holds
#: then follow the vectors' size — ≈ 50,000 words at 50-d float32, ≈ 8,700 at 300-d.
#: Measured with GloVe-50 on SST-1 dev: 10 MiB (50k words) answered 95 % of the lookups
#: against 79 % for 5,000 words, for ≈ 16 MB more peak memory per execution environment
#: (docs/results.md). Used by ``bench --compare``'s ``millicent`` configuration, by
#: ``millicent demo`` and by ``millicent embeddings pack`` when no size is given.
DEFAULT_PACK_MB = 10.0


@dataclass(frozen=True)
class PackSelection:
    """Keys (rank order) and their vectors chosen for a pack."""

    keys: list[str]
    matrix: np.ndarray


def pack_row_bytes(key: str, dim: int, dtype: str = "float32") -> int:
    """File bytes one word costs in a pack: its vector plus its key and separator."""
    return dim * np.dtype(dtype).itemsize + len(key.encode("utf-8")) + 1


def select_top(
    words: Sequence[str],
    matrix: np.ndarray,
    *,
    top: int | None = None,
    budget_mb: float | None = None,
    dtype: str = "float32",
    key: KeyFunction | None = None,
) -> PackSelection:
    """The first ``top`` distinct keys of ``words`` (already in frequency order), or as many
    as fit ``budget_mb`` MiB: K = the largest K whose rows (vector + key bytes) fit.

    Words map to keys by ``key`` (the model's tokenizer's ``vocabulary_key``; None: the
    words are the keys); the first occurrence of a key wins.
    """
    if (top is None) == (budget_mb is None):
        raise ConfigError("give exactly one of top (words) or budget_mb (MiB)")
    if top is not None and top <= 0:
        raise ConfigError(f"top must be positive, got {top}")
    if budget_mb is not None and budget_mb <= 0:
        raise ConfigError(f"budget must be positive, got {budget_mb} MiB")
    matrix = np.asarray(matrix, dtype=np.float32)
    dim = int(matrix.shape[1])
    budget = None if budget_mb is None else int(budget_mb * MB)
    keys: list[str] = []
    rows: list[int] = []
    seen: set[str] = set()
    used = 0
    for i, word in enumerate(words):
        k = word if key is None else key(word)
        if k in seen or not storable_key(k) or "\n" in k:
            continue
        if budget is not None:
            cost = pack_row_bytes(k, dim, dtype)
            if used + cost > budget:
                break
            used += cost
        seen.add(k)
        keys.append(k)
        rows.append(i)
        if top is not None and len(keys) >= top:
            break
    return PackSelection(keys, matrix[rows] if rows else np.zeros((0, dim), np.float32))


def write_pack(
    path: str | os.PathLike[str],
    keys: Sequence[str],
    matrix: np.ndarray,
    *,
    dtype: str = "float32",
    source: str = "",
    by: str = "",
) -> Path:
    """Write a pack file (atomically: a temp file renamed into place)."""
    if dtype not in ("float32", "float16"):
        raise ConfigError(f"pack dtype must be float32 or float16, got {dtype!r}")
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(keys):
        raise StoreError(f"pack matrix shape {matrix.shape} does not match {len(keys)} keys")
    if len(set(keys)) != len(keys) or any("\n" in k or not storable_key(k) for k in keys):
        raise StoreError("pack keys must be unique, storable and free of newlines")
    keys_blob = "\n".join(keys).encode("utf-8")
    header: dict[str, Any] = {
        "format": FORMAT, "dim": int(matrix.shape[1]), "dtype": dtype, "count": len(keys),
        "source": source, "by": by,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "keys_bytes": len(keys_blob),
    }
    # offsets depend on the header's length, which depends on the offsets: fix point
    header["keys_offset"] = header["matrix_offset"] = 0
    for _ in range(3):
        head = json.dumps(header, sort_keys=True).encode("utf-8")
        keys_offset = len(MAGIC) + 8 + len(head)
        matrix_offset = -(-(keys_offset + len(keys_blob)) // _ALIGN) * _ALIGN
        header["keys_offset"], header["matrix_offset"] = keys_offset, matrix_offset
    head = json.dumps(header, sort_keys=True).encode("utf-8")
    if len(MAGIC) + 8 + len(head) != header["keys_offset"]:
        raise StoreError("pack header did not converge")  # pragma: no cover - defensive
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(head)) + head + keys_blob)
        f.write(b"\0" * (header["matrix_offset"] - f.tell()))
        f.write(matrix.astype("<f2" if dtype == "float16" else "<f4").tobytes())
    os.replace(tmp, out)
    return out


class FrequentWordPack:
    """A read-only, memory-mapped pack; a :class:`~millicent.store.tiers.VectorSource`."""

    def __init__(self, path: Path, header: dict[str, Any], keys: list[str], matrix: np.ndarray):
        self.path = path
        self.header = header
        self.keys = keys
        self._matrix = matrix
        self._index = {k: i for i, k in enumerate(keys)}

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> FrequentWordPack:
        """Open a pack file; :class:`ConfigError` if it is missing or not a pack."""
        p = Path(path)
        try:
            with open(p, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC:
                    raise ConfigError(f"{p} is not a millicent frequent-word pack")
                (hlen,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(hlen))
                if header.get("format") != FORMAT:
                    raise ConfigError(f"{p}: unknown pack format {header.get('format')!r}")
                f.seek(header["keys_offset"])
                blob = f.read(header["keys_bytes"])
        except OSError as exc:
            raise ConfigError(f"cannot open pack {p}: {exc}") from exc
        except (ValueError, KeyError, struct.error) as exc:
            raise ConfigError(f"{p} is not a valid millicent frequent-word pack") from exc
        keys = blob.decode("utf-8").split("\n") if header["count"] else []
        shape = (int(header["count"]), int(header["dim"]))
        dtype = "<f2" if header["dtype"] == "float16" else "<f4"
        if len(keys) != shape[0]:
            raise ConfigError(f"{p}: header says {shape[0]} words, file holds {len(keys)}")
        if shape[0] == 0:
            matrix = np.zeros(shape, dtype=dtype)
        else:
            matrix = np.memmap(p, dtype=dtype, mode="r", offset=header["matrix_offset"], shape=shape)
        return cls(p, header, keys, matrix)

    @property
    def dim(self) -> int:
        return int(self.header["dim"])

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors (float32 copies) of the keys the pack holds."""
        index = self._index
        hits = [(k, index[k]) for k in keys if k in index]
        if not hits:
            return {}
        block = np.asarray(self._matrix[[i for _, i in hits]], dtype=np.float32)
        return {k: block[j] for j, (k, _) in enumerate(hits)}

    def vectors(self) -> np.ndarray:
        """The whole matrix as float32 (reads every page)."""
        return np.asarray(self._matrix, dtype=np.float32)
