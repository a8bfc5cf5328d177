"""A transformer's token-embedding table, read where it lies: a model's ``safetensors`` file.

``millicent import hf`` does not copy the table into the artifact. The manifest records the
tensor's name, the digest of its rows and where the file is (the data directory's
catalogued copy of a base model, and the directory it was imported from); this module
finds the file, reads the tensor with numpy (``safetensors.safe_open(...,
framework="numpy")``, no torch), checks the digest, and names the rows by the artifact's
tokenizer: row ``i`` is stored under the vocabulary's token string of id ``i``.

:func:`token_table` yields the table most frequent first — the order a frequent-word pack
takes its first rows from. The frequency is measured, not guessed: wordfreq's 50,000 most
frequent English words (the data directory's ``wordfreq/derived/en_top50000_large.tsv``,
with their frequencies), each run through the model's own tokenizer (as a word after a
space, so byte-level BPE models get their ``Ġword`` forms), every token credited with its
word's frequency; the tokenizer's special tokens (in every sequence) come first and tokens
no English word produced follow in id order.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from millicent.data.paths import PathLike, resolve_data_dir
from millicent.data.vectors import Vectors
from millicent.errors import ArtifactError, DataError, missing_extra
from millicent.types import TokenTable, VectorsSource

WORDFREQ_TSV = "wordfreq/derived/en_top50000_large.tsv"
#: safetensors dtypes numpy reads (bfloat16 is not one of them)
READABLE_DTYPES = ("F32", "F16", "F64")


def _safe_open(path: Path) -> Any:
    try:
        from safetensors import safe_open
    except ModuleNotFoundError as exc:
        if exc.name == "safetensors":
            raise missing_extra("safetensors", "hf") from exc
        raise
    try:
        return safe_open(str(path), framework="numpy")
    except Exception as exc:  # the library raises its own SafetensorError, or OSError
        raise ArtifactError(f"cannot read {path} as safetensors: {exc}") from exc


def tensor_shapes(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every tensor of a safetensors file: ``name -> (shape, dtype)``, read from the header
    only (no tensor is loaded)."""
    with _safe_open(path) as f:
        out = {}
        for name in f.keys():  # noqa: SIM118 - safe_open is not a mapping
            piece = f.get_slice(name)
            out[name] = (tuple(int(n) for n in piece.get_shape()), str(piece.get_dtype()))
        return out


def tensor_aliases(name: str) -> list[str]:
    """``name`` and the names the same table has in a model with another head: a task
    model nests the encoder under its type (``bert.embeddings.word_embeddings.weight``),
    the base encoder does not (``embeddings.word_embeddings.weight``). The digest, not the
    name, says whether a tensor is the table."""
    parts = name.split(".")
    out = [name]
    out += [".".join(parts[i:]) for i in range(1, len(parts)) if parts[i] == "embeddings"]
    if parts[0] == "embeddings":
        out += [f"{prefix}.{name}" for prefix in ("bert", "distilbert", "roberta")]
    return out


def present_name(path: Path, name: str) -> str:
    """The first of :func:`tensor_aliases` that ``path`` holds (else ``name``: read_tensor
    then says it is absent)."""
    names = tensor_shapes(path)
    return next((n for n in tensor_aliases(name) if n in names), name)


def read_tensor(path: Path, name: str) -> np.ndarray:
    """One 2-d tensor of a safetensors file as a C-contiguous float32 matrix."""
    with _safe_open(path) as f:
        if name not in f.keys():  # noqa: SIM118
            raise ArtifactError(f"{path} holds no tensor {name!r}")
        dtype = str(f.get_slice(name).get_dtype())
        if dtype not in READABLE_DTYPES:
            raise ArtifactError(f"{path}: tensor {name!r} is {dtype}; millicent reads "
                                f"{', '.join(READABLE_DTYPES)} (save the model as float32)")
        matrix = f.get_tensor(name)
    if matrix.ndim != 2:
        raise ArtifactError(f"{path}: tensor {name!r} has shape {list(matrix.shape)}, not a table")
    return np.ascontiguousarray(matrix, dtype=np.float32)


def table_digest(matrix: np.ndarray) -> str:
    """sha256 (hex) of a table's rows as float32, row-major, little-endian: its identity."""
    rows = np.ascontiguousarray(matrix, dtype="<f4")
    return hashlib.sha256(rows.tobytes()).hexdigest()


def locate(table: TokenTable, data_dir: PathLike | None = None) -> tuple[Path, np.ndarray]:
    """``(file, matrix)`` of the table, read from the first place that holds it with the
    recorded digest: the data directory's catalogued copy, then the imported file.

    DataError naming every place tried (and why each failed) when none does.
    """
    tried: list[str] = []
    for path in _candidates(table, data_dir):
        if not path.is_file():
            tried.append(f"{path}: absent")
            continue
        try:
            matrix = read_tensor(path, present_name(path, table.tensor))
        except ArtifactError as exc:
            tried.append(str(exc))
            continue
        digest = table_digest(matrix)
        if digest == table.sha256:
            return path, matrix
        tried.append(f"{path}: the table's sha256 is {digest[:16]}…, not {table.sha256[:16]}…")
    raise DataError(f"the token table {table.sha256[:16]}… ({table.tensor}) is nowhere to be read: "
                    + "; ".join(tried or ["the manifest names no file"])
                    + ". Pass --data-dir (or set $MILLICENT_DATA_DIR) to the data directory "
                      "holding the base model, or keep the imported model's directory")


def _candidates(table: TokenTable, data_dir: PathLike | None) -> list[Path]:
    out: list[Path] = []
    if table.catalog:
        out.append(resolve_data_dir(data_dir) / table.catalog)
    if table.path is not None:
        out.append(Path(table.path))
    return out


def table_keys(tokenizer_file: Path, rows: int) -> list[str]:
    """The store key of each row: the vocabulary's token string of each id below ``rows``.

    ArtifactError when the vocabulary has an id past the table (a token with no row), a
    hole below it, or two ids with one string (two rows under one key).
    """
    from millicent.tokenizers.hf import load_tokenizers_file

    tok = load_tokenizers_file(tokenizer_file)
    size = tok.get_vocab_size(with_added_tokens=True)
    if size > rows:
        raise ArtifactError(f"{tokenizer_file}: the vocabulary has {size} tokens but the "
                            f"table only {rows} rows")
    keys = [tok.id_to_token(i) for i in range(size)]
    holes = [i for i, k in enumerate(keys) if k is None]
    if holes:
        raise ArtifactError(f"{tokenizer_file}: no token for ids {holes[:5]}")
    twice = [k for k, n in Counter(keys).items() if n > 1]
    if twice:
        raise ArtifactError(f"{tokenizer_file}: tokens {twice[:5]} name two ids each")
    return [str(k) for k in keys]


def token_table(source: VectorsSource, data_dir: PathLike | None = None,
                by_frequency: bool = True) -> Vectors:
    """The table of a transformer artifact's vector source: ``(keys, matrix)`` as
    :class:`~millicent.data.vectors.Vectors`, the rows the vocabulary names (a table padded
    past its vocabulary keeps no unnamed row), most frequent first unless ``by_frequency``
    is False (then in id order)."""
    table = source.token_table
    if table is None or table.tokenizer is None:
        raise ArtifactError(f"{source.label} is not a transformer's token table")
    _, matrix = locate(table, data_dir)
    keys = table_keys(table.tokenizer, int(matrix.shape[0]))
    order = frequency_order(table.tokenizer, keys, data_dir) if by_frequency else list(range(len(keys)))
    rows = np.asarray(order, dtype=np.int64)
    return Vectors([keys[i] for i in order], matrix[rows])


def frequency_order(tokenizer_file: Path, keys: list[str], data_dir: PathLike | None) -> list[int]:
    """Row ids, most frequent first (see the module docstring); id order when the data
    directory has no wordfreq list."""
    try:
        weights = wordfreq_token_weights(tokenizer_file, data_dir)
    except DataError:
        return list(range(len(keys)))
    from millicent.tokenizers.hf import load_tokenizers_file

    # the tokens the post-processor adds to every sequence ([CLS], [SEP], <s>, </s>)
    tok = load_tokenizers_file(tokenizer_file)
    tok.no_padding()  # a file may pad every sequence to 128: [PAD] is not in every sequence
    added = set(tok.post_process(tok.encode("", add_special_tokens=False)).ids)
    specials = sorted(i for i in added if i < len(keys))
    first = set(specials)
    ranked = sorted((i for i in weights if i not in first and i < len(keys)),
                    key=lambda i: (-weights[i], i))
    seen = first | set(ranked)
    return specials + ranked + [i for i in range(len(keys)) if i not in seen]


def wordfreq_token_weights(tokenizer_file: Path, data_dir: PathLike | None) -> dict[int, float]:
    """``token id -> summed frequency`` of wordfreq's words that contain it (each word
    tokenized as it appears after a space)."""
    from millicent.data.paths import data_file
    from millicent.tokenizers.hf import load_tokenizers_file

    path = data_file(data_dir, WORDFREQ_TSV)
    words: list[str] = []
    freqs: list[float] = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:4] != ["rank", "word", "zipf", "frequency"]:
            raise DataError(f"{path}: unexpected header {header}")
        for n, line in enumerate(f, 2):
            fields = line.rstrip("\n").split("\t")
            try:
                freqs.append(float(fields[3]))
            except (IndexError, ValueError) as exc:
                raise DataError(f"{path}:{n}: expected rank, word, zipf, frequency") from exc
            words.append(" " + fields[1])
    tok = load_tokenizers_file(tokenizer_file)
    tok.no_padding()
    tok.no_truncation()
    weights: dict[int, float] = {}
    for enc, freq in zip(tok.encode_batch(words, add_special_tokens=False), freqs, strict=True):
        for token_id in enc.ids:
            weights[token_id] = weights.get(token_id, 0.0) + freq
    return weights
