"""An ``embed`` model on the local platform (``millicent serve``), as the CNNs are served:
``import vectors glove-50`` → ``embeddings load`` into SQLite → ``POST /embed``,
``POST /{name}``, ``GET /health`` and a direct invocation through the Lambda Invoke API
answer exactly as the handler in this process does with the same store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from millicent.testing.loopback import PlatformProcess, start_platform
from tests import servers
from tests.embed_support import glove_mean

pytestmark = pytest.mark.integration

TEXTS = ["A gorgeous, witty, seductive movie.", "It's a CHARMING, often affecting journey!",
         "the plot was dull and boring"]


@pytest.fixture(scope="module")
def served(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    root = tmp_path_factory.mktemp("embed")
    artifact, store = glove_mean(root, data_dir, "sst-1:dev")
    return {"artifact": artifact, "store": store, "root": root}


@pytest.fixture(scope="module")
def platform(served: dict[str, Path | str]) -> Iterator[PlatformProcess]:
    p = start_platform(["--model", f"emb={served['artifact']}", "--store", str(served["store"]),
                        "--max-concurrency", "2"], Path(served["root"]) / "serve")
    yield p
    assert p.stop() == 0


def test_embed_routes_answer_as_the_handler_in_process(
        served: dict[str, Path | str], platform: PlatformProcess) -> None:
    from millicent.config import Limits
    from millicent.runtime.handler import serve
    from millicent.runtime.registry import load_model
    from millicent.store import open_embeddings

    model = load_model(served["artifact"])
    with open_embeddings(str(served["store"])) as emb:
        want = [serve(model, "emb", emb, {"sentence": t}, Limits()) for t in TEXTS]
        batch = serve(model, "emb", emb, {"sentences": TEXTS}, Limits())
    for text, w in zip(TEXTS, want, strict=True):
        for path in ("/embed", "/emb"):
            reply = platform.post(path, {"sentence": text})
            assert reply.status == 200, reply.body
            got = reply.json()
            assert got["tokens"] == w["tokens"] and got["model"] == "emb"
            np.testing.assert_allclose(got["embedding"], w["embedding"], atol=1e-6)
            assert np.linalg.norm(got["embedding"]) == pytest.approx(1.0, abs=1e-5)
    reply = platform.post("/embed", {"sentences": TEXTS})
    assert reply.status == 200
    results = reply.json()["results"]
    assert [r["tokens"] for r in results] == [r["tokens"] for r in batch["results"]]
    np.testing.assert_allclose([r["embedding"] for r in results],
                               [r["embedding"] for r in batch["results"]], atol=1e-6)


def test_health_errors_and_a_direct_invocation(platform: PlatformProcess) -> None:
    health = platform.request("GET", "/health")
    assert health.status == 200
    (model,) = health.json()["models"]
    assert (model["name"], model["role"], model["kind"], model["embedding_dim"]) == (
        "emb", "embed", "mean_vectors", 50)
    assert platform.request("GET", "/embed").status == 405
    bad = platform.post("/embed", {"question": "q?", "answer": "a."})
    assert bad.status == 400 and "sentence" in bad.json()["message"]
    direct = platform.post("/2015-03-31/functions/emb/invocations", {"sentence": TEXTS[0]})
    assert direct.status == 200
    answer = direct.json()
    assert len(answer["embedding"]) == 50 and answer["model"] == "emb"


def test_bench_compare_serves_an_embedder_as_itself(served: dict[str, Path | str],
                                                    dynalite: servers.Server, data_dir: Path,
                                                    tmp_path: Path) -> None:
    """``bench --compare`` of an embed model: its workload is its role's set (SST-1 dev
    texts to ``POST /emb``); the torch configuration, which rebuilds CNNs, refuses it."""
    from millicent.cli.main import main

    out = tmp_path / "cmp"
    argv = ["bench", "--compare", "millicent,server", "--model", f"emb={served['artifact']}",
            "--dynamodb-endpoint", dynalite.endpoint, "--concurrency", "1", "--warmup", "0",
            "--limit", "6", "--cold-samples", "0", "--data-dir", str(data_dir),
            "--out", str(out), "--no-progress", "--no-plots"]
    assert main(argv) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["config"] for r in rows} == {"millicent", "server"}
    assert all(r["ok"] == 6 and r["errors"] == 0 and r["model"] == "emb" for r in rows)
    plan = json.loads((out / "plan.json").read_text())
    assert plan["workloads"]["emb"]["spec"] == {"role": "embed", "dataset": "sst-1",
                                                "fmt": None, "text_column": "text"}
    torch = ["paper,torch" if a == "millicent,server" else str(tmp_path / "t") if a == str(out)
             else a for a in argv]
    assert main(torch) == 2 and not (tmp_path / "t" / "results.json").exists()
