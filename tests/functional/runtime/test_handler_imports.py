"""The handler module is cheap to import: no numpy, torch, boto3, aiohttp or tooling at import.

The platform's Init Duration (spawn → first ``/next``) is what importing the handler costs;
models and the store load inside the first invocation.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["numpy", "torch", "boto3", "botocore", "redis", "aiohttp", "millicent.platform",
         "millicent.torch_models", "millicent.train", "millicent.cli", "millicent.economics",
         "millicent.harness", "millicent.analysis", "millicent.testbed", "millicent.baselines",
         "millicent.testing", "millicent.traffic", "millicent.data"]


def test_importing_the_handler_stays_lean() -> None:
    code = (
        "import sys, json; import millicent.runtime.handler as h; "
        "assert callable(h.handler); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


# INIT (the handler imported inside an execution environment) loads what its models need:
# a word-vector CNN neither onnxruntime nor tokenizers; a transformer both — and never the
# import tooling (torch, transformers, safetensors) nor millicent's data layer.
TOOLING = ["torch", "transformers", "safetensors", "huggingface_hub", "boto3", "millicent.data",
           "millicent.importer", "millicent.cli"]
PROBE = ("import json, sys, millicent.runtime.handler as h\n"
         "assert h.ENVIRONMENT.ready\n"
         "names = {names!r}\n"
         "print(json.dumps([m for m in names if m in sys.modules]))\n")


def _init_loads(models: str, store_url: str, names: list[str]) -> list[str]:
    import os

    from tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MILLICENT_", "AWS_LAMBDA"))}
    env.update(AWS_LAMBDA_FUNCTION_NAME="fn", MILLICENT_MODELS=models,
               MILLICENT_STORE_URL=store_url, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", PROBE.format(names=names)], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def test_init_of_a_word_vector_model_loads_neither_onnxruntime_nor_tokenizers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from millicent.store import open_store
    from millicent.store.loader import load_store
    from tests.deploy_support import tiny_artifact

    artifact = tiny_artifact(tmp_path / "kim")
    url = f"sqlite:///{tmp_path / 'v.db'}"
    with open_store(url) as store:
        load_store(store, ["the", "film"], np.ones((2, 4), np.float32), source="glove-50",
                   progress=False)
    assert _init_loads(f"kim={artifact}", url, ["onnxruntime", "tokenizers", *TOOLING]) == []


def test_init_of_a_transformer_loads_onnxruntime_and_tokenizers_and_no_tooling(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    pytest.importorskip("transformers")
    from millicent.data.token_table import token_table
    from millicent.importer.hf.run import import_hf
    from millicent.runtime.artifact import vectors_source
    from millicent.store import open_store
    from millicent.store.loader import load_store
    from tests.hf_support import bert_dir

    artifact = tmp_path / "tiny"
    import_hf(bert_dir(tmp_path / "bert"), "embed", artifact, name="tiny")
    source = vectors_source(artifact)
    vectors = token_table(source, by_frequency=False)
    url = f"sqlite:///{tmp_path / 't.db'}"
    with open_store(url) as store:
        load_store(store, vectors.words, vectors.matrix, source=source.label, distinct=True,
                   progress=False)
    loaded = _init_loads(f"tiny={artifact}", url, ["onnxruntime", "tokenizers", *TOOLING])
    assert loaded == ["onnxruntime", "tokenizers"]
