"""A wheel built from the repository, installed in a fresh virtualenv, runs ``millicent
demo``'s in-process check outside the repository and serves the shipped transformer models:
the shipped artifacts are package data (graphs and tokenizers; token tables come from the
data directory by digest), so no torch and no checkout are needed.

The virtualenv sees the site-packages of the interpreter running the tests for the
dependencies (tests never download; :mod:`tests.venvs`), whatever that interpreter is —
but not torch, which it does not have installed (``hide=TORCH``) — and imports millicent
from the installed wheel, which the test checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.data.token_table import token_table
from millicent.runtime.artifact import vectors_source
from millicent.runtime.registry import load_model
from millicent.train.shipped import SHIPPED_HF
from tests.servers import REPO
from tests.venvs import TORCH, make_venv

pytestmark = pytest.mark.integration

CHECK = r"""
import contextlib, json, sys
from pathlib import Path
import millicent
from millicent.testbed import demo
out, data_dir = Path(sys.argv[1]), Path(sys.argv[2])
options = demo.DemoOptions(data_dir, out, vocab="datasets", pack_top=2000, pack_mb=None, limit=25,
                           progress=False, plots=False)
with contextlib.ExitStack() as stack:
    ctx = demo.DemoContext(options, stack)
    steps = dict((n, f) for n, _, f in demo.STEPS)
    for name in ("artifacts", "store", "pack", "check"):
        steps[name](ctx)
print(json.dumps({"millicent": millicent.__file__, "torch": "torch" in sys.modules,
                  "emb": ctx.results["check"]["emb"]["metrics"],
                  "artifacts": ctx.results["artifacts"], "check": ctx.results["check"]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(REPO / "millicent", src / "millicent",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(dist)], check=True, timeout=300)
    (built,) = dist.glob("millicent-*.whl")
    return built


SERVE = r"""
import importlib.util, json, sys
from pathlib import Path
import millicent
from millicent.config import Limits
from millicent.data.token_table import token_table
from millicent.runtime import service
from millicent.runtime.artifact import vectors_source
from millicent.runtime.registry import load_model
from millicent.runtime.requests import parse_request
from millicent.store import open_embeddings, open_store
from millicent.store.loader import load_store
from millicent.train.shipped import SHIPPED_HF, artifacts_dir
data_dir, work = Path(sys.argv[1]), Path(sys.argv[2])
texts = ["a gorgeous , witty , seductive movie .", "a dull , tedious and boring mess ."]
question = "who wrote hamlet ?"
answers = ["hamlet is a tragedy written by william shakespeare .", "the danish prince is young ."]
limits, out = Limits(), {}
for name in SHIPPED_HF:
    path = artifacts_dir() / name
    source = vectors_source(path)
    url = f"sqlite:///{work / source.slug}.db"  # one table for all: frozen when fine-tuned
    if not (work / f"{source.slug}.db").exists():
        vectors = token_table(source, data_dir, by_frequency=False)
        with open_store(url) as store:
            load_store(store, vectors.words, vectors.matrix, source=source.label, distinct=True)
    model = load_model(path)
    emb = open_embeddings(url)
    if model.role == "rank":
        request = parse_request("rank", {"question": question, "answers": answers}, limits)
        out[name] = list(service.rank(model, emb, request, limits).results[0].scores)
    elif model.role == "embed":
        request = parse_request("embed", {"sentences": texts}, limits)
        out[name] = [r.embedding for r in service.embed(model, emb, request, limits).results]
    else:
        request = parse_request("classify", {"sentences": texts}, limits)
        out[name] = [r.probabilities for r in service.classify(model, emb, request, limits).results]
    out[name + ":path"] = str(path)
    emb.close()
print(json.dumps({"millicent": millicent.__file__, "torch": "torch" in sys.modules,
                  "torch_installed": importlib.util.find_spec("torch") is not None, **out}))
"""
TRANSFORMERS = tuple(SHIPPED_HF)


def test_the_wheel_carries_the_shipped_artifacts(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for artifact in ("kim-sst1-static", "sm-trecqa-overlap", "kim-sst2-glue-nonstatic"):
        assert f"millicent/artifacts/{artifact}/manifest.json" in names
        assert f"millicent/artifacts/{artifact}/weights.npz" in names
    for artifact in TRANSFORMERS:  # graphs and tokenizers; never a token table
        for file in ("manifest.json", "model.onnx", "tokenizer.json"):
            assert f"millicent/artifacts/{artifact}/{file}" in names
    assert not [n for n in names if n.endswith((".safetensors", ".bin"))]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel installed in a fresh virtualenv without torch: (the venv, its python)."""
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    python = make_venv(venv, hide=TORCH)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=300)
    return venv, python


def _run(python: Path, script: str, *args: str, home: Path) -> dict[str, Any]:
    run = home / "elsewhere"
    run.mkdir(exist_ok=True)
    done = subprocess.run([str(python), "-c", script, *args], cwd=run, capture_output=True,
                          text=True, timeout=900, env={"PATH": "/usr/bin:/bin", "HOME": str(home)})
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_installed_wheel_without_torch_serves_the_transformer_models(
        installed: tuple[Path, Path], tmp_path: Path, data_dir: Path) -> None:
    """The shipped transformers answer from the wheel — token table from the data
    directory — exactly what they answer from the checkout."""
    from millicent.config import Limits
    from millicent.runtime import service
    from millicent.runtime.requests import parse_request
    from millicent.store.memory import MemoryStore
    from millicent.train.shipped import artifacts_dir

    venv, python = installed
    result = _run(python, SERVE, str(data_dir), str(tmp_path), home=tmp_path)
    assert result["millicent"].startswith(str(venv)), result["millicent"]
    assert not result["torch"] and not result["torch_installed"]
    texts = ["a gorgeous , witty , seductive movie .", "a dull , tedious and boring mess ."]
    limits = Limits()
    for name in TRANSFORMERS:
        assert result[f"{name}:path"].startswith(str(venv))
        model = load_model(artifacts_dir() / name)
        vectors = token_table(vectors_source(artifacts_dir() / name), data_dir, by_frequency=False)
        emb = MemoryStore.from_vectors(vectors.words, vectors.matrix, source="t")
        if model.role == "rank":
            body = {"question": "who wrote hamlet ?",
                    "answers": ["hamlet is a tragedy written by william shakespeare .",
                                "the danish prince is young ."]}
            want = service.rank(model, emb, parse_request("rank", body, limits), limits)  # type: ignore[arg-type]
            got = np.array(result[name])
            assert got[0] > got[1]  # the cross-encoder ranks the answer first
            np.testing.assert_allclose(got, want.results[0].scores, rtol=0, atol=1e-6)  # type: ignore[union-attr]
            continue
        if model.role == "embed":
            ans = service.embed(model, emb, parse_request("embed", {"sentences": texts}, limits), limits)  # type: ignore[arg-type]
            want_rows = [r.embedding for r in ans.results]  # type: ignore[union-attr]
        else:
            ans = service.classify(model, emb, parse_request("classify", {"sentences": texts}, limits), limits)  # type: ignore[arg-type]
            want_rows = [r.probabilities for r in ans.results]  # type: ignore[union-attr]
            assert np.argmax(result[name][0]) == 1 and np.argmax(result[name][1]) == 0
        np.testing.assert_allclose(np.array(result[name]), np.array(want_rows), rtol=0, atol=1e-6)


def test_an_installed_wheel_runs_the_demo_check_outside_the_repo(
        installed: tuple[Path, Path], tmp_path: Path, data_dir: Path) -> None:
    # sees this interpreter's packages, whether it is a venv or not, but torch (tests/venvs.py)
    venv, python = installed
    result = _run(python, CHECK, str(tmp_path / "elsewhere" / "demo"), str(data_dir), home=tmp_path)
    assert result["millicent"].startswith(str(venv)), result["millicent"]  # not the checkout
    assert not result["torch"]
    assert result["emb"]["n"] == 1148 and result["emb"]["map"] > 0.65  # MiniLM, zero-shot
    assert all(p.startswith(str(venv)) for p in result["artifacts"].values())
    for fn in ("kim", "sm"):
        got, recorded = result["check"][fn]["metrics"], result["check"][fn]["recorded"]
        metric = "accuracy" if fn == "kim" else "map"
        assert got[metric] == pytest.approx(recorded[metric], abs=1e-12)
