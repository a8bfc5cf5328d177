"""The OpenAI embeddings API of an ``embed`` function on ``millicent serve`` (a real process on
loopback, real awslambdaric environments), through the real ``openai`` client — float and
base64 — and LangChain's ``OpenAIEmbeddings``: the vectors equal ``POST /embed``'s bit for bit,
usage counts the model's tokens, the errors have OpenAI's shape and status, the key is a
Bearer token. LangChain runs offline: an empty tiktoken cache and a dead HTTPS proxy, so any
download would fail the test."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from millicent.runtime.openai_api import max_inputs
from millicent.testing.loopback import PlatformProcess, start_platform
from tests.embed_support import glove_mean
from tests.servers import REPO

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.integration

KEY = "sk-test-0123456789"
KEY_VAR = "MILLICENT_TEST_OPENAI_KEY"
AUTH = {"authorization": f"Bearer {KEY}"}
TEXTS = ["A gorgeous, witty, seductive movie.", "It's a CHARMING, often affecting journey!",
         "the plot was dull and boring", "naïve café owners — and 🎬 emoji"]


@pytest.fixture(scope="module")
def platform(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformProcess]:
    root = tmp_path_factory.mktemp("openai")
    artifact, store = glove_mean(root, data_dir, "sst-1", "trecqa")
    p = start_platform(["--model", f"emb={artifact}", "--store", store, "--max-concurrency", "4",
                        "--api-key-env", KEY_VAR], root / "serve", env={KEY_VAR: KEY})
    yield p
    assert p.stop() == 0


@pytest.fixture(scope="module")
def client(platform: PlatformProcess) -> Any:
    return openai.OpenAI(base_url=platform.url + "/v1", api_key=KEY, max_retries=0)


def embed_route(platform: PlatformProcess, texts: list[str]) -> list[dict[str, Any]]:
    reply = platform.post("/embed", {"sentences": texts}, headers=AUTH)
    assert reply.status == 200, reply.body
    results: list[dict[str, Any]] = reply.json()["results"]
    return results


def test_the_client_float_and_base64_equal_embed_bit_for_bit(platform: PlatformProcess,
                                                             client: Any) -> None:
    want = embed_route(platform, TEXTS)
    by_default = client.embeddings.create(model="emb", input=TEXTS)  # asks for base64, decodes
    floats = client.embeddings.create(model="emb", input=TEXTS, encoding_format="float")
    raw = client.embeddings.create(model="emb", input=TEXTS, encoding_format="base64")
    for reply in (by_default, floats, raw):
        assert reply.model == "emb" and reply.object == "list"
        assert [d.index for d in reply.data] == [0, 1, 2, 3]
        assert reply.usage.prompt_tokens == reply.usage.total_tokens == sum(
            len(w["tokens"]) for w in want)
    for i, w in enumerate(want):
        assert by_default.data[i].embedding == w["embedding"]
        assert floats.data[i].embedding == w["embedding"]
        decoded = np.frombuffer(base64.b64decode(raw.data[i].embedding), dtype="<f4")
        assert decoded.tolist() == w["embedding"]
    one = client.embeddings.create(model="emb", input=TEXTS[1], dimensions=50, user="u-1")
    assert one.data[0].embedding == want[1]["embedding"]
    assert one.usage.prompt_tokens == len(want[1]["tokens"])


def test_models_lists_the_embedding_model(client: Any) -> None:
    (model,) = client.models.list().data
    assert (model.id, model.object, model.owned_by) == ("emb", "model", "millicent")


def test_bad_requests_are_openai_errors(client: Any) -> None:
    cases: list[tuple[dict[str, Any], type[Exception], str | None, str]] = [
        ({"model": "text-embedding-3-small", "input": "x"}, openai.NotFoundError,
         "model_not_found", "emb"),
        ({"model": "emb", "input": ""}, openai.BadRequestError, None, "empty"),
        ({"model": "emb", "input": [[101, 2023], [102]]}, openai.BadRequestError, None,
         "check_embedding_ctx_length=False"),
        ({"model": "emb", "input": "x", "dimensions": 384}, openai.BadRequestError, None, "50"),
    ]
    for kwargs, error, code, words in cases:
        with pytest.raises(error) as info:
            client.embeddings.create(**kwargs)
        body = info.value.body
        assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
        assert body["type"] == "invalid_request_error" and body["code"] == code
        assert words in body["message"]


def test_more_inputs_than_allowed_is_a_413_naming_chunk_size(client: Any) -> None:
    # 50-d vectors: OpenAI's 2,048 bind first in both formats (a 384-d model's float answers
    # hold ≈ 675: tests/unit/runtime/test_openai_api.py)
    assert max_inputs(50, "float", len("emb")) == 2048
    for fmt in ("float", "base64"):
        with pytest.raises(openai.APIStatusError) as info:
            client.embeddings.create(model="emb", input=["good"] * 2049, encoding_format=fmt)
        assert info.value.status_code == 413
        assert info.value.body["param"] == "input" and info.value.body["code"] == "payload_too_large"
        assert "chunk_size" in info.value.body["message"] and "2048" in info.value.body["message"]
    assert len(client.embeddings.create(model="emb", input=["good"] * 2048).data) == 2048


def test_the_key_is_a_bearer_token(platform: PlatformProcess) -> None:
    wrong = openai.OpenAI(base_url=platform.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        wrong.embeddings.create(model="emb", input="hi")
    assert info.value.body["code"] == "invalid_api_key"
    bare = platform.post("/v1/embeddings", {"model": "emb", "input": "hi"})
    assert bare.status == 401 and bare.json()["error"]["type"] == "invalid_request_error"
    assert platform.post("/embed", {"sentence": "hi"}, headers=AUTH).status == 200  # any route


def test_langchain_documents_and_query_offline(platform: PlatformProcess, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               data_dir: Path) -> None:
    from langchain_openai import OpenAIEmbeddings

    from millicent.data.sst import load_sst

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens: a download fails
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    emb = OpenAIEmbeddings(model="emb", base_url=platform.url + "/v1", api_key=KEY,
                           check_embedding_ctx_length=False, max_retries=0)
    texts = [e.text for e in load_sst(data_dir, "sst-1", "dev")]  # 1,101: two requests of 1,000
    got = emb.embed_documents(texts)
    assert len(got) == len(texts)
    want = [w["embedding"] for lo in range(0, len(texts), 256)
            for w in embed_route(platform, texts[lo:lo + 256])]
    assert got == want
    assert emb.embed_query(TEXTS[0]) == embed_route(platform, TEXTS[:1])[0]["embedding"]
    assert not any((tmp_path / "empty").glob("*"))  # tiktoken fetched nothing


def test_the_semantic_search_example_short(platform: PlatformProcess, data_dir: Path,
                                           tmp_path: Path) -> None:
    """``examples/semantic_search_trecqa.py`` on the first 12 raw-test questions."""
    out = tmp_path / "search.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "semantic_search_trecqa.py"), "--endpoint",
         platform.url, "--model", "emb", "--data-dir", str(data_dir), "--questions", "12",
         "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MILLICENT_API_KEY": KEY}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["split"] == "raw-test" and figures["questions"] == 12
    assert 0.0 < figures["map"] <= 1.0 and 0.0 < figures["mrr"] <= 1.0
    assert "zero-shot bi-encoder: MAP" in done.stdout and "search all" in done.stdout
