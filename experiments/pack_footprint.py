"""What a frequent-word pack sized by MiB costs a function: open time and memory.

For each budget (MiB) and dimension, a pack of GloVe's most frequent words (50-d: the real
GloVe 6B vectors; other dimensions: the same words with random float32 vectors — opening
and memory depend on the word count and the matrix size, not on the values) is written,
then opened in fresh processes (``python -c``, numpy already imported, as in a function
after its imports) that report:

* open time (ms): the first open in the process, and the fastest of 5 further opens;
* RSS growth (MB) after opening, after one request's lookups (20 words), and after touching
  every row (the memory-mapped matrix counts only pages that were read), and the peak.

``--src NAME=DIR`` (repeatable) runs the probes with ``PYTHONPATH=DIR``, alternating the
trees per repetition, to compare two versions of the pack code in one run.

    python experiments/pack_footprint.py --mb 2 10 20 --dims 50 300 [--src before=/tmp/base --src after=.]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from millicent import config  # noqa: E402
from millicent.data.vectors import load_vectors  # noqa: E402
from millicent.store.pack import select_top, write_pack  # noqa: E402

PROBE = r"""
import json, sys, time
import numpy as np

def rss():
    # (VmRSS, VmHWM) in MiB; /proc lists VmHWM first
    got = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            got[line[:5]] = int(line.split()[1]) / 1024.0
    return got["VmRSS"], got["VmHWM"]

from millicent.store.pack import FrequentWordPack
base, _ = rss()
t = time.perf_counter()
p = FrequentWordPack.open(sys.argv[1])
first = (time.perf_counter() - t) * 1000
opened, _ = rss()
p.get_many(["the", "film", "movie", ",", ".", "a", "is", "of", "and", "it", "funny", "not",
            "story", "but", "characters", "too", "its", "good", "with", "plot"])
one, _ = rss()
keys = list(p.keys)
for i in range(0, len(keys), 500):  # every row through the pack's own mapping
    p.get_many(keys[i:i + 500])
del keys
touched, peak = rss()
warm = []
for _ in range(5):
    t = time.perf_counter()
    FrequentWordPack.open(sys.argv[1])
    warm.append((time.perf_counter() - t) * 1000)
print(json.dumps({"first_ms": first, "warm_ms": min(warm), "open_mb": opened - base,
                  "request_mb": one - base, "touched_mb": touched - base, "peak_mb": peak - base,
                  "words": len(p)}))
"""


def probe(src: Path, pack: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE, str(pack)], env=env, cwd=src,
                         check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, nargs="+", default=[2.0, 10.0, 20.0])
    ap.add_argument("--dims", type=int, nargs="+", default=[50, 300])
    ap.add_argument("--src", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--repeat", type=int, default=5, help="fresh processes per pack and tree")
    ap.add_argument("--data-dir", default=os.environ.get(config.DATA_DIR, str(REPO.parent / "shared" / "data")))
    ap.add_argument("--out", default="runs/bench-pack/results.json")
    args = ap.parse_args()
    trees = [(n, Path(d).resolve()) for n, _, d in (s.partition("=") for s in args.src)] or [
        ("tree", REPO)]
    glove = load_vectors("glove-50", args.data_dir)
    rng = np.random.default_rng(0)
    rows = []
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        for dim in args.dims:
            limit = 120_000 if dim != 50 else None
            words = glove.words[:limit] if limit else glove.words
            matrix = glove.matrix if dim == 50 else rng.standard_normal(
                (len(words), dim), dtype=np.float32)
            for mb in args.mb:
                sel = select_top(words, matrix, budget_mb=mb)
                path = write_pack(Path(tmp) / f"p{dim}-{mb:g}.pack", sel.keys, sel.matrix)
                samples: dict[str, list[dict[str, Any]]] = {n: [] for n, _ in trees}
                for i in range(args.repeat):
                    for name, src in trees if i % 2 == 0 else trees[::-1]:
                        samples[name].append(probe(src, path))
                for name, _ in trees:
                    ss = samples[name]
                    row = {"tree": name, "dim": dim, "budget_mb": mb, "words": ss[0]["words"],
                           "file_mb": path.stat().st_size / 2**20,
                           **{k: statistics.median(s[k] for s in ss)
                              for k in ("first_ms", "warm_ms", "open_mb", "request_mb",
                                        "touched_mb", "peak_mb")}}
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print("| tree | dim | budget MiB | words | file MB | open ms (fresh / warm) | RSS MB after "
          "open / one request / every row touched | peak |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tree']} | {r['dim']} | {r['budget_mb']:g} | {r['words']:,} | "
              f"{r['file_mb']:.1f} | {r['first_ms']:.1f} / {r['warm_ms']:.1f} | "
              f"{r['open_mb']:.1f} / {r['request_mb']:.1f} / {r['touched_mb']:.1f} | "
              f"{r['peak_mb']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
