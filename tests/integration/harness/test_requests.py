"""``millicent bench --requests FILE.jsonl``: the user's own request bodies, sent as they
stand (or grouped into batches) to a model served by the local platform — zero errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from millicent.cli.main import main
from millicent.testing.loopback import PlatformProcess, start_platform
from tests.reliability.support import KIM, SM, load_vectors

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def platform(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    root = tmp_path_factory.mktemp("bench-requests")
    url = f"sqlite:///{root}/vectors.db"
    load_vectors(KIM, url, "sst-1:dev", data_dir)
    load_vectors(SM, url, "trecqa:raw-dev", data_dir)
    p = start_platform(["--model", f"kim={KIM}", "--model", f"sm={SM}", "--store", url,
                        "--max-concurrency", "8", "--idle-timeout", "300"], root / "serve")
    yield p
    assert p.stop() == 0


def _requests(path: Path) -> Path:
    lines = [{"sentence": "a charming , often affecting journey ."},
             {"sentence": "the movie is a disaster ."},
             {"question": "who wrote hamlet ?", "answers": ["shakespeare wrote hamlet .", "it rained ."]},
             {"input": "an old client 's body"},
             {"question": "who ?", "answer": "me ."}] * 8
    path.write_text("\n".join(json.dumps(b) for b in lines) + "\n\n", encoding="utf-8")
    return path


def test_bench_sends_the_file_s_bodies_with_zero_errors(platform: PlatformProcess, tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc = main(["bench", "--endpoint", platform.url, "--requests", str(_requests(tmp_path / "r.jsonl")),
               "--concurrency", "2,4", "--no-progress", "--no-plots", "--out", str(out)])
    assert rc == 0
    rows = json.loads((out / "results.json").read_text())
    assert [r["concurrency"] for r in rows] == [2, 4]
    assert all(r["errors"] == 0 and r["ok"] == r["requests"] == 40 for r in rows)
    assert all(r["model"] == "requests" for r in rows)


def test_batch_size_groups_single_text_lines(platform: PlatformProcess, tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps({"sentence": f"a good film number {i} ."})
                              for i in range(40)), encoding="utf-8")
    out = tmp_path / "batched"
    rc = main(["bench", "--endpoint", platform.url, "--requests", str(path), "--function", "kim",
               "--batch-size", "8", "--concurrency", "2", "--no-progress", "--no-plots",
               "--out", str(out)])
    assert rc == 0
    (row,) = json.loads((out / "results.json").read_text())
    assert row["errors"] == 0 and row["requests"] == 5 and row["model"] == "kim"
    assert row["texts"] == 40


def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"sentence": "fine"}\n[1, 2]\n', encoding="utf-8")
    rc = main(["bench", "--endpoint", "http://127.0.0.1:9", "--requests", str(path),
               "--concurrency", "1", "--out", str(tmp_path / "x")])
    assert rc == 1 and f"{path}:2: a request body must be a JSON object" in capsys.readouterr().err
