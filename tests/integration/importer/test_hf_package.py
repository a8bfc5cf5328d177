"""A ``transformer`` artifact (a tiny BERT made here, imported with ``import hf``) packaged
by ``millicent package``: the zip carries onnxruntime and ``tokenizers`` for the target
(python3.12, x86_64 and arm64), the table-less graph, ``tokenizer.json`` and the pack —
never the token table; run by a python3.12 that sees only the unpacked zip and the
standard library, its handler answers ``/embed`` equal to the in-process runtime;
``template`` and ``deploy`` (moto; the token table loaded from what the zip names) take it.
(The local platform runs functions on this interpreter, python3.11 here: it serves the
artifact itself — tests/integration/platform/test_transformer_serve.py.)
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
pytest.importorskip("transformers")

from millicent.config import Limits
from millicent.deploy.package import PackageSpec, build_package
from millicent.deploy.sizes import LAMBDA_MAX_UNZIPPED, LAMBDA_MAX_ZIPPED
from millicent.deploy.target import LambdaTarget
from millicent.runtime.handler import serve
from millicent.runtime.registry import load_model
from millicent.store import open_embeddings
from tests.deploy_support import wheel_dir
from tests.integration.importer.test_serve_package import _python312
from tests.servers import REPO

pytestmark = [pytest.mark.integration, pytest.mark.train]
SENTENCES = ["It's a charming, often affecting journey.", "who wrote hamlet ?",
             "Héllo wörld — café crème brûlée!", "the film " * 40]

RUNNER = r"""
import json, sys
class Context:
    function_name = "tiny"; aws_request_id = "req-1"; memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tiny"
    def get_remaining_time_in_millis(self): return 10_000
from millicent.runtime.handler import handler
answers = [handler(event, Context()) for event in json.load(sys.stdin)]
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print(json.dumps({"answers": answers, "files": files, "prefix": sys.base_prefix}))
"""


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "millicent.cli.main", *args], cwd=REPO,
                          capture_output=True, text=True, check=False, timeout=300)


def _wheels() -> Path:
    wheels = wheel_dir("cp312")
    for arch in ("x86_64", "aarch64"):
        for name in ("numpy-*-cp312", "onnxruntime-*-cp312", "tokenizers-*-abi3"):
            if not list(wheels.glob(f"{name}-*manylinux*{arch}*.whl")):
                pytest.fail(f"a {name} {arch} wheel in {wheels} is required (scripts/install-deps)")
    return wheels


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> dict[str, Any]:
    """A tiny sentence-transformers BERT imported (``import hf``, the real CLI), its table
    loaded into SQLite and a pack of its frequent tokens written (the real CLI)."""
    from tests.hf_support import bert_dir

    tmp = tmp_path_factory.mktemp("hf-package")
    source = bert_dir(tmp / "tiny-bert")
    done = _cli("import", "hf", str(source), "--role", "embed", "--out", str(tmp / "tiny"),
                "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    store_url = f"sqlite:///{tmp / 'tokens.db'}"
    done = _cli("embeddings", "load", str(tmp / "tiny"), "--store", store_url, "--quiet",
                "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    done = _cli("embeddings", "pack", str(tmp / "tiny"), "--top", "40",
                "--store", store_url, "--out", str(tmp / "tiny.pack"), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    return {"artifact": tmp / "tiny", "store_url": store_url, "pack": tmp / "tiny.pack", "tmp": tmp}


@pytest.fixture(scope="module")
def packaged(imported: dict[str, Any]) -> dict[str, Any]:
    """``millicent package`` (the real CLI; python3.12 x86_64) with the pack."""
    dist = imported["tmp"] / "dist"
    done = _cli("package", "--model", f"tiny={imported['artifact']}", "--pack", str(imported["pack"]),
                "--out", str(dist), "--wheel-dir", str(_wheels()))
    assert done.returncode == 0, done.stderr
    (report,) = dist.glob("millicent-function-py3.12-x86_64.json")
    return {**json.loads(report.read_text()), "zip_path": dist / "millicent-function-py3.12-x86_64.zip"}


def test_the_zip_carries_the_graph_the_tokenizer_the_pack_and_no_table(packaged: dict[str, Any]) -> None:
    sizes = packaged["sizes"]
    assert sizes["zipped_bytes"] < LAMBDA_MAX_ZIPPED and sizes["unzipped_bytes"] < LAMBDA_MAX_UNZIPPED
    names = zipfile.ZipFile(packaged["zip_path"]).namelist()
    assert sorted(n for n in names if n.startswith("artifacts/tiny/")) == [
        "artifacts/tiny/manifest.json", "artifacts/tiny/model.onnx", "artifacts/tiny/tokenizer.json"]
    assert not [n for n in names if n.endswith((".safetensors", ".npy", ".bin"))]
    assert "pack/tiny.pack" in names
    assert any(n.startswith("tokenizers/tokenizers.abi3") for n in names)
    assert any(n.startswith("onnxruntime/capi/onnxruntime_pybind11_state") for n in names)
    # neither their declared dependencies nor the import tooling
    assert not [n for n in names if n.split("/")[0] in
                ("huggingface_hub", "transformers", "torch", "safetensors", "onnx", "sympy")]
    assert sorted(packaged["manifest"]["wheels"])[-1].startswith("tokenizers ")
    assert packaged["manifest"]["models"]["tiny"]["kind"] == "transformer"


def _events() -> list[dict[str, Any]]:
    rest = {"resource": "/{proxy+}", "path": "/embed", "httpMethod": "POST",
            "headers": {"content-type": "application/json"}, "queryStringParameters": None,
            "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "POST", "stage": "prod",
                               "path": "/prod/embed", "requestId": "r1"},
            "body": json.dumps({"sentence": SENTENCES[0]}), "isBase64Encoded": False}
    body = base64.b64encode(json.dumps({"sentences": SENTENCES}).encode()).decode()
    url = {"version": "2.0", "routeKey": "$default", "rawPath": "/tiny", "rawQueryString": "",
           "headers": {"host": "abc123.lambda-url.us-east-1.on.aws"},
           "requestContext": {"domainName": "abc123.lambda-url.us-east-1.on.aws",
                              "http": {"method": "POST", "path": "/tiny", "protocol": "HTTP/1.1",
                                       "sourceIp": "203.0.113.9", "userAgent": "test"},
                              "requestId": "r2", "routeKey": "$default", "stage": "$default",
                              "timeEpoch": 0},
           "body": body, "isBase64Encoded": True}
    return [rest, url]


def test_the_zip_alone_answers_equal_to_the_in_process_runtime(imported: dict[str, Any],
                                                               packaged: dict[str, Any]) -> None:
    task = imported["tmp"] / "task"
    zipfile.ZipFile(packaged["zip_path"]).extractall(task)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(task),
           "LAMBDA_TASK_ROOT": str(task), "AWS_LAMBDA_FUNCTION_NAME": "tiny",
           "MILLICENT_STORE_URL": imported["store_url"], **packaged["manifest"]["environment"]}
    proc = subprocess.run([_python312(), "-S", "-c", RUNNER], input=json.dumps(_events()),
                          capture_output=True, text=True, cwd=task, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    outside = [f for f in run["files"] if not f.startswith((str(task) + os.sep, run["prefix"] + os.sep))]
    assert outside == []
    assert any(f.startswith(str(task) + "/tokenizers/") for f in run["files"])
    assert any(f.startswith(str(task) + "/onnxruntime/") for f in run["files"])
    rest, url = run["answers"]
    assert rest["statusCode"] == 200 and url["statusCode"] == 200, (rest, url)
    got_one, got_many = json.loads(rest["body"]), json.loads(url["body"])

    model = load_model(imported["artifact"])
    emb = open_embeddings(imported["store_url"], pack_path=str(imported["pack"]))
    try:
        want_one = serve(model, "tiny", emb, {"sentence": SENTENCES[0]}, Limits())
        want_many = serve(model, "tiny", emb, {"sentences": SENTENCES}, Limits())
    finally:
        emb.close()
    assert got_one["tokens"] == want_one["tokens"] and got_one["model"] == "tiny"
    np.testing.assert_allclose(got_one["embedding"], want_one["embedding"], rtol=1e-5, atol=1e-6)
    assert [r["tokens"] for r in got_many["results"]] == [r["tokens"] for r in want_many["results"]]
    np.testing.assert_allclose([r["embedding"] for r in got_many["results"]],
                               [r["embedding"] for r in want_many["results"]], rtol=1e-5, atol=1e-6)
    assert got_one["timings"]["lookups"]["pack_hits"] > 0  # the bundled pack is used


def test_an_arm64_package_carries_the_arm64_wheels(imported: dict[str, Any]) -> None:
    built = build_package(PackageSpec(models=(("tiny", imported["artifact"]),),
                                      out_dir=imported["tmp"] / "dist-arm", pack=imported["pack"],
                                      target=LambdaTarget("3.12", "arm64"), wheel_dir=_wheels()))
    assert built.manifest["arch"] == "arm64"
    with zipfile.ZipFile(built.zip_path) as zf:
        so = [n for n in zf.namelist() if n.endswith(".so") and n.startswith(("tokenizers/", "onnxruntime/"))]
        heads = {n: zf.read(n)[:20] for n in so}
    assert so and all(h[:4] == b"\x7fELF" for h in heads.values())
    # e_machine (bytes 18-19, little-endian): 183 is AArch64, 62 x86-64
    assert {int.from_bytes(h[18:20], "little") for h in heads.values()} == {183}


def test_template_and_deploy_take_the_transformer_package(packaged: dict[str, Any], tmp_path: Path,
                                                          imported: dict[str, Any], data_dir: Path) -> None:
    """Against moto's server (control plane only): the stack and the token table loaded."""
    import boto3

    from tests.deploy_support import MotoServer

    done = _cli("template", "--gateway", "url", "--out", str(tmp_path / "template.json"))
    assert done.returncode == 0, done.stderr
    moto = MotoServer()
    try:
        common = ["--stack", "millicent-hf", "--region", "eu-west-1", "--endpoint-url", moto.endpoint]
        done = _cli("deploy", *common, "--package", str(packaged["zip_path"]), "--gateway", "none",
                    "--vectors", str(imported["artifact"]), "--data-dir", str(data_dir))
        assert done.returncode == 0, done.stderr
        assert "CREATE_COMPLETE" in done.stdout
        vocab = len(json.loads((imported["artifact"] / "tokenizer.json").read_text())["model"]["vocab"])
        assert f"({vocab} vectors loaded)" in done.stdout  # every row of the token table
        lam = boto3.client("lambda", region_name="eu-west-1", endpoint_url=moto.endpoint)
        (fn,) = lam.list_functions()["Functions"]
        assert fn["Environment"]["Variables"]["MILLICENT_MODELS"] == "tiny=artifacts/tiny"
        assert fn["Runtime"] == "python3.12"
        assert _cli("destroy", *common).returncode == 0
    finally:
        moto.stop()
