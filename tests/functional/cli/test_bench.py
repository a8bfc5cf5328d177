"""`millicent bench` end to end: the real evaluation sets as requests, a real loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from millicent.cli.main import main
from tests.functional.bench_contract_server import ContractServer, ThreadedServer
from tests.servers import free_port

pytest.importorskip("millicent.data.sst")


def test_bench_kim_and_sm_on_the_evaluation_sets(data_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    contract = ContractServer()
    with ThreadedServer(contract) as srv:
        rc = main(["bench", "--endpoint", srv.endpoint, "--model", "kim", "--concurrency", "2,3",
                   "--limit", "20", "--warmup", "2", "--data-dir", str(data_dir),
                   "--out", str(tmp_path / "kim"), "--no-progress", "--no-plots",
                   "--gateway", "http", "--config-name", "loopback"])
        assert rc == 0
        rc = main(["bench", "--endpoint", srv.endpoint, "--model", "sm", "--concurrency", "2",
                   "--limit", "10", "--repeat", "2", "--data-dir", str(data_dir),
                   "--out", str(tmp_path / "sm"), "--no-progress", "--no-plots"])
        assert rc == 0
    out = capsys.readouterr().out
    assert "loopback-kim-c2" in out and "SST-1 dev (first 20 of 1101) → /classify" in out
    assert "TrecQA raw-dev (first 10 of 1148) → /rank" in out
    rows = json.loads((tmp_path / "kim" / "results.json").read_text())
    assert [(r["config"], r["concurrency"], r["requests"], r["warmup_requests"]) for r in rows] == [
        ("loopback", 2, 20, 2), ("loopback", 3, 20, 2)]
    assert rows[0]["cost_per_million_usd"]["gateway"] == pytest.approx(1.0)
    (sm,) = json.loads((tmp_path / "sm" / "results.json").read_text())
    assert (sm["model"], sm["requests"], sm["warmup_requests"], sm["errors"]) == ("sm", 20, 4, 0)
    assert "only the first 10 of 1148" in (tmp_path / "sm" / "report.md").read_text()
    # 20 + 2 + 20 + 2 kim requests and 4 + 20 sm requests reached the server
    assert contract.served == 68


def test_bench_with_nothing_answering_fails(data_dir: Path, tmp_path: Path) -> None:
    rc = main(["bench", "--endpoint", f"http://127.0.0.1:{free_port()}", "--model", "kim",
               "--concurrency", "2", "--limit", "4", "--warmup", "0", "--data-dir", str(data_dir),
               "--out", str(tmp_path), "--no-progress", "--timeout", "5"])
    assert rc == 1
    (row,) = json.loads((tmp_path / "results.json").read_text())
    assert row["errors"] == 4 and row["error_kinds"] == {"no response": 4}


def test_bench_refuses_bad_arguments(data_dir: Path, tmp_path: Path) -> None:
    base = ["bench", "--endpoint", "http://127.0.0.1:1", "--model", "kim", "--data-dir",
            str(data_dir), "--out", str(tmp_path)]
    assert main([*base, "--concurrency", "5,5"]) == 2  # ConfigError
    assert main([*base, "--repeat", "0"]) == 2
    assert main([*base, "--prices", str(tmp_path / "missing.json")]) == 2
    assert not (tmp_path / "plan.json").exists()  # nothing was sent


def test_bench_batch_size_reports_texts_per_second_and_cost_per_text(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.data.sst import load_sst
    from tests.functional.batch_function_server import FunctionProcess

    words = sorted({w for e in load_sst(data_dir, "sst-1", "dev")[:100] for w in e.text.split()})
    with FunctionProcess(words, tmp_path) as srv:
        rc = main(["bench", "--endpoint", srv.endpoint, "--model", "kim", "--concurrency", "2",
                   "--limit", "100", "--batch-size", "16", "--warmup", "1",
                   "--data-dir", str(data_dir), "--out", str(tmp_path / "run"), "--no-progress",
                   "--no-plots"])
        batch_sizes = srv.stats()["batch_sizes"]
    assert rc == 0
    out = capsys.readouterr().out
    assert "SST-1 dev (first 100 of 1101) in batches of 16 → /classify" in out
    assert "## Per text (batch requests)" in out
    (row,) = json.loads((tmp_path / "run" / "results.json").read_text())
    # 7 batch requests per pass (6 × 16 + 4) and one warm-up batch
    assert (row["requests"], row["ok"], row["texts"], row["batch_size"]) == (7, 7, 100, 16)
    assert batch_sizes == [16, 16, 16, 16, 16, 16, 16, 4]
    assert row["throughput_tps"] == pytest.approx(row["throughput_qps"] * 100 / 7)
    per_text = row["cost_per_million_texts_usd"]
    assert per_text["requests"] == pytest.approx(0.20 * 7 / 100)
    assert per_text["total"] == pytest.approx(row["cost_per_million_usd"]["total"] * 7 / 100)
    # re-summarised from the saved records, the per-text figures come back the same
    from millicent.economics.prices import load_prices
    from millicent.harness.runner import recompute

    (again,) = [r.to_dict() for r in recompute(tmp_path / "run", load_prices())]
    assert again["texts"] == 100 and again["cost_per_million_texts_usd"] == pytest.approx(per_text)
