"""The tokenizers a manifest may name: PTB (lower-cased or in the text's own case) and
whitespace; keys of a cased model keep their case."""

from __future__ import annotations

import pytest

from millicent.errors import ArtifactError
from millicent.runtime.artifact import TokenizerSpec
from millicent.tokenizers import make_tokenizer
from millicent.tokenizers.ptb import ptb_key as vector_key
from millicent.tokenizers.ptb import tokenize, tokenize_cased
from millicent.tokenizers.whitespace import whitespace_tokenize

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
    assert make_tokenizer(TokenizerSpec.of("ptb", True))("A B") == ["a", "b"]
    assert make_tokenizer(TokenizerSpec.of("ptb", False))("A B") == ["A", "B"]
    assert make_tokenizer(TokenizerSpec.of("whitespace", True))("A B,") == ["a", "b,"]
    assert make_tokenizer(TokenizerSpec.of("whitespace", False))("A B,") == ["A", "B,"]
    with pytest.raises(ArtifactError):
        make_tokenizer(TokenizerSpec("bpe"))
    with pytest.raises(ArtifactError):
        TokenizerSpec.of("bpe")


def test_encodings_give_tokens_and_their_store_keys() -> None:
    ptb = make_tokenizer(TokenizerSpec.of("ptb"))
    enc = ptb.encode("A (fine) film")
    assert enc.tokens == ["a", "-lrb-", "fine", "-rrb-", "film"]
    assert enc.keys == ["a", "(", "fine", ")", "film"]  # PTB escapes undone for the vectors
    assert enc.ids is None and enc.attention_mask == [1] * 5 and enc.truncated == 0
    ws = make_tokenizer(TokenizerSpec.of("whitespace", False))
    assert ws.encode("-LRB- Naïve").keys == ["-LRB-", "Naïve"]  # whitespace keys are the tokens
    assert ptb.key_scheme != ws.key_scheme
    with pytest.raises(TypeError):
        ptb.encode_pair("q", "a")  # word tokenizers encode the two texts apart


def test_vector_keys_keep_case_for_a_cased_model() -> None:
    assert vector_key("Paris") == "paris" and vector_key("Paris", lowercase=False) == "Paris"
    assert vector_key("-LRB-", lowercase=False) == "(" and vector_key("a\\/b", lowercase=False) == "a/b"
    assert vector_key(vector_key("Naïve", False), False) == "Naïve"
