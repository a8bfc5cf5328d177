"""The real thing: GloVe 6B 50-d for the SST + TrecQA vocabularies, loaded with the CLI into
SQLite, DynamoDB (dynalite, binary) and Redis, plus a DynamoDB list-layout table holding the
SST-1 dev words; every unique word of the SST-1 dev set looked up in each gives identical
matrices, equal to the source vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from millicent.cli.main import main
from millicent.runtime.artifact import TokenizerSpec
from millicent.store import open_embeddings
from millicent.store.memory import MemoryStore
from millicent.tokenizers import make_tokenizer
from tests.servers import Server

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dev_words(data_dir: Path) -> list[str]:
    from millicent.data.vocab import dataset_tokens

    words = dataset_tokens("sst-1", data_dir, splits=["dev"])
    assert len(words) > 4000
    return words


@pytest.fixture(scope="module")
def stores(
    data_dir: Path, dynalite: Server, redis_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("glove")
    ddb = f"?endpoint={dynalite.endpoint}&region=us-east-1"
    urls = {
        "sqlite": f"sqlite:///{tmp}/glove.db",
        "dynamodb-binary": f"dynamodb://glove50{ddb}",
        "redis": f"redis://127.0.0.1:{redis_server.port}/0?prefix=glove50:",
        "dynamodb-list": f"dynamodb://glove50-list{ddb}&layout=list",
    }
    common = ["--data-dir", str(data_dir), "--quiet"]
    for name, url in urls.items():
        vocab = (["--vocab-from", "sst-1:dev"] if name == "dynamodb-list"
                 else ["--vocab-from", "sst-1", "--vocab-from", "trecqa"])
        rc = main(["embeddings", "load", "glove-50", "--store", url, *vocab, *common])
        assert rc == 0, name
    return urls


def test_every_backend_returns_the_source_vectors_for_sst1_dev(
    stores: dict[str, str], dev_words: list[str], data_dir: Path
) -> None:
    from millicent.data.vectors import load_vectors

    ref_vectors = load_vectors("glove-50", data_dir=data_dir, vocab=set(dev_words),
                               key=PTB.vocabulary_key)
    ref = MemoryStore.from_vectors(ref_vectors.words, ref_vectors.matrix).lookup(PTB.keys(dev_words))
    assert ref.found.mean() > 0.9
    for name, url in stores.items():
        with open_embeddings(url) as store:
            got = store.lookup(PTB.keys(dev_words))
        assert np.array_equal(got.found, ref.found), name
        assert np.array_equal(got.matrix, ref.matrix), name  # list layout: exact float32 too
        assert got.stats.store_hits == int(ref.found.sum()), name


def test_info_reports_the_loads(stores: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    counts = {}
    for name, url in stores.items():
        capsys.readouterr()
        assert main(["embeddings", "info", "--store", url]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["dim"] == 50 and info["source"] == "glove-50"
        assert info["layout"] == ("list" if name.endswith("list") else "binary")
        assert info["loads"][-1]["checksum"] == info["checksum"]
        counts[name] = info["count"]
    assert counts["sqlite"] == counts["dynamodb-binary"] == counts["redis"] > counts["dynamodb-list"]


def test_cli_lookup_agrees_across_backends(stores: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for url in stores.values():
        capsys.readouterr()
        assert main(["embeddings", "lookup", "--store", url, "--", "the", "-LRB-", "movie", "qqqzzz"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert all(o == outs[0] for o in outs)
    assert outs[0]["qqqzzz"] is None and outs[0]["the"][:3] == [0.418, 0.24968, -0.41242]
