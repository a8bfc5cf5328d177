"""The one wire format: bodies are read by role at the request edge (the planner's old copy
took ``"text"`` and ignored ``"input"``, ``"sent1"``, ``"sent2"``); the store keys a typed
request reads come from one function, which encodes a cross-encoder's question–answer
pairs as one sequence each; the service hands such a ranker those joint sequences."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from millicent.config import Limits
from millicent.errors import InvalidInput
from millicent.runtime import service
from millicent.runtime.artifact import TokenizerSpec
from millicent.runtime.encoding import request_keys, split_pair
from millicent.runtime.requests import (
    batch_body,
    body_role,
    parse_request,
    question_body,
    request_texts,
    sentence_body,
    sentences_body,
)
from millicent.runtime.roles import Pairs
from millicent.store.memory import MemoryStore
from millicent.tokenizers import make_tokenizer
from millicent.tokenizers.base import Encoding, Tokenizer
from millicent.tokenizers.whitespace import WhitespaceTokenizer

LIMITS = Limits()
PTB = make_tokenizer(TokenizerSpec.of("ptb"))


class PairTokenizer(WhitespaceTokenizer):
    """A cross-encoder's tokenizer, in miniature: ``[CLS] q [SEP] a [SEP]``, token types."""

    pairs = True

    def encode_pair(self, first: str, second: str) -> Encoding:
        q, a = self.tokenize(first), self.tokenize(second)
        tokens = ["[CLS]", *q, "[SEP]", *a, "[SEP]"]
        types = [0] * (len(q) + 2) + [1] * (len(a) + 1)
        return Encoding(tokens, self.keys(tokens), None, types)


def test_bodies_are_read_by_role_at_the_edge() -> None:
    assert request_texts(parse_request("classify", {"input": "old client"}, LIMITS)) == ["old client"]
    assert request_texts(parse_request("embed", sentences_body(["a", "b"]), LIMITS)) == ["a", "b"]
    assert request_texts(parse_request("rank", {"sent1": "q ?", "sent2": "a ."}, LIMITS)) == [
        "q ?", "a ."]
    with pytest.raises(InvalidInput, match="missing field 'sentence' or 'input'"):
        parse_request("classify", {"text": "not a field of the function"}, LIMITS)
    assert body_role(sentence_body("x")) == "classify" and body_role({"sent1": "q"}) == "rank"
    assert body_role({"text": "x"}) is None
    assert question_body("q", ["a"]) == {"question": "q", "answer": "a"}
    assert batch_body("rank", [{"sent1": "q", "sent2": "a"}, question_body("p", ["b", "c"])]) == {
        "items": [{"question": "q", "answers": ["a"]}, {"question": "p", "answers": ["b", "c"]}]}
    with pytest.raises(InvalidInput):
        batch_body("classify", [sentences_body(["a"])])


def test_request_keys_are_the_tokenizers_in_first_seen_order() -> None:
    texts = parse_request("classify", sentences_body(["The (film) .", "the end"]), LIMITS)
    assert request_keys(PTB, texts) == ["the", "(", "film", ")", ".", "end"]
    rank = parse_request("rank", question_body("Who ?", ["He did .", "who ?"]), LIMITS)
    assert request_keys(PTB, rank) == ["who", "?", "he", "did", "."]
    cased = make_tokenizer(TokenizerSpec.of("whitespace", lowercase=False))
    assert request_keys(cased, texts) == ["The", "(film)", ".", "the", "end"]
    with pytest.raises(InvalidInput, match="limit is 2"):
        request_keys(PTB, texts, Limits(max_tokens=2))


def test_a_cross_encoder_reads_each_pair_as_one_sequence() -> None:
    tok: Tokenizer = PairTokenizer(TokenizerSpec.of("whitespace"))
    request = parse_request("rank", question_body("who wrote it", ["he did", "rain"]), LIMITS)
    assert request_keys(tok, request) == ["[cls]", "who", "wrote", "it", "[sep]", "he", "did",
                                          "rain"]
    assert split_pair(tok.encode_pair("who", "he did")) == (["[CLS]", "who", "[SEP]"],
                                                           ["he", "did", "[SEP]"])
    seen: list[Pairs] = []

    def relevance(pairs: Pairs) -> np.ndarray:
        seen.append(pairs)
        assert pairs.joint_encodings is not None and pairs.joint_embs is not None
        return np.array([float(len(e)) for e in pairs.joint_embs], dtype=np.float32)

    model = SimpleNamespace(tokenizer=tok, dim=2, relevance=relevance, kind="fake",
                            artifact=SimpleNamespace(path="fake"))
    store = MemoryStore.from_vectors(["who", "he"], np.ones((2, 2), np.float32))
    answer = service.rank(model, store, request, LIMITS)  # type: ignore[arg-type]
    (result,) = answer.results
    assert result.to_dict()["scores"] == [8.0, 7.0]  # each pair's whole sequence
    assert result.to_dict()["question_tokens"] == ["[CLS]", "who", "wrote", "it", "[SEP]"]
    assert result.to_dict()["answer_tokens"] == [["he", "did", "[SEP]"], ["rain", "[SEP]"]]
    (pairs,) = seen
    assert len(pairs) == 2 and pairs.q_emb.shape == (0, 2) and not pairs.a_embs
    assert answer.timings["lookups"]["words"] == 8
