"""The tokenizers a manifest may name: PTB (lower-cased or in the text's own case) and
whitespace; keys of a cased model keep their case."""

from __future__ import annotations

import pytest

from millicent.runtime.tokenize import make_tokenizer, tokenize, tokenize_cased, whitespace_tokenize
from millicent.words import vector_key

TEXTS = [
    "It's a CHARMING, often affecting journey!",
    'He said "Don\'t (ever) go" to Mr. Smith.',
    "I CANNOT go -- ok... Naïve café",
    "“Curly” quotes — and a dash…",
    "plain words only",
]


@pytest.mark.parametrize("text", TEXTS)
def test_cased_ptb_is_ptb_in_the_text_s_own_case(text: str) -> None:
    cased = tokenize_cased(text)
    assert [t.lower() for t in cased] == tokenize(text)


def test_cased_ptb_keeps_case_and_ptb_s_own_tokens() -> None:
    assert tokenize_cased('He said "Don\'t (ever) go" to Mr. Smith.') == [
        "He", "said", "``", "Do", "n't", "-lrb-", "ever", "-rrb-", "go", "''", "to", "Mr.", "Smith", "."]
    assert tokenize_cased("I CANNOT") == ["I", "CAN", "NOT"]


def test_whitespace_tokenizer() -> None:
    assert whitespace_tokenize("Don't\u200b stop  ME\tnow!") == ["don't", "stop", "me", "now!"]
    assert whitespace_tokenize("Don't stop ME", lowercase=False) == ["Don't", "stop", "ME"]
    assert whitespace_tokenize(" \n\u200b ") == []


def test_make_tokenizer_picks_by_name_and_case() -> None:
    assert make_tokenizer("ptb", True) is tokenize
    assert make_tokenizer("ptb", False)("A B") == ["A", "B"]
    assert make_tokenizer("whitespace", True)("A B,") == ["a", "b,"]
    assert make_tokenizer("whitespace", False)("A B,") == ["A", "B,"]
    with pytest.raises(ValueError):
        make_tokenizer("bpe")


def test_vector_keys_keep_case_for_a_cased_model() -> None:
    assert vector_key("Paris") == "paris" and vector_key("Paris", lowercase=False) == "Paris"
    assert vector_key("-LRB-", lowercase=False) == "(" and vector_key("a\\/b", lowercase=False) == "a/b"
    assert vector_key(vector_key("Naïve", False), False) == "Naïve"
