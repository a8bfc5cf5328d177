"""Issue 20, item 7: ``millicent plan --from-bench`` takes the frequent-word pack the bench
run's function bundled (recorded from its ``/health``) instead of silently assuming none,
and its report says which pack it assumed.

The function: the shipped Kim CNN behind the function's own request edge (the ``server``
baseline's aiohttp app, in a thread) over GloVe-50 in memory behind a real 2,000-word pack.
``millicent bench`` and ``millicent plan`` run through the CLI.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from millicent.baselines.server import make_app
from millicent.cli.main import main
from millicent.data.vectors import load_vectors
from millicent.data.vocab import dataset_tokens
from millicent.runtime.registry import load_model
from millicent.store.memory import MemoryStore
from millicent.store.pack import FrequentWordPack, select_top, write_pack
from millicent.store.tiers import TieredEmbeddings
from millicent.train.shipped import artifacts_dir
from tests.functional.bench_contract_server import ThreadedServer

PROFILE_TRAFFIC = ["--traffic", "constant:50", "--days", "0.05", "--no-plots"]


class _Function:
    """The Kim CNN's request edge with a pack in front of an in-memory store."""

    def __init__(self, store: TieredEmbeddings) -> None:
        self.store = store
        self.port = 0

    def app(self) -> Any:
        kim = load_model(artifacts_dir() / "kim-sst1-static")
        return make_app({"kim": kim}, self.store)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("packrun")
    vectors = load_vectors("glove-50", data_dir, vocab=dataset_tokens("sst-1", data_dir))
    top = select_top(vectors.words, vectors.matrix, top=2000)
    pack = write_pack(work / "top2k.pack", top.keys, top.matrix, source="glove-50", by="glove")
    store = TieredEmbeddings(MemoryStore.from_vectors(vectors.words, vectors.matrix),
                             pack=FrequentWordPack.open(pack))
    with ThreadedServer(_Function(store)) as srv:  # type: ignore[arg-type]
        rc = main(["bench", "--endpoint", srv.endpoint, "--model", "kim", "--concurrency", "1",
                   "--limit", "40", "--warmup", "2", "--data-dir", str(data_dir),
                   "--out", str(work / "run"), "--no-progress", "--no-plots"])
    assert rc == 0
    return work / "run", pack


def _plan(run: Path, out: Path, data_dir: Path, *extra: str) -> dict[str, Any]:
    rc = main(["plan", *PROFILE_TRAFFIC, "--from-bench", str(run), "--data-dir", str(data_dir),
               "--out", str(out), *extra])
    assert rc == 0
    return {"results": json.loads((out / "results.json").read_text()),
            "report": (out / "report.md").read_text()}


def test_the_run_records_the_pack_the_function_bundled(bench_run: tuple[Path, Path]) -> None:
    run, pack = bench_run
    recorded = json.loads((run / "plan.json").read_text())["function"]["pack"]
    assert recorded["path"] == str(pack.resolve()) and recorded["words"] == 2000


def test_the_plan_assumes_the_recorded_pack_and_says_so(
        bench_run: tuple[Path, Path], tmp_path: Path, data_dir: Path) -> None:
    run, pack = bench_run
    assumed = _plan(run, tmp_path / "assumed", data_dir)
    given = _plan(run, tmp_path / "given", data_dir, "--pack", str(pack))
    none = _plan(run, tmp_path / "none", data_dir, "--pack", "none")
    assert "the pack the bench run's function bundled (recorded by the run)" in assumed["report"]
    assert str(pack) in assumed["report"] and "--pack none" in none["report"]
    reads = {name: r["results"]["dynamodb"]["read_units"]
             for name, r in (("assumed", assumed), ("given", given), ("none", none))}
    assert reads["assumed"] == reads["given"] < reads["none"] / 3, reads


def test_a_recorded_pack_that_is_gone_or_unrecorded_pack_hits_are_refused(
        bench_run: tuple[Path, Path], tmp_path: Path, data_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    run, _pack = bench_run
    moved = tmp_path / "run"
    shutil.copytree(run, moved)
    plan = json.loads((moved / "plan.json").read_text())
    plan["function"]["pack"]["path"] = str(tmp_path / "gone.pack")
    (moved / "plan.json").write_text(json.dumps(plan))
    assert main(["plan", *PROFILE_TRAFFIC, "--from-bench", str(moved), "--data-dir", str(data_dir),
                 "--out", str(tmp_path / "p1")]) == 2
    assert "which is not there any more: pass --pack FILE" in capsys.readouterr().err
    del plan["function"]  # a run from before it was recorded: its records show pack hits
    (moved / "plan.json").write_text(json.dumps(plan))
    assert main(["plan", *PROFILE_TRAFFIC, "--from-bench", str(moved), "--data-dir", str(data_dir),
                 "--out", str(tmp_path / "p2")]) == 2
    err = capsys.readouterr().err
    assert "word lookups from a frequent-word pack, but the run does not say which" in err
    assert not (tmp_path / "p1").exists() and not (tmp_path / "p2").exists()
