"""The request edge: a JSON body becomes a typed request, checked once, here.

Accepted bodies (the second name of each pair is the paper's original request format)::

    classify   {"sentence": "..."} | {"input": "..."}          one text
               {"sentences": ["...", ...]}                     a batch of texts
    rank       {"question": q, "answer": a} | {"sent1": q, "sent2": a}
               {"question": q, "answers": [a, ...]}
               {"items": [{"question": q, "answers": [...]}, ...]}   a batch of questions

Everything a client can get wrong is found here and raised as :class:`InvalidInput`
(400; 413 for a size limit) naming the field — and, in a batch, the item's index. What
comes out is trusted downstream: the service and the models check nothing a client
controls. Token limits are the exception, since only the model's tokenizer can count
tokens (the service raises them, naming the same fields). Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millicent.config import Limits
from millicent.errors import InvalidInput, PayloadTooLarge

#: Field names per role; the second of each pair is the paper's original request format.
SENTENCE_FIELDS = ("sentence", "input")
QUESTION_FIELDS = ("question", "sent1")
ANSWER_FIELDS = ("answer", "sent2")
BATCH_TEXTS = "sentences"
BATCH_ITEMS = "items"


@dataclass(frozen=True)
class ClassifyRequest:
    """Texts to classify; ``batch``: answered as ``{"results": [...]}``."""

    texts: tuple[str, ...]
    batch: bool = False

    def field(self, i: int) -> str:
        """How the request named text ``i`` (for error messages)."""
        return f"{BATCH_TEXTS}[{i}]" if self.batch else "text"


@dataclass(frozen=True)
class RankItem:
    """One question and its candidate answers; ``single``: given as one ``answer``."""

    question: str
    answers: tuple[str, ...]
    single: bool = False


@dataclass(frozen=True)
class RankRequest:
    """Questions to rank answers for; ``batch``: answered as ``{"results": [...]}``."""

    items: tuple[RankItem, ...]
    batch: bool = False

    def field(self, i: int, what: str) -> str:
        """How the request named part ``what`` of item ``i`` (for error messages)."""
        return f"{BATCH_ITEMS}[{i}].{what}" if self.batch else what


Request = ClassifyRequest | RankRequest


def parse_request(role: str, body: Any, limits: Limits) -> Request:
    """The typed request of ``body`` for a model of ``role`` (``classify`` | ``rank``)."""
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, got {json_type(body)}")
    if role == "classify":
        return parse_classify(body, limits)
    if role == "rank":
        return parse_rank(body, limits)
    raise ValueError(f"unknown role {role!r}")


def parse_classify(body: dict[str, Any], limits: Limits) -> ClassifyRequest:
    """``{"sentence": ...}`` or a batch ``{"sentences": [...]}``."""
    if BATCH_TEXTS not in body:
        text = text_field(body, SENTENCE_FIELDS)
        check_text_bytes([text], limits.max_body_bytes)
        return ClassifyRequest((text,))
    _exclusive(body, BATCH_TEXTS, SENTENCE_FIELDS)
    values = _batch_list(body[BATCH_TEXTS], BATCH_TEXTS, limits.max_batch)
    texts = [_text(v, f"{BATCH_TEXTS}[{i}]", BATCH_TEXTS, f"{BATCH_TEXTS}[{i}]", index=i)
             for i, v in enumerate(values)]
    check_text_bytes(texts, limits.max_body_bytes)
    return ClassifyRequest(tuple(texts), batch=True)


def parse_rank(body: dict[str, Any], limits: Limits) -> RankRequest:
    """A question with ``answer`` / ``answers``, or a batch ``{"items": [...]}``."""
    if BATCH_ITEMS not in body:
        item = _rank_item(body, limits)
        check_text_bytes([item.question, *item.answers], limits.max_body_bytes)
        return RankRequest((item,))
    _exclusive(body, BATCH_ITEMS, (*QUESTION_FIELDS, *ANSWER_FIELDS, "answers"))
    values = _batch_list(body[BATCH_ITEMS], BATCH_ITEMS, limits.max_batch)
    items: list[RankItem] = []
    for i, value in enumerate(values):
        where = f"{BATCH_ITEMS}[{i}]"
        if not isinstance(value, dict):
            raise InvalidInput(f"{where} must be an object with \"question\" and \"answers\", "
                               f"got {json_type(value)}", field=BATCH_ITEMS, index=i)
        try:
            items.append(_rank_item(value, limits))
        except PayloadTooLarge as exc:
            raise PayloadTooLarge(f"{where}: {exc.message}", **{**exc.details, "index": i}) from exc
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}", **{**exc.details, "index": i}) from exc
    check_text_bytes([t for it in items for t in (it.question, *it.answers)], limits.max_body_bytes)
    return RankRequest(tuple(items), batch=True)


def _rank_item(body: dict[str, Any], limits: Limits) -> RankItem:
    question = text_field(body, QUESTION_FIELDS)
    answers, single = answers_field(body, limits.max_answers)
    return RankItem(question, tuple(answers), single)


def _exclusive(body: dict[str, Any], batch: str, singles: tuple[str, ...]) -> None:
    both = [n for n in singles if n in body]
    if both:
        raise InvalidInput(f"give either {batch!r} (a batch) or {both[0]!r}, not both", field=batch)


def _batch_list(value: Any, name: str, max_batch: int) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"field {name!r} must be a list, got {json_type(value)}", field=name)
    if not value:
        raise InvalidInput(f"field {name!r} is empty: give at least one item", field=name)
    if len(value) > max_batch:
        raise PayloadTooLarge(f"{len(value)} items in {name!r}; the limit is {max_batch} "
                              "(MILLICENT_MAX_BATCH)", field=name, limit=max_batch)
    return value


def text_field(body: dict[str, Any], names: tuple[str, ...]) -> str:
    """The one text field of ``names`` present in ``body``, checked to be a non-blank string."""
    present = [n for n in names if n in body]
    if not present:
        alt = " or ".join(repr(n) for n in names)
        raise InvalidInput(f"missing field {alt}", field=names[0])
    if len(present) > 1:
        raise InvalidInput(f"give only one of {' or '.join(repr(n) for n in present)}", field=names[0])
    name = present[0]
    return _text(body[name], f"field {name!r}", name)


def _text(value: Any, what: str, field: str, name: str | None = None, **details: Any) -> str:
    """``value`` checked to be a non-blank string of valid Unicode; ``what`` names it in
    messages (``name``, quoted, in the Unicode one)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {json_type(value)}", field=field, **details)
    if not value.strip():
        raise InvalidInput(f"{what} is empty or whitespace", field=field, **details)
    # JSON can carry lone surrogates ("\ud800"); they are not text and cannot be store keys
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{(name or field)!r} is not valid Unicode: {exc.reason} at "
                           f"position {exc.start}", field=field, **details) from exc
    return value


def answers_field(body: dict[str, Any], max_answers: int) -> tuple[list[str], bool]:
    """The candidate answers, and whether a single ``answer`` (not a list) was given."""
    present = [n for n in (*ANSWER_FIELDS, "answers") if n in body]
    if len(present) > 1:
        raise InvalidInput(f"give only one of {' or '.join(repr(n) for n in present)}", field="answers")
    if not present or present[0] != "answers":
        return [text_field(body, ANSWER_FIELDS)], True
    answers = body["answers"]
    if not isinstance(answers, list):
        raise InvalidInput(f"field 'answers' must be a list of strings, got {json_type(answers)}",
                           field="answers")
    if not answers:
        raise InvalidInput("field 'answers' is empty: give at least one answer", field="answers")
    if len(answers) > max_answers:
        raise InvalidInput(f"{len(answers)} answers; the limit is {max_answers}",
                           field="answers", limit=max_answers)
    return [_text(a, f"answers[{i}]", "answers", f"answers[{i}]") for i, a in enumerate(answers)], False


def check_text_bytes(texts: list[str], limit: int) -> None:
    """PayloadTooLarge (413) when the texts of one request exceed ``limit`` bytes of UTF-8.

    An HTTP body is already held to the limit; a direct invocation's payload is not (Lambda
    takes 6 MB), and one 3 MB "word" came back twice in the answer (tokens, unknown words),
    past Lambda's 6 MB response limit: a 502 for a request that deserves a 413.
    """
    size = sum(len(t.encode("utf-8")) for t in texts)
    if size > limit:
        raise PayloadTooLarge(f"the texts of this request are {size} bytes of UTF-8; "
                              f"the limit is {limit} bytes", limit=limit)


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type (for messages)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
             float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
