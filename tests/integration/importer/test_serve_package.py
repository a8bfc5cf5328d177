"""A recurrent classifier this project did not write, exported by torch.onnx.export with
dynamic axes and imported with ``millicent import onnx``, answers equal to PyTorch (1e-4)
through ``millicent serve`` (the local platform: awslambdaric, one process per
environment), ``invoke``, ``bench`` + ``cost``; ``package`` makes a Lambda zip inside
Lambda's limits whose handler — run by a python3.12 that sees only the unpacked zip and the
standard library — answers the same; ``template`` and ``deploy`` (moto) take that zip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from millicent.deploy.contents import PackageError  # noqa: E402
from millicent.deploy.package import PackageSpec, build_package  # noqa: E402
from millicent.deploy.sizes import LAMBDA_MAX_UNZIPPED, LAMBDA_MAX_ZIPPED  # noqa: E402
from millicent.deploy.target import LambdaTarget  # noqa: E402
from millicent.runtime.registry import load_model  # noqa: E402
from millicent.store import open_embeddings  # noqa: E402
from millicent.testing.loopback import PlatformProcess, start_platform  # noqa: E402
from tests import onnx_support as ox  # noqa: E402
from tests.deploy_support import wheel_dir  # noqa: E402
from tests.servers import REPO  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.train]
torch.set_num_threads(1)
SENTENCES = ["It's a CHARMING, often affecting journey!", "a dull , lifeless film .",
             "Neither funny nor moving, it drags on and on and on for two long hours .", "bad ."]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=300)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Any]:
    """The BiGRU exported, imported (the real CLI) and its vectors loaded into SQLite (the
    real CLI, ``--vocab-from`` the artifact itself and the benchmark's sentences)."""
    tmp = tmp_path_factory.mktemp("onnx-serve")
    module = ox.seeded(ox.BiGRUClassifier(), seed=11)
    graph = ox.export(module, tmp / "bigru.onnx", [ox.example()], ["emb"], output="logits")
    done = _cli("import", "onnx", str(graph), "--role", "classify", "--out", str(tmp / "gru"),
                "--labels", "negative,positive", "--task", "sst-2", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    store_url = f"sqlite:///{tmp / 'vectors.db'}"
    done = _cli("embeddings", "load", str(tmp / "gru"), "--store", store_url, "--vocab-from",
                str(tmp / "gru"), "--vocab-from", "sst-1:dev", "--data-dir", str(data_dir), "--quiet")
    assert done.returncode == 0, done.stderr
    return {"module": module, "artifact": tmp / "gru", "store_url": store_url, "tmp": tmp}


def _torch_probabilities(imported: dict[str, Any], texts: list[str]) -> np.ndarray:
    model = load_model(imported["artifact"])
    emb = open_embeddings(imported["store_url"])
    try:
        embs = [emb.lookup(model.encode(t).keys).matrix for t in texts]
    finally:
        emb.close()
    return ox.softmax(ox.torch_each(imported["module"], embs))


@pytest.fixture(scope="module")
def platform(imported: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    p = start_platform(["--model", f"gru={imported['artifact']}", "--store", imported["store_url"],
                        "--max-concurrency", "2"], tmp_path_factory.mktemp("serve-log"))
    yield p
    assert p.stop() == 0


def test_the_platform_answers_equal_to_pytorch(platform: PlatformProcess, imported: dict[str, Any]) -> None:
    want = _torch_probabilities(imported, SENTENCES)
    for text, w in zip(SENTENCES, want, strict=True):
        reply = platform.post("/classify", {"sentence": text})
        assert reply.status == 200, reply.body
        np.testing.assert_allclose(reply.json()["probabilities"], w, atol=1e-4)
    batch = platform.post("/gru", {"sentences": SENTENCES})
    assert batch.status == 200, batch.body
    np.testing.assert_allclose([r["probabilities"] for r in batch.json()["results"]], want, atol=1e-4)
    health = platform.request("GET", "/health").json()
    assert health["models"][0]["kind"] == "onnx" and health["embedding_dim"] == 50
    bad = platform.post("/classify", {"sentence": "   "})
    assert bad.status == 400 and bad.json()["error"] == "invalid_input"


def test_invoke_bench_and_cost_work_against_it(platform: PlatformProcess, imported: dict[str, Any],
                                                data_dir: Path) -> None:
    done = _cli("invoke", "--endpoint", platform.url, "--function", "gru", "--sentence", SENTENCES[0])
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(json.loads(done.stdout)["probabilities"],
                               _torch_probabilities(imported, SENTENCES[:1])[0], atol=1e-4)
    out = imported["tmp"] / "bench"
    done = _cli("bench", "--endpoint", platform.url, "--model", "kim", "--function", "gru",
                "--concurrency", "2", "--limit", "30", "--out", str(out), "--data-dir",
                str(data_dir), "--no-progress", "--no-plots")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads((out / "results.json").read_text())
    assert (result["ok"], result["errors"]) == (30, 0)
    assert result["breakdown_ms"]["forward"] > 0 and result["cost_per_million_usd"]["total"] > 0
    done = _cli("cost", "--results", str(out))
    assert done.returncode == 0, done.stderr
    assert "| endpoint | kim | 2 |" in done.stdout


def _python312() -> str:
    found = shutil.which("python3.12")
    candidates = [found] if found else []
    candidates += sorted(str(p) for p in Path(os.path.expanduser("~/.pyenv/versions")).glob("3.12*/bin/python3.12"))
    for c in candidates:
        if subprocess.run([c, "-c", "import sqlite3"], capture_output=True, check=False).returncode == 0:
            return c
    pytest.skip("no python3.12 interpreter to run a python3.12 package with")


RUNNER = r"""
import json, sys
class Context:
    function_name = "gru"; aws_request_id = "req-1"; memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gru"
    def get_remaining_time_in_millis(self): return 10_000
from millicent.runtime.handler import handler
answers = [handler(event, Context()) for event in json.load(sys.stdin)]
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print(json.dumps({"answers": answers, "files": files, "prefix": sys.base_prefix}))
"""


@pytest.fixture(scope="module")
def packaged(imported: dict[str, Any]) -> dict[str, Any]:
    """``millicent package`` (the real CLI; default target python3.12 x86_64) of the model."""
    wheels = wheel_dir("cp312")
    if not list(wheels.glob("onnxruntime-*-cp312-*manylinux*x86_64*.whl")):
        pytest.fail(f"an onnxruntime cp312 wheel in {wheels} is required (scripts/install-deps)")
    dist = imported["tmp"] / "dist"
    done = _cli("package", "--model", f"gru={imported['artifact']}", "--out", str(dist),
                "--wheel-dir", str(wheels))
    assert done.returncode == 0, done.stderr
    (report,) = dist.glob("millicent-function-py3.12-x86_64.json")
    return {**json.loads(report.read_text()), "zip_path": dist / "millicent-function-py3.12-x86_64.zip",
            "stdout": done.stdout}


def test_the_zip_is_within_lambda_limits_and_carries_only_what_onnxruntime_imports(
        packaged: dict[str, Any]) -> None:
    sizes = packaged["sizes"]
    assert sizes["zipped_bytes"] < LAMBDA_MAX_ZIPPED and sizes["unzipped_bytes"] < LAMBDA_MAX_UNZIPPED
    assert [c for c in sizes["components"] if c.startswith("onnxruntime ")]
    assert "onnxruntime" in packaged["stdout"] and "MB zipped" in packaged["stdout"]
    names = zipfile.ZipFile(packaged["zip_path"]).namelist()
    assert any(n.startswith("onnxruntime/capi/onnxruntime_pybind11_state") for n in names)
    assert not [n for n in names if n.startswith(("onnxruntime/tools/", "onnxruntime/transformers/",
                                                  "onnxruntime/capi/libonnxruntime.so"))]
    # its declared dependencies are not bundled: importing onnxruntime does not need them
    assert not [n for n in names if n.split("/")[0] in ("google", "sympy", "flatbuffers", "onnx")]
    assert packaged["manifest"]["models"]["gru"]["kind"] == "onnx"


def test_the_zip_alone_answers_equal_to_pytorch(imported: dict[str, Any], packaged: dict[str, Any]) -> None:
    task = imported["tmp"] / "task"
    zipfile.ZipFile(packaged["zip_path"]).extractall(task)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(task),
           "LAMBDA_TASK_ROOT": str(task), "AWS_LAMBDA_FUNCTION_NAME": "gru",
           "MILLICENT_STORE_URL": imported["store_url"], **packaged["manifest"]["environment"]}
    events = [{"sentence": s} for s in SENTENCES] + [{"sentences": SENTENCES}]
    proc = subprocess.run([_python312(), "-S", "-c", RUNNER], input=json.dumps(events),
                          capture_output=True, text=True, cwd=task, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    outside = [f for f in run["files"] if not f.startswith((str(task) + os.sep, run["prefix"] + os.sep))]
    assert outside == []
    assert any(f.startswith(str(task) + "/onnxruntime/") for f in run["files"])
    want = _torch_probabilities(imported, SENTENCES)
    got = [a["probabilities"] for a in run["answers"][:-1]]
    np.testing.assert_allclose(got, want, atol=1e-4)
    np.testing.assert_allclose([r["probabilities"] for r in run["answers"][-1]["results"]], want, atol=1e-4)
    assert run["answers"][0]["timings"]["init"] == "eager"


def test_template_and_deploy_take_the_onnx_package(imported: dict[str, Any], packaged: dict[str, Any],
                                                   tmp_path: Path) -> None:
    """Against moto's server (control plane only): the stack, its function and a small load."""
    import boto3

    from tests.deploy_support import MotoServer

    done = _cli("template", "--gateway", "url", "--out", str(tmp_path / "template.json"))
    assert done.returncode == 0, done.stderr
    assert "Function" in json.loads((tmp_path / "template.json").read_text())["Resources"]
    vectors = tmp_path / "tiny50.txt"
    rng = np.random.default_rng(0)
    vectors.write_text("".join(f"{w} " + " ".join(f"{x:.4f}" for x in rng.normal(size=50)) + "\n"
                               for w in ("bad", "film", ".")))
    moto = MotoServer()
    try:
        common = ["--stack", "millicent-onnx", "--region", "eu-west-1", "--endpoint-url", moto.endpoint]
        done = _cli("deploy", *common, "--package", str(packaged["zip_path"]), "--gateway", "none",
                    "--vectors", str(vectors))
        assert done.returncode == 0, done.stderr
        assert "CREATE_COMPLETE" in done.stdout and "(3 vectors loaded)" in done.stdout
        lam = boto3.client("lambda", region_name="eu-west-1", endpoint_url=moto.endpoint)
        (fn,) = lam.list_functions()["Functions"]
        assert fn["Environment"]["Variables"]["MILLICENT_MODELS"] == "gru=artifacts/gru"
        assert fn["Runtime"] == "python3.12" and fn["CodeSize"] == packaged["zip_path"].stat().st_size
        assert _cli("destroy", *common).returncode == 0
    finally:
        moto.stop()


def test_python311_packages_of_onnx_models_are_refused(imported: dict[str, Any]) -> None:
    with pytest.raises(PackageError, match=r"glibc 2\.28.*--python 3\.12"):
        build_package(PackageSpec(models=(("gru", imported["artifact"]),),
                                  out_dir=imported["tmp"] / "dist311", target=LambdaTarget("3.11"),
                                  wheel_dir=wheel_dir("cp311")))


def test_compare_serves_the_graph_in_the_paper_s_layout_and_millicent_s(
        imported: dict[str, Any], dynalite: Any, data_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from millicent.cli.main import main

    out = tmp_path / "cmp"
    rc = main(["bench", "--compare", "paper,millicent", "--model", f"kim={imported['artifact']}",
               "--dynamodb-endpoint", dynalite.endpoint, "--concurrency", "2", "--limit", "20",
               "--warmup", "2", "--pack-top", "2000", "--data-dir", str(data_dir), "--cold-samples", "1",
               "--out", str(out), "--no-progress", "--no-plots"])
    assert rc == 0, capsys.readouterr().out[-2000:]
    rows = {r["config"]: r for r in json.loads((out / "results.json").read_text())}
    for r in rows.values():
        assert r["errors"] == 0 and r["configuration"]["engine"] == "onnxruntime"
    assert rows["paper"]["configuration"]["layout"] == "list" and rows["paper"]["cache_hit_rate"] == 0
    assert rows["paper"]["cost_per_million_usd"]["total"] > rows["millicent"]["cost_per_million_usd"]["total"]
    rc = main(["bench", "--compare", "paper,torch", "--model", f"kim={imported['artifact']}",
               "--dynamodb-endpoint", dynalite.endpoint, "--concurrency", "1", "--data-dir",
               str(data_dir), "--out", str(tmp_path / "torch")])
    assert rc == 2 and "ONNX graph" in capsys.readouterr().err
