"""The price per text of an ``embed`` function, end to end on the local platform: ``bench
--batch-size`` records the tokens and vectors each answer held, its report sets the cost per
million texts and tokens beside the hosted APIs'; ``cost`` re-reads the run (no workload: a
text per vector) and adds the always-on break-even in texts a month; ``plan --from-bench``
prices a million texts and tokens from the same run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.testing.loopback import PlatformProcess, start_platform
from tests.embed_support import glove_mean

pytestmark = pytest.mark.integration

N = 96  # the first N SST-1 dev sentences, in batches of 16
BATCH = 16


@pytest.fixture(scope="module")
def platform(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    root = tmp_path_factory.mktemp("per-text")
    artifact, store = glove_mean(root, data_dir, "sst-1")
    p = start_platform(["--model", f"emb={artifact}", "--store", store], root / "serve")
    yield p
    assert p.stop() == 0


def test_bench_cost_and_plan_price_texts_and_tokens(platform: PlatformProcess, data_dir: Path,
                                                    tmp_path: Path) -> None:
    from millicent.data.sst import load_sst

    run = tmp_path / "bench"  # first: the plan needs the run's cold start
    assert main(["bench", "--endpoint", platform.url, "--model", "embed", "--function", "emb",
                 "--batch-size", str(BATCH), "--limit", str(N), "--concurrency", "1",
                 "--repeat", "2", "--out", str(run), "--no-plots", "--data-dir", str(data_dir)]) == 0
    texts = [e.text for e in load_sst(data_dir, "sst-1", "dev")][:N]
    reply = platform.post("/embed", {"sentences": texts})
    tokens = sum(len(r["tokens"]) for r in reply.json()["results"])
    (row,) = json.loads((run / "results.json").read_text())
    assert row["embeddings"] is True and row["batch_size"] == BATCH
    assert row["tokens_per_text"] == pytest.approx(tokens / N)
    per_text, per_token = row["cost_per_million_texts_usd"], row["cost_per_million_tokens_usd"]
    assert per_token["total"] == pytest.approx(per_text["total"] / (tokens / N))
    report = (run / "report.md").read_text()
    assert "## Embeddings beside the hosted APIs" in report
    assert "openai/text-embedding-3-small" in report and "$ / M tokens" in report

    assert main(["cost", "--results", str(run), "--no-plots"]) == 0
    cost = (run / "cost.md").read_text()
    assert "## Embeddings beside the hosted APIs" in cost
    assert "an always-on instance at $" in cost and "texts a month" in cost

    out = tmp_path / "plan"
    assert main(["plan", "--traffic", "constant:1", "--days", "0.01", "--from-bench", str(run),
                 "--data-dir", str(data_dir), "--out", str(out), "--no-plots"]) == 0
    planned = json.loads((out / "results.json").read_text())
    assert planned["profile"]["texts_per_request"] == pytest.approx(BATCH)
    assert planned["profile"]["tokens_per_text"] == pytest.approx(tokens / N)
    on_demand = planned["options"]["on-demand"]["cost"]
    assert on_demand["per_million_texts_usd"] == pytest.approx(
        on_demand["per_million_usd"]["total"] / BATCH)
    assert on_demand["per_million_tokens_usd"] == pytest.approx(
        on_demand["per_million_texts_usd"] / (tokens / N))
    assert "$ / M tokens" in (out / "report.md").read_text()
