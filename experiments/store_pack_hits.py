"""Share of word lookups a frequent-word pack serves, and what opening a pack costs.

Requests are the paper's benchmark sets: every SST-1 dev sentence (1101) and every TrecQA
raw-dev pair (1148; the lookup covers the question's and the answer's unique words).
A request looks up its *unique* vector keys; a pack of K words serves a lookup when the key
is among the first K ranked keys that have a GloVe vector. Rankings: GloVe's row order
(corpus frequency, 400k words), wordfreq (English, 50k), and token counts of the SST-1 /
TrecQA *train* splits (so dev is not used to choose the pack).

Reported per set, ranking and K ∈ {1k, 10k, 50k}: pack hits / all lookups, pack hits /
lookups of words that have a vector, and the same over token occurrences. Then a warm
function serving the whole set in order through the real lookup path (pack + LRU in front
of an in-memory store): the share of lookups that still reach the store. Finally pack files
(GloVe order) of each K: size, open time in-process (median of 20) and in a fresh process.

    python experiments/store_pack_hits.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from millicent import config  # noqa: E402
from millicent.data.frequency import frequency_ranked_words  # noqa: E402
from millicent.data.sst import load_sst  # noqa: E402
from millicent.data.trecqa import load_trecqa  # noqa: E402
from millicent.data.vectors import load_vectors  # noqa: E402
from millicent.runtime.artifact import TokenizerSpec  # noqa: E402
from millicent.store.lru import LRUCache  # noqa: E402
from millicent.store.memory import MemoryStore  # noqa: E402
from millicent.store.pack import FrequentWordPack, select_top, write_pack  # noqa: E402
from millicent.tokenizers import make_tokenizer  # noqa: E402

#: the shipped models' tokenizer: its tokens and store keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))
tokenize, vector_key = PTB.tokenize, PTB.key

SIZES = (1_000, 10_000, 50_000)
RANKINGS = ("glove", "wordfreq", "sst-1", "trecqa")

OPEN_PROBE = r"""
import sys, time
t0 = time.perf_counter()
from millicent.store.pack import FrequentWordPack
t1 = time.perf_counter()
p = FrequentWordPack.open(sys.argv[1])
t2 = time.perf_counter()
p.get_many(p.keys[:20])
t3 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000)
"""


def requests(data_dir: str) -> dict[str, list[list[str]]]:
    """Token lists per request (raw text through the function's tokenizer)."""
    sst = [tokenize(ex.text) for ex in load_sst(data_dir, "sst-1", "dev")]
    qa = [tokenize(p.question) + tokenize(p.answer) for p in load_trecqa(data_dir, "raw-dev")]
    return {"sst-1 dev": sst, "trecqa raw-dev": qa}


def shares(reqs: list[list[str]], pack: set[str], known: set[str]) -> dict[str, float]:
    lookups = hits = known_lookups = 0
    tokens = token_hits = known_tokens = 0
    for toks in reqs:
        keys = [vector_key(t) for t in toks]
        for k in set(keys):
            lookups += 1
            known_lookups += k in known
            hits += k in pack
        tokens += len(keys)
        known_tokens += sum(k in known for k in keys)
        token_hits += sum(k in pack for k in keys)
    return {
        "lookups": lookups,
        "pack_share_of_lookups": round(hits / lookups, 4),
        "pack_share_of_known_lookups": round(hits / known_lookups, 4),
        "pack_share_of_tokens": round(token_hits / tokens, 4),
        "pack_share_of_known_tokens": round(token_hits / known_tokens, 4),
        "known_share_of_lookups": round(known_lookups / lookups, 4),
    }


def warm_function(reqs: list[list[str]], store: MemoryStore, pack: FrequentWordPack | None,
                  lru: int) -> dict[str, Any]:
    store.pack, store.lru = pack, (LRUCache(lru) if lru else None)
    total = {"lookups": 0, "pack": 0, "lru": 0, "negative": 0, "store_items": 0}
    for toks in reqs:
        s = store.lookup(PTB.keys(toks)).stats
        total["lookups"] += s.words
        total["pack"] += s.pack_hits
        total["lru"] += s.lru_hits
        total["negative"] += s.negative_hits
        total["store_items"] += s.store_items
    total["store_share"] = round(total["store_items"] / total["lookups"], 4)
    store.pack = store.lru = None
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    data_dir = str(config.data_dir(args.data_dir))
    glove = load_vectors("glove-50", data_dir=data_dir, key=PTB.vocabulary_key)
    known = {vector_key(w) for w in glove.words}
    reqs = requests(data_dir)
    out: dict[str, Any] = {"glove_words": len(glove.words), "hit_rates": {}}
    for ranking in RANKINGS:
        ranked = [k for k in frequency_ranked_words(ranking, data_dir, tokenizer=PTB) if k in known]
        for name, rs in reqs.items():
            for k in SIZES:
                row = shares(rs, set(ranked[:k]), known)
                out["hit_rates"].setdefault(name, {}).setdefault(ranking, {})[f"{k // 1000}k"] = row
    tmp = Path(tempfile.mkdtemp(prefix="packs-"))
    packs: dict[int, Path] = {}
    files: dict[str, Any] = {}
    out["pack_files"] = files
    for k in SIZES:
        sel = select_top(glove.words, glove.matrix, top=k)
        packs[k] = write_pack(tmp / f"top{k}.pack", sel.keys, sel.matrix, source="glove-50",
                              by="glove")
        opens = []
        for _ in range(20):
            t0 = time.perf_counter()
            FrequentWordPack.open(packs[k])
            opens.append((time.perf_counter() - t0) * 1000)
        fresh = subprocess.run([sys.executable, "-c", OPEN_PROBE, str(packs[k])], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.split()
        files[f"{k // 1000}k"] = {
            "bytes": packs[k].stat().st_size,
            "open_ms_median": round(statistics.median(opens), 2),
            "fresh_process_import_ms": round(float(fresh[0]), 1),
            "fresh_process_open_ms": round(float(fresh[1]), 2),
            "fresh_process_first_lookup_ms": round(float(fresh[2]), 3),
        }
    store = MemoryStore.from_vectors(glove.words, glove.matrix)
    warm: dict[str, Any] = {}
    out["warm_function_store_share"] = warm
    for name, rs in reqs.items():
        warm[name] = {
            "no cache": warm_function(rs, store, None, 0),
            "pack 10k": warm_function(rs, store, FrequentWordPack.open(packs[10_000]), 0),
            "lru 10k": warm_function(rs, store, None, 10_000),
            "pack 10k + lru 10k": warm_function(rs, store, FrequentWordPack.open(packs[10_000]),
                                                10_000),
        }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
