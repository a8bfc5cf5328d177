"""A typed request as the model sees it: every text (or question–answer pair) encoded by the
model's own tokenizer — and so the one answer to "which store keys does this request read
with this model" (:func:`request_keys`), shared by the service and the planner.

* texts (``classify``, ``embed``): one :class:`~.tokenizers.base.Encoding` per text;
* ``rank`` items: the question and each answer encoded alone (word tokenizers: the SM CNN
  reads them apart), or — for a tokenizer with ``pairs`` (a cross-encoder) — each
  question–answer pair encoded as one sequence (:attr:`RankEncoding.joint`), whose tokens
  are then the only ones read.

Only the tokenizer can count tokens, so the token limit is checked here, naming the field
(and the batch item) as the request edge does for everything else. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from millicent.config import Limits
from millicent.errors import InvalidInput
from millicent.runtime.requests import RankRequest, Request, TextsRequest
from millicent.tokenizers.base import Encoding, Tokenizer


@dataclass(frozen=True)
class RankEncoding:
    """One rank item encoded: the question and the answers alone, and for a cross-encoder
    each pair as one sequence (``joint``, in answer order)."""

    question_tokens: list[str]
    answer_tokens: list[list[str]]
    #: word tokenizers: the question and each answer (the sequences the model reads)
    question: Encoding | None = None
    answers: tuple[Encoding, ...] = ()
    #: tokenizers with ``pairs``: question + answer j as one sequence
    joint: tuple[Encoding, ...] | None = None

    @property
    def encodings(self) -> tuple[Encoding, ...]:
        """The sequences the model reads (whose keys the store is asked for)."""
        if self.joint is not None:
            return self.joint
        return (self.question, *self.answers) if self.question is not None else self.answers


def _checked(enc: Encoding, what: str, limits: Limits, index: int | None) -> Encoding:
    """``enc`` if it holds a token and at most ``limits.max_tokens`` (its text's own count,
    before any truncation at the model's limit); InvalidInput naming ``what`` otherwise."""
    where: dict[str, Any] = {"field": what} if index is None else {"field": what, "index": index}
    if not enc.tokens:
        raise InvalidInput(f"{what} is empty", **where)
    n = len(enc.tokens) + enc.truncated
    if n > limits.max_tokens:
        raise InvalidInput(f"{what} has {n} tokens; the limit is {limits.max_tokens}",
                           limit=limits.max_tokens, **where)
    return enc


def encode_texts(tokenizer: Tokenizer, request: TextsRequest, limits: Limits) -> list[Encoding]:
    """Each text of a ``classify`` / ``embed`` request, encoded and checked."""
    encs = tokenizer.encode_all(request.texts)
    return [_checked(e, request.field(i), limits, i if request.batch else None)
            for i, e in enumerate(encs)]


def encode_items(tokenizer: Tokenizer, request: RankRequest, limits: Limits) -> list[RankEncoding]:
    """Each item of a ``rank`` request, encoded and checked."""
    return [_encode_item(tokenizer, request, i, limits) for i in range(len(request.items))]


def _encode_item(tokenizer: Tokenizer, request: RankRequest, i: int, limits: Limits) -> RankEncoding:
    item, index = request.items[i], i if request.batch else None
    if tokenizer.pairs:
        joint = tuple(_checked(tokenizer.encode_pair(item.question, a),
                               request.field(i, f"answers[{j}]"), limits, index)
                      for j, a in enumerate(item.answers))
        q_tokens, a_tokens = zip(*(split_pair(e) for e in joint), strict=True)
        return RankEncoding(q_tokens[0], list(a_tokens), joint=joint)
    question = _checked(tokenizer.encode(item.question), request.field(i, "question"), limits, index)
    answers = tuple(_checked(e, request.field(i, f"answers[{j}]"), limits, index)
                    for j, e in enumerate(tokenizer.encode_all(item.answers)))
    return RankEncoding(list(question.tokens), [list(a.tokens) for a in answers], question, answers)


def split_pair(enc: Encoding) -> tuple[list[str], list[str]]:
    """The question's and the answer's tokens of a pair encoded as one sequence (by token
    type: 0 the first text, special tokens included, 1 the second)."""
    if enc.type_ids is None:
        return list(enc.tokens), []
    first = [t for t, k in zip(enc.tokens, enc.type_ids, strict=True) if k == 0]
    second = [t for t, k in zip(enc.tokens, enc.type_ids, strict=True) if k != 0]
    return first, second


def encode_request(tokenizer: Tokenizer, request: Request,
                   limits: Limits) -> list[Encoding] | list[RankEncoding]:
    """The encodings of any typed request (by its type: texts or rank items)."""
    if isinstance(request, RankRequest):
        return encode_items(tokenizer, request, limits)
    return encode_texts(tokenizer, request, limits)


def distinct_keys(encodings: Iterable[Encoding]) -> list[str]:
    """The distinct store keys of ``encodings``, in first-seen order."""
    return list(dict.fromkeys(k for enc in encodings for k in enc.keys))


def request_keys(tokenizer: Tokenizer, request: Request, limits: Limits | None = None) -> list[str]:
    """The distinct store keys ``request`` reads with a model of this ``tokenizer``, in the
    order the service asks the store for them (InvalidInput for a request it would refuse)."""
    encoded = encode_request(tokenizer, request, limits or Limits())
    return distinct_keys(_sequences(encoded))


def _sequences(encoded: Sequence[Encoding] | Sequence[RankEncoding]) -> list[Encoding]:
    out: list[Encoding] = []
    for e in encoded:
        out.extend(e.encodings if isinstance(e, RankEncoding) else (e,))
    return out
