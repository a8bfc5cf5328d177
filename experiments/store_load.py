"""Bulk-load throughput per backend, and which resume strategy is cheaper on dynalite.

GloVe 6B 50-d for the SST + TrecQA vocabularies (``--vocab-from sst-1 --vocab-from
trecqa``) is loaded with :func:`millicent.store.loader.load_store` into a fresh SQLite file,
Redis key space and dynalite tables; the DynamoDB list layout gets the SST-1 dev words only
(it is ~4x slower). Reported per run: words, seconds of the write phase, words/s, seconds
of the read-back verification.

Resume strategies on dynalite (binary): a fresh load with ``check`` (read each batch,
write what is missing), ``upsert`` (write everything) and ``auto`` (the default: check
while words are found), then a complete rerun of each — the case checking exists for —
and the effect of the loader's write concurrency (upsert, fresh tables).

    python experiments/store_load.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.cli.embeddings import resolve_source, resolve_vocab  # noqa: E402
from millicent.runtime.artifact import TokenizerSpec  # noqa: E402
from millicent.store import open_store  # noqa: E402
from millicent.store.dynamodb import DynamoDBStore  # noqa: E402
from millicent.store.loader import Resume, load_store  # noqa: E402
from millicent.testing import loopback as servers  # noqa: E402
from millicent.tokenizers import make_tokenizer  # noqa: E402


def run(url: str, words: list[str], matrix: Any, resume: Resume = "auto", **kw: Any) -> dict[str, Any]:
    with open_store(url) as store:
        r = load_store(store, words, matrix, source="glove-50", resume=resume, progress=False, **kw)
    return {"words": r.words, "written": r.written, "load_s": round(r.load_s, 2),
            "words_per_s": round(r.words / r.load_s) if r.load_s else None,
            "verify_s": round(r.verify_s, 2), "verified": r.verified}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    data_dir = str(config.data_dir(args.data_dir))
    ptb = make_tokenizer(TokenizerSpec.of("ptb"))  # the shipped models' keys
    words, matrix, _ = resolve_source("glove-50", data_dir, resolve_vocab(["sst-1", "trecqa"], data_dir),
                                      tokenizer=ptb)
    dev_words, dev_matrix, _ = resolve_source("glove-50", data_dir, resolve_vocab(["sst-1:dev"], data_dir),
                                              tokenizer=ptb)
    tmp = Path(tempfile.mkdtemp(prefix="store-load-"))
    dyn = servers.start_dynalite()
    red = servers.start_redis()
    ddb = f"?endpoint={dyn.endpoint}&region=us-east-1"
    out: dict[str, Any] = {"words": len(words), "dim": int(matrix.shape[1])}
    try:
        backends = out["backends"] = {}
        backends["sqlite"] = run(f"sqlite:///{tmp}/g.db", words, matrix)
        backends["redis"] = run(f"redis://127.0.0.1:{red.port}/0?prefix=g:", words, matrix)
        backends["dynamodb-binary"] = run(f"dynamodb://g-binary{ddb}", words, matrix)
        backends["dynamodb-binary-float16"] = run(f"dynamodb://g-f16{ddb}", words, matrix,
                                                  dtype="float16")
        backends["dynamodb-list (sst-1 dev words)"] = run(f"dynamodb://g-list{ddb}", dev_words,
                                                          dev_matrix, layout="list")
        resume = out["dynamodb_resume"] = {}
        resume["fresh check"] = run(f"dynamodb://g-check{ddb}", words, matrix, "check")
        resume["fresh upsert"] = run(f"dynamodb://g-upsert{ddb}", words, matrix, "upsert")
        resume["fresh auto"] = backends["dynamodb-binary"]
        resume["rerun check (all present)"] = run(f"dynamodb://g-check{ddb}", words, matrix, "check")
        resume["rerun upsert (all present)"] = run(f"dynamodb://g-upsert{ddb}", words, matrix, "upsert")
        resume["rerun auto (all present)"] = run(f"dynamodb://g-binary{ddb}", words, matrix)
        conc = out["dynamodb_write_concurrency"] = {}
        default = DynamoDBStore.write_concurrency
        for n in (1, 2, default):
            DynamoDBStore.write_concurrency = n  # type: ignore[misc]
            conc[str(n)] = run(f"dynamodb://g-conc{n}{ddb}", words, matrix, "upsert")
        DynamoDBStore.write_concurrency = default  # type: ignore[misc]
    finally:
        dyn.stop()
        red.stop()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
