"""A transformer's token table as the artifact's vector source: read in place from the
model's safetensors (never copied), named by the digest of its rows (shared by models
fine-tuned with the table frozen), keyed by the vocabulary's token strings, ranked by
measured frequency, and loaded into a real SQLite store by the existing loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from millicent.data.token_table import frequency_order, locate, table_keys, token_table
from millicent.errors import DataError
from millicent.importer.hf.run import import_hf
from millicent.runtime.artifact import read_manifest, vectors_source
from millicent.store import open_store
from millicent.store.loader import load_store
from millicent.types import TOKEN_TABLE
from tests.hf_support import HIDDEN, bert_dir, save_model

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def base_and_tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """A base encoder and a classifier "fine-tuned" from it with the table frozen (other
    weights different): ``(base dir, base artifact, tuned dir, tuned artifact)``."""
    import torch
    from safetensors.numpy import load_file
    from transformers import BertConfig, BertForSequenceClassification

    root = tmp_path_factory.mktemp("tables")
    base = bert_dir(root / "base")
    tuned = root / "tuned"
    shutil.copytree(base, tuned, ignore=shutil.ignore_patterns("model.safetensors", "modules.json",
                                                              "1_Pooling", "sentence_bert*"))
    config = BertConfig.from_pretrained(str(base), num_labels=2, local_files_only=True)
    clf = BertForSequenceClassification(config)
    save_model(clf, tuned, seed=5)  # every weight different from the base's ...
    frozen = load_file(str(base / "model.safetensors"))["embeddings.word_embeddings.weight"]
    with torch.no_grad():  # ... but the table
        clf.bert.embeddings.word_embeddings.weight.copy_(torch.from_numpy(frozen))
    clf.save_pretrained(tuned, safe_serialization=True)
    import_hf(base, "embed", root / "base.artifact")
    import_hf(tuned, "classify", root / "tuned.artifact")
    return base, root / "base.artifact", tuned, root / "tuned.artifact"


def test_models_with_one_frozen_table_share_one_source(base_and_tuned: tuple[Path, Path, Path, Path]) -> None:
    base, base_artifact, _, tuned_artifact = base_and_tuned
    a, b = vectors_source(base_artifact), vectors_source(tuned_artifact)
    assert a == b and a.spec == TOKEN_TABLE and a.slug == b.slug and a.dim == HIDDEN
    assert a.token_table is not None and b.token_table is not None
    assert a.token_table.tensor == "embeddings.word_embeddings.weight"
    assert b.token_table.tensor == "bert.embeddings.word_embeddings.weight"
    assert a.label == f"token-table:{a.token_table.sha256[:16]}" and a.key_scheme == "hf-tokens"
    other = bert_dir(base.parent / "other", seed=9)
    import_hf(other, "embed", base.parent / "other.artifact")
    assert vectors_source(base.parent / "other.artifact") != a  # another table, another source


def test_the_table_is_read_by_key_and_loads_into_sqlite(base_and_tuned: tuple[Path, Path, Path, Path],
                                                        tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    base, artifact, _, _ = base_and_tuned
    source = vectors_source(artifact)
    vectors = token_table(source, by_frequency=False)
    raw = load_file(str(base / "model.safetensors"))["embeddings.word_embeddings.weight"]
    keys = table_keys(base / "tokenizer.json", raw.shape[0])
    assert vectors.words == keys and np.array_equal(vectors.matrix, raw)
    store = open_store(f"sqlite:///{tmp_path / 'tokens.db'}")
    report = load_store(store, vectors.words, vectors.matrix, source=source.label,
                        distinct=True)
    assert report.verified and report.written == len(keys) and report.refused == []
    # rows come back under the tokenizer's keys, verbatim: specials, pieces, non-ASCII
    tok = read_manifest(artifact)
    from millicent.tokenizers import make_tokenizer

    enc = make_tokenizer(tok.tokenizer, artifact).encode("Zoë's café in 東京 was charmingly shakespearean")
    assert "[CLS]" in enc.keys and any(k.startswith("##") for k in enc.keys)
    rows = store.get_many(enc.keys)
    assert set(rows) == set(enc.keys)
    for key, token_id in zip(enc.keys, enc.ids, strict=True):
        assert np.array_equal(rows[key], raw[token_id])
    store.close()


def test_the_table_is_found_where_the_manifest_says_or_refused(
        base_and_tuned: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    base, artifact, _, _ = base_and_tuned
    moved = tmp_path / "moved"
    shutil.copytree(artifact, moved)
    table = vectors_source(moved).token_table
    assert table is not None
    path, matrix = locate(table)
    assert path == (base / "model.safetensors").resolve() and matrix.shape[1] == HIDDEN
    # the recorded file holds another table now: refused by digest
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(base, elsewhere)
    other = bert_dir(tmp_path / "other", seed=3)
    shutil.copyfile(other / "model.safetensors", elsewhere / "model.safetensors")
    import dataclasses

    swapped = dataclasses.replace(table, path=elsewhere / "model.safetensors")
    with pytest.raises(DataError, match=r"sha256 is .*, not"):
        locate(swapped)
    gone = dataclasses.replace(table, path=tmp_path / "nowhere" / "model.safetensors")
    with pytest.raises(DataError, match=r"nowhere.*absent.*--data-dir"):
        locate(gone)


def test_frequent_tokens_first(base_and_tuned: tuple[Path, Path, Path, Path], data_dir: Path) -> None:
    base, artifact, _, _ = base_and_tuned
    table = read_manifest(artifact).embedding.table
    assert table is not None
    keys = table_keys(base / "tokenizer.json", table["rows"])
    order = frequency_order(base / "tokenizer.json", keys, data_dir)
    assert sorted(order) == list(range(len(keys)))  # every row once
    ranked = [keys[i] for i in order]
    assert ranked[:2] == ["[CLS]", "[SEP]"]  # in every sequence
    # a tiny vocabulary splits most English words: pieces such as ##e rank high too
    assert ranked.index("the") < ranked.index("shakespeare")
    assert ranked.index("of") < ranked.index("hamlet") < ranked.index("[PAD]")
    assert set(ranked[-5:]) <= set(keys) and "[PAD]" not in ranked[:2]
    vectors = token_table(vectors_source(artifact), data_dir)
    assert vectors.words == ranked
    # no word list: id order
    assert frequency_order(base / "tokenizer.json", keys, base) == list(range(len(keys)))


def test_embeddings_load_and_pack_take_the_artifact(base_and_tuned: tuple[Path, Path, Path, Path],
                                                    tmp_path: Path, data_dir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``millicent embeddings load A`` / ``pack A``: the token table into a store under its
    token strings, and a pack of its most frequent tokens checked against the store."""
    import json

    from millicent.cli.main import main

    _, artifact, _, tuned = base_and_tuned
    db = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert main(["embeddings", "load", str(artifact), "--store", db, "--quiet",
                 "--data-dir", str(data_dir)]) == 0
    report = json.loads(capsys.readouterr().out)
    source = vectors_source(artifact)
    assert report["verified"] and report["source"] == source.label
    table = read_manifest(artifact).embedding.table
    assert table is not None and report["words"] == table["keys"]
    # the classifier with the same frozen table: everything is there already
    assert main(["embeddings", "load", str(tuned), "--store", db, "--quiet",
                 "--data-dir", str(data_dir)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["written"] == 0 and again["unchanged"] == report["words"]
    pack = tmp_path / "tokens.pack"
    assert main(["embeddings", "pack", str(artifact), "--top", "50", "--out", str(pack),
                 "--store", db, "--data-dir", str(data_dir)]) == 0
    packed = json.loads(capsys.readouterr().out)
    assert packed["words"] == 50 and packed["first"][:2] == ["[CLS]", "[SEP]"]
