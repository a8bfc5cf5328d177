"""`millicent bench --compare`: baselines prepared for real (dynalite tables in the paper's
list layout and the binary one, a frequent-word pack, `millicent serve` processes, the
always-on server), the same requests against each, ratios to the first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.cli.main import main
from tests import servers
from tests.bench_support import kim_artifact

pytestmark = pytest.mark.integration
pytest.importorskip("millicent.data.sst")


def test_compare_paper_millicent_server(dynalite: servers.Server, data_dir: Path,
                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    art = kim_artifact(tmp_path / "kim")
    out = tmp_path / "cmp"
    rc = main(["bench", "--compare", "paper,millicent,server", "--model", f"kim={art}",
               "--dynamodb-endpoint", dynalite.endpoint, "--concurrency", "2", "--limit", "30",
               "--warmup", "4", "--pack-top", "2000", "--data-dir", str(data_dir), "--cold-samples", "1",
               "--out", str(out), "--no-progress", "--no-plots"])
    text = capsys.readouterr().out
    assert rc == 0, text
    rows = {r["config"]: r for r in json.loads((out / "results.json").read_text())}
    assert set(rows) == {"paper", "millicent", "server"}
    for r in rows.values():
        assert (r["model"], r["concurrency"], r["requests"], r["errors"]) == ("kim", 2, 30, 0)
    paper, mill, server = rows["paper"], rows["millicent"], rows["server"]
    # the paper's function reads every word from DynamoDB (no pack, no LRU) in list layout
    assert paper["configuration"]["layout"] == "list"
    assert paper["cache_hit_rate"] == 0 and paper["store"]["items_per_request"] > 3
    assert paper["cost_per_million_usd"]["gateway"] == pytest.approx(3.5)
    assert paper["cost_per_million_usd"]["store"] > 0
    # millicent's pack answers the frequent words: fewer reads, cheaper store
    assert mill["cache_hit_rate"] > 0.5
    assert mill["store"]["items_per_request"] < paper["store"]["items_per_request"]
    assert mill["cost_per_million_usd"]["store"] < paper["cost_per_million_usd"]["store"]
    assert mill["cost_per_million_usd"]["gateway"] == 0.0
    assert all(r["duration_source"] == "header" for r in (paper, mill))
    # the always-on server: no per-request price, an instance cost at its throughput
    assert server["cost_per_million_usd"] is None
    assert server["instance_cost_per_million_usd"] == pytest.approx(
        0.0168 / 3600 / server["throughput_qps"] * 1e6)
    ratios = json.loads((out / "ratios.json").read_text())
    assert [(r["config"], r["reference"]) for r in ratios] == [("millicent", "paper"),
                                                               ("server", "paper")]
    m = ratios[0]
    assert m["cost_total"] == pytest.approx(mill["cost_per_million_usd"]["total"]
                                            / paper["cost_per_million_usd"]["total"])
    assert m["cost_total"] < 1 and m["p50"] > 0
    assert "## Ratios to `paper`" in text and "## Ratios to `paper`" in (out / "report.md").read_text()
    plan = json.loads((out / "plan.json").read_text())
    assert plan["compare"] == ["paper", "millicent", "server"]
    # the cost verb re-prices a comparison like any run; the server's throughput is the
    # capacity of one always-on instance in the break-even
    assert main(["cost", "--results", str(out), "--no-plots"]) == 0
    be = json.loads((out / "cost.json").read_text())["break_even"]
    assert set(be) == {"paper/kim/C=2", "millicent/kim/C=2"}
    assert be["millicent/kim/C=2"]["instance_capacity_qps"] == pytest.approx(server["throughput_qps"])


def test_compare_refuses_unknown_configs_and_missing_artifacts(tmp_path: Path) -> None:
    base = ["bench", "--model", f"kim={tmp_path}", "--out", str(tmp_path / "o")]
    assert main([*base, "--compare", "paper,gpu"]) == 2
    assert main([*base, "--compare", "paper"]) == 2
    assert main([*base, "--compare", "paper,millicent"]) == 2  # no manifest.json there
    assert main(["bench", "--compare", "paper,millicent", "--model", "kim", "--out",
                 str(tmp_path / "o")]) == 2  # needs NAME=ARTIFACT_DIR
