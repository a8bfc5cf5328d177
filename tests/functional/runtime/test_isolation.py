"""The function's code (millicent.runtime + millicent.store) imports no torch, no boto3 /
redis, and none of the tooling — checked in a fresh interpreter — within a loose time budget."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

FORBIDDEN = ("torch", "boto3", "botocore", "redis", "aiohttp", "matplotlib", "pyarrow",
             "onnxruntime", "onnx", "tokenizers", "transformers", "safetensors")
TOOLING = ("millicent.torch_models", "millicent.train", "millicent.economics", "millicent.harness",
           "millicent.analysis", "millicent.testbed", "millicent.baselines", "millicent.testing",
           "millicent.traffic", "millicent.plan", "millicent.batch", "millicent.platform",
           "millicent.deploy", "millicent.cli", "millicent.data")

PROBE = r"""
import importlib, json, pkgutil, sys, time
t0 = time.perf_counter()
packages = [importlib.import_module(p) for p in sys.argv[1:]]
names = []
for pkg in packages:
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
seconds = time.perf_counter() - t0
print(json.dumps({"modules": names, "loaded": sorted(sys.modules), "seconds": seconds}))
"""


def _probe(*packages: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run([sys.executable, "-c", PROBE, *packages], capture_output=True,
                         text=True, cwd=REPO, timeout=60, check=True)
    probe: dict = json.loads(out.stdout)  # type: ignore[type-arg]
    # the probe really imported the runtime's modules (not an empty package)
    for name in ("artifact", "kinds", "registry", "roles", "kim_cnn", "sm_cnn", "onnx_model",
                 "onnx_section", "requests", "service", "responses", "transformer",
                 "transformer_section", "conv"):
        assert f"millicent.runtime.{name}" in probe["modules"]
    # the tokenizers moved to their own package (millicent/tokenizers/, shipped beside the store)
    for name in ("tokenizers.ptb", "tokenizers.whitespace", "tokenizers.hf"):
        assert f"millicent.{name}" in probe["modules"]
    return probe


@pytest.mark.parametrize("packages", [("millicent.runtime", "millicent.tokenizers"),
                                      ("millicent.runtime", "millicent.tokenizers", "millicent.store")])
def test_function_code_imports_nothing_heavy(packages: tuple[str, ...]) -> None:
    probe = _probe(*packages)
    if "millicent.store" in packages:
        assert "millicent.store.memory" in probe["modules"]
    loaded = probe["loaded"]
    heavy = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert heavy == [], f"the function's code imports {heavy}"
    tooling = [m for m in loaded if m.startswith(TOOLING)]
    assert tooling == [], f"the function's code imports tooling: {tooling}"
    # loose budget (numpy alone is ~0.1 s; a torch import would be ~2 s)
    assert probe["seconds"] < 1.5, f"runtime import took {probe['seconds']:.2f} s"
