"""Package the shipped models and measure the packaged function on the local platform.

    python experiments/deploy_package.py --data-dir ../shared/data --wheel-dir .cache/wheels \
        [--kim millicent/artifacts/kim-sst1-static] [--sm millicent/artifacts/sm-trecqa] [--pack-words 10000] [--runs 5]

Builds a python3.11 x86_64 zip (this machine's Python) with a frequent-word pack, prints
its size report, then cold-starts it ``--runs`` times on the local platform (a fresh
platform per run, so every call is a cold start) and reports the init time (REPORT
``init_ms``), the first (cold) and a warm invocation's duration, and where the
environment imported millicent and numpy from (must be the unpacked zip).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from millicent.deploy.localrun import run_local, unpack
from millicent.deploy.package import PackageSpec, build_package
from millicent.deploy.target import LambdaTarget

PROBE = '''
import millicent, numpy
def handler(event, context):
    return {"millicent": millicent.__file__, "numpy": numpy.__file__, "numpy_version": numpy.__version__}
'''


def _probe(zip_path: Path, task: Path) -> dict:
    from millicent.platform.functions import FunctionSpec, PlatformSettings
    from millicent.platform.platform import Platform

    unpack(zip_path, task)
    (task / "millicent_probe.py").write_text(PROBE)

    async def go() -> dict:
        p = Platform([FunctionSpec(name="probe", handler="millicent_probe.handler")],
                     PlatformSettings(task_root=str(task)))
        await p.start()
        try:
            return json.loads((await p.invoke("probe", b"{}")).payload)
        finally:
            await p.stop()

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--wheel-dir", required=True)
    ap.add_argument("--kim", default="millicent/artifacts/kim-sst1-static")
    ap.add_argument("--sm", default="millicent/artifacts/sm-trecqa")
    ap.add_argument("--pack-words", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--memory-mb", type=int, default=1024)
    args = ap.parse_args()

    from millicent.data.vectors import load_vectors
    from millicent.store import open_store
    from millicent.store.loader import load_store
    from millicent.store.pack import write_pack

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        from millicent.runtime.artifact import TokenizerSpec
        from millicent.tokenizers import make_tokenizer

        keys = make_tokenizer(TokenizerSpec.of("ptb"))  # the shipped models' store keys
        vectors = load_vectors("glove-50", data_dir=args.data_dir, key=keys.vocabulary_key)
        pack = write_pack(tmp / "top.pack", vectors.words[: args.pack_words],
                          vectors.matrix[: args.pack_words], source="glove-50")
        store_url = f"sqlite:///{tmp / 'vectors.db'}"
        store = open_store(store_url)
        load_store(store, vectors.words, vectors.matrix, source="glove-50", progress=False)
        store.close()
        t0 = time.perf_counter()
        built = build_package(PackageSpec(
            models=(("kim", Path(args.kim)), ("sm", Path(args.sm))), out_dir=tmp / "dist", pack=pack,
            target=LambdaTarget("3.11"), wheel_dir=Path(args.wheel_dir)))
        print(f"built in {time.perf_counter() - t0:.1f} s: {built.zip_path.name}")
        print(built.sizes.format())
        print("probe:", _probe(built.zip_path, tmp / "probe"))

        sentence = {"sentence": "a gripping , beautifully acted film with a weak ending ."}
        inits, colds, warms, mems = [], [], [], []
        for i in range(args.runs):
            got = run_local(built.zip_path, tmp / f"task{i}", {"MILLICENT_STORE_URL": store_url},
                            [("kim", sentence), ("kim", sentence)], memory_mb=args.memory_mb)
            assert got[0].cold and not got[1].cold
            inits.append(got[0].init_ms or 0.0)
            colds.append(got[0].duration_ms)
            warms.append(got[1].duration_ms)
            mems.append(got[0].max_memory_mb or 0.0)
        print(json.dumps({
            "zipped_mb": round(built.sizes.zipped / 2**20, 2),
            "unzipped_mb": round(built.sizes.unzipped / 2**20, 2),
            "runs": args.runs,
            "init_ms_median": round(statistics.median(inits), 1),
            "init_ms_all": [round(x, 1) for x in inits],
            "cold_invoke_ms_median": round(statistics.median(colds), 1),
            "warm_invoke_ms_median": round(statistics.median(warms), 2),
            "max_memory_mb_median": round(statistics.median(mems), 1),
        }, indent=2))


if __name__ == "__main__":
    main()
