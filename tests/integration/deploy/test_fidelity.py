"""The built zip, alone, serves requests: unpacked into a fresh virtual environment whose
only import path besides the standard library is the unpacked zip (``python -S``: no
site-packages), the handler answers an API Gateway REST event and a Function URL event
exactly as the in-repo runtime does, and imports nothing from outside the zip."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from millicent.config import Limits
from millicent.deploy.package import PackageSpec, build_package
from millicent.deploy.target import LambdaTarget
from millicent.runtime.artifact import save_artifact
from millicent.runtime.handler import serve
from millicent.runtime.registry import load_model
from millicent.store import open_embeddings, open_store
from millicent.store.loader import load_store
from millicent.store.pack import write_pack
from millicent.tokenizers.ptb import ptb_key as vector_key
from tests.deploy_support import wheel_dir
from tests.servers import REPO

pytestmark = pytest.mark.integration
SENTENCE = "A gripping , beautifully acted film ( with a weak ending ) ."
QUESTION = "Who wrote Hamlet ?"
ANSWERS = ["Hamlet was written by William Shakespeare .", "The play is set in Denmark ."]

RUNNER = r"""
import json, sys, sysconfig
class Context:
    function_name = "millicent-fn"; aws_request_id = "req-1"; memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:millicent-fn"
    def get_remaining_time_in_millis(self): return 10_000
from millicent.runtime.handler import handler
answers = [handler(event, Context()) for event in json.load(sys.stdin)]
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
print(json.dumps({"answers": answers, "files": files, "path": sys.path,
                  "stdlib": [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]}))
"""


def _artifacts(tmp: Path) -> list[tuple[str, Path]]:
    """The shipped artifacts when present, else random-weight models of the same kinds."""
    # both over GloVe-50: one function serves one table of vectors
    shipped = [("kim", REPO / "millicent" / "artifacts" / "kim-sst1-static"), ("sm", REPO / "millicent" / "artifacts" / "sm-trecqa")]
    if all((d / "manifest.json").exists() for _, d in shipped):
        return shipped
    rng, dim = np.random.default_rng(7), 50
    emb = {"dim": dim, "dtype": "float32", "source": "glove-50", "variant": "static"}
    kim = {f"convs.{i}.{p}": rng.normal(size=(8, dim, k) if p == "weight" else 8)
           for i, k in enumerate((3, 4, 5)) for p in ("weight", "bias")}
    kim |= {"fc.weight": rng.normal(size=(2, 24)), "fc.bias": rng.normal(size=2)}
    save_artifact(tmp / "kim", {"kind": "kim_cnn", "task": "sst-2", "labels": ["negative", "positive"],
                                "config": {"n_classes": 2, "dim": dim, "widths": [3, 4, 5], "n_maps": 8},
                                "embedding": emb}, kim)
    sm = {"conv_q.weight": rng.normal(size=(6, dim, 5)), "conv_q.bias": rng.normal(size=6),
          "conv_a.weight": rng.normal(size=(6, dim, 5)), "conv_a.bias": rng.normal(size=6),
          "hidden.weight": rng.normal(size=(7, 12)), "hidden.bias": rng.normal(size=7),
          "out.weight": rng.normal(size=(2, 7)), "out.bias": rng.normal(size=2)}
    save_artifact(tmp / "sm", {"kind": "sm_cnn", "task": "trecqa", "labels": ["irrelevant", "relevant"],
                               "config": {"dim": dim, "width": 5, "n_maps": 6, "hidden": 7,
                                          "n_classes": 2, "n_features": 0},
                               "embedding": emb}, sm)
    return [("kim", tmp / "kim"), ("sm", tmp / "sm")]


def _events() -> list[dict]:
    rest = {"resource": "/{proxy+}", "path": "/classify", "httpMethod": "POST",
            "headers": {"content-type": "application/json"}, "queryStringParameters": None,
            "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "POST", "stage": "prod",
                               "path": "/prod/classify", "requestId": "r1"},
            "body": json.dumps({"sentence": SENTENCE}), "isBase64Encoded": False}
    body = base64.b64encode(json.dumps({"question": QUESTION, "answers": ANSWERS}).encode()).decode()
    url = {"version": "2.0", "routeKey": "$default", "rawPath": "/rank", "rawQueryString": "",
           "headers": {"host": "abc123.lambda-url.us-east-1.on.aws"},
           "requestContext": {"domainName": "abc123.lambda-url.us-east-1.on.aws", "domainPrefix": "abc123",
                              "http": {"method": "POST", "path": "/rank", "protocol": "HTTP/1.1",
                                       "sourceIp": "203.0.113.9", "userAgent": "test"},
                              "requestId": "r2", "routeKey": "$default", "stage": "$default",
                              "timeEpoch": 0},
           "body": body, "isBase64Encoded": True}
    return [rest, url]


@pytest.fixture(scope="module")
def function(tmp_path_factory, data_dir):
    from millicent.data.vectors import load_vectors
    from millicent.tokenizers.ptb import tokenize

    tmp = tmp_path_factory.mktemp("fidelity")
    vocab = {vector_key(t) for text in [SENTENCE, QUESTION, *ANSWERS] for t in tokenize(text)}
    vectors = load_vectors("glove-50:data", data_dir=data_dir, vocab=vocab, key=vector_key)
    store_url = f"sqlite:///{tmp / 'vectors.db'}"
    store = open_store(store_url)
    load_store(store, vectors.words, vectors.matrix, source="glove-50", progress=False)
    store.close()
    pack = write_pack(tmp / "top.pack", vectors.words[:5], vectors.matrix[:5], source="glove-50")
    built = build_package(PackageSpec(models=tuple(_artifacts(tmp)), out_dir=tmp / "dist", pack=pack,
                                      target=LambdaTarget("3.11"), wheel_dir=wheel_dir("cp311")))
    task = tmp / "task"
    zipfile.ZipFile(built.zip_path).extractall(task)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(task),
           "LAMBDA_TASK_ROOT": str(task), "AWS_LAMBDA_FUNCTION_NAME": "millicent-fn",
           "MILLICENT_STORE_URL": store_url, **built.manifest["environment"]}
    return {"task": task, "python": tmp / "venv" / "bin" / "python", "env": env,
            "store_url": store_url, "pack": str(pack), "manifest": built.manifest}


@pytest.fixture(scope="module")
def isolated_run(function):
    proc = subprocess.run([str(function["python"]), "-S", "-c", RUNNER], input=json.dumps(_events()),
                          capture_output=True, text=True, cwd=function["task"], env=function["env"],
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_only_the_zip_and_the_standard_library_are_imported(function, isolated_run):
    task = str(function["task"])
    allowed = (task + os.sep, *(p + os.sep for p in isolated_run["stdlib"]))
    assert not any("site-packages" in p for p in isolated_run["path"])
    outside = [f for f in isolated_run["files"] if not f.startswith(allowed)]
    assert outside == []
    assert any(f.startswith(task + "/numpy/") for f in isolated_run["files"])  # numpy from the zip
    assert not any("/boto3/" in f or "/torch/" in f for f in isolated_run["files"])


def test_answers_match_the_in_repo_runtime(function, isolated_run):
    rest, url = isolated_run["answers"]
    assert rest["statusCode"] == 200 and url["statusCode"] == 200, (rest, url)
    got_c, got_r = json.loads(rest["body"]), json.loads(url["body"])

    task, m = function["task"], function["manifest"]
    emb = open_embeddings(function["store_url"], pack_path=function["pack"])
    kim = load_model(task / m["models"]["kim"]["path"])
    sm = load_model(task / m["models"]["sm"]["path"])
    want_c = serve(kim, "kim", emb, {"sentence": SENTENCE}, Limits())
    want_r = serve(sm, "sm", emb, {"question": QUESTION, "answers": ANSWERS}, Limits())
    emb.close()

    assert got_c["model"] == "kim" and got_c["label"] == want_c["label"]
    assert got_c["tokens"] == want_c["tokens"] and got_c["unknown_words"] == want_c["unknown_words"]
    np.testing.assert_allclose(got_c["probabilities"], want_c["probabilities"], rtol=1e-5, atol=1e-7)
    assert got_r["model"] == "sm" and len(got_r["scores"]) == len(ANSWERS)
    np.testing.assert_allclose(got_r["scores"], want_r["scores"], rtol=1e-5, atol=1e-7)
    assert got_c["timings"]["cold_start"] is True and got_r["timings"]["cold_start"] is False
    assert got_c["timings"]["lookups"]["pack_hits"] > 0  # the bundled pack is used


def test_the_same_zip_runs_on_the_local_platform(function, isolated_run, tmp_path):
    """Served by the platform (awslambdaric, one process per environment, cwd = task root)."""
    from millicent.deploy.localrun import run_local

    zip_path = next((function["task"].parent / "dist").glob("*.zip"))
    calls = [("kim", {"sentence": SENTENCE}), ("kim", {"sentence": SENTENCE}),
             ("sm", {"question": QUESTION, "answers": ANSWERS})]
    got = run_local(zip_path, tmp_path / "task", {"MILLICENT_STORE_URL": function["store_url"]}, calls)
    want_c = json.loads(isolated_run["answers"][0]["body"])
    want_r = json.loads(isolated_run["answers"][1]["body"])
    assert [g.cold for g in got] == [True, False, True]  # one environment per function
    assert got[0].init_ms is not None and got[0].init_ms > 0
    assert got[0].answer["label"] == want_c["label"]
    np.testing.assert_allclose(got[1].answer["probabilities"], want_c["probabilities"], rtol=1e-6)
    np.testing.assert_allclose(got[2].answer["scores"], want_r["scores"], rtol=1e-6)
