"""The ``hf`` tokenizer: a model's tokenizer.json through the ``tokenizers`` library gives
``transformers``' ids, with the model's truncation instead of the file's, keys that name
rows of the token table, and pairs as one sequence.

Tokenizers are trained here (WordPiece, byte-level BPE) and saved in ``tmp_path`` with
padding and truncation fixed at 16 in the file, as published files fix them at 128.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from millicent.errors import ArtifactError
from millicent.runtime.artifact import TokenizerSpec
from millicent.tokenizers import TOKENIZERS, make_tokenizer
from millicent.tokenizers.hf import HFTokenizer
from tests.hf_support import VARIED, bpe_tokenizer, wordpiece_tokenizer

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def wordpiece(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    d = tmp_path_factory.mktemp("wordpiece")
    return d, wordpiece_tokenizer(d)


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    d = tmp_path_factory.mktemp("bpe")
    return d, bpe_tokenizer(d)


def _hf(directory: Path, max_tokens: int | None) -> HFTokenizer:
    tok = make_tokenizer(TokenizerSpec.of("hf", True, max_tokens), directory)
    assert isinstance(tok, HFTokenizer)
    return tok


def test_registered_by_name_and_version() -> None:
    assert TOKENIZERS["hf"] == ("millicent.tokenizers.hf:HFTokenizer", "hf-1")
    assert TokenizerSpec.of("hf", max_tokens=256).version == "hf-1"
    assert HFTokenizer.pairs is True


@pytest.mark.parametrize("which", ["wordpiece", "bpe"])
@pytest.mark.parametrize("limit", [None, 24])
def test_ids_equal_transformers_fast_tokenizer(which: str, limit: int | None,
                                               request: pytest.FixtureRequest) -> None:
    directory, reference = request.getfixturevalue(which)
    tok = _hf(directory, limit)
    for text in VARIED:
        enc = tok.encode(text)
        ref = reference(text, truncation=limit is not None, max_length=limit,
                        return_token_type_ids=True)
        assert enc.ids == ref["input_ids"], text
        assert enc.type_ids == ref["token_type_ids"], text
        assert enc.tokens == reference.convert_ids_to_tokens(ref["input_ids"]), text
        # padding is off: no [PAD] / <pad> however short the text (the file pads to 16)
        assert reference.pad_token_id not in enc.ids


def test_truncation_comes_from_the_model_not_the_file(wordpiece: tuple[Path, Any]) -> None:
    directory, reference = wordpiece
    long_text = "a " + "very " * 200 + "long text"
    unlimited = _hf(directory, None).encode(long_text)
    # [CLS] a very*200 long text [SEP]: the file's 16 is ignored
    assert len(unlimited) == len(reference(long_text)["input_ids"]) >= 204
    assert unlimited.truncated == 0
    enc = _hf(directory, 24).encode(long_text)
    assert len(enc) == 24 and enc.truncated == len(unlimited) - 24
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    short = _hf(directory, 24).encode("who wrote hamlet ?")
    assert short.truncated == 0 and len(short) == len(reference("who wrote hamlet ?")["input_ids"])


@pytest.mark.parametrize("which", ["wordpiece", "bpe"])
def test_pairs_are_one_sequence_truncated_longest_first(which: str,
                                                        request: pytest.FixtureRequest) -> None:
    directory, reference = request.getfixturevalue(which)
    tok = _hf(directory, 32)
    question, answer = "who wrote hamlet ?", "shakespeare wrote it . " * 30
    enc = tok.encode_pair(question, answer)
    ref = reference(question, answer, truncation=True, max_length=32, return_token_type_ids=True)
    assert enc.ids == ref["input_ids"] and enc.type_ids == ref["token_type_ids"]
    assert len(enc) == 32 and enc.truncated > 0
    full = _hf(directory, None).encode_pair(question, answer)
    assert enc.truncated == len(full) - 32
    if which == "wordpiece":  # BERT: types 0 for the question and its [CLS] [SEP], 1 after
        first_one = enc.type_ids.index(1)
        assert enc.tokens[first_one - 1] == "[SEP]" and set(enc.type_ids[first_one:]) == {1}


@pytest.mark.parametrize("which", ["wordpiece", "bpe"])
def test_keys_are_the_vocabulary_strings_of_the_ids(which: str, request: pytest.FixtureRequest) -> None:
    directory, reference = request.getfixturevalue(which)
    tok = _hf(directory, None)
    vocab = reference.get_vocab()
    for text in VARIED:
        enc = tok.encode(text)
        assert [vocab[k] for k in enc.keys] == enc.ids, text
    assert tok.key("##ing") == "##ing" and tok.vocabulary_key("[CLS]") == "[CLS]"
    assert tok.key_scheme == "hf-tokens"
    assert tok.vocab_size == len(vocab)


def test_tokenize_has_no_special_tokens_and_no_limit(wordpiece: tuple[Path, Any]) -> None:
    directory, _ = wordpiece
    tok = _hf(directory, 8)
    assert tok.tokenize("") == [] and tok.tokenize("  ") == []
    tokens = tok.tokenize("the film was good " * 10)
    assert len(tokens) >= 40 and "[CLS]" not in tokens
    # still truncating afterwards
    assert tok.encode("the film was good " * 10).truncated == len(tokens) + 2 - 8


def test_a_missing_or_broken_file_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="tokenizer file missing"):
        make_tokenizer(TokenizerSpec.of("hf"), tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="cannot read"):
        make_tokenizer(TokenizerSpec.of("hf"), tmp_path)
    with pytest.raises(ArtifactError, match="artifact directory"):
        make_tokenizer(TokenizerSpec.of("hf"), None)
