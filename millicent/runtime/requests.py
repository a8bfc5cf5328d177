"""The request edge — the one place that knows the wire format: which texts a body holds
for a role. A JSON body becomes a typed request, checked once, here.

Accepted bodies (the second name of each pair is the paper's original request format)::

    classify, embed   {"sentence": "..."} | {"input": "..."}          one text
                      {"sentences": ["...", ...]}                     a batch of texts
    rank       {"question": q, "answer": a} | {"sent1": q, "sent2": a}
               {"question": q, "answers": [a, ...]}
               {"items": [{"question": q, "answers": [...]}, ...]}   a batch of questions

The role comes from the route or the model (:func:`parse_request`), never from the body's
shape: an ``embed`` model takes the same bodies as a classifier. Tools that write bodies
(the benchmark's workloads, ``bench --requests``, the batch job) use the builders below
(:func:`sentence_body` ...); tools that read them (the planner, ``bench --compare``'s
vocabulary) parse them here and take their texts (:func:`request_texts`).

Everything a client can get wrong is found here and raised as :class:`InvalidInput`
(400; 413 for a size limit) naming the field — and, in a batch, the item's index. What
comes out is trusted downstream: the service and the models check nothing a client
controls. Token limits are the exception, since only the model's tokenizer can count
tokens (the service raises them, naming the same fields). Stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from millicent.config import Limits
from millicent.errors import InvalidInput, PayloadTooLarge
from millicent.types import Role

#: Field names per role; the second of each pair is the paper's original request format.
SENTENCE_FIELDS = ("sentence", "input")
QUESTION_FIELDS = ("question", "sent1")
ANSWER_FIELDS = ("answer", "sent2")
BATCH_TEXTS = "sentences"
BATCH_ITEMS = "items"
#: the roles whose bodies carry texts (``sentence`` / ``sentences``), not questions
TEXT_ROLES: tuple[Role, ...] = ("classify", "embed")


@dataclass(frozen=True)
class TextsRequest:
    """Texts to classify or embed; ``batch``: answered as ``{"results": [...]}``."""

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


#: a classifier's request and an embedder's are the same texts
ClassifyRequest = EmbedRequest = TextsRequest
Request = TextsRequest | RankRequest


def parse_request(role: str, body: Any, limits: Limits) -> Request:
    """The typed request of ``body`` for a model of ``role`` (``classify`` | ``embed`` |
    ``rank``)."""
    if not isinstance(body, dict):
        raise InvalidInput(f"the request body must be a JSON object, got {json_type(body)}")
    if role in TEXT_ROLES:
        return parse_classify(body, limits)
    if role == "rank":
        return parse_rank(body, limits)
    raise ValueError(f"unknown role {role!r}")


def request_texts(request: Request) -> list[str]:
    """Every text of a typed request, in order (a rank item: the question, then its answers)."""
    if isinstance(request, RankRequest):
        return [t for item in request.items for t in (item.question, *item.answers)]
    return list(request.texts)


def body_role(body: Any) -> Role | None:
    """The role of the alias route a body without a route goes to (``/classify`` for texts,
    ``/rank`` for questions — the paper's clients name no model), None when neither."""
    if not isinstance(body, dict):
        return None
    if any(f in body for f in (*SENTENCE_FIELDS, BATCH_TEXTS)):
        return "classify"
    if any(f in body for f in (*QUESTION_FIELDS, BATCH_ITEMS)):
        return "rank"
    return None


# ---------------------------------------------------------------- bodies, for the tools
def sentence_body(text: str) -> dict[str, Any]:
    """One text for a ``classify`` / ``embed`` model."""
    return {SENTENCE_FIELDS[0]: text}


def sentences_body(texts: Sequence[str]) -> dict[str, Any]:
    """A batch of texts for a ``classify`` / ``embed`` model."""
    return {BATCH_TEXTS: list(texts)}


def pair_body(question: str, answer: str) -> dict[str, Any]:
    """One question and one answer for a ``rank`` model."""
    return {QUESTION_FIELDS[0]: question, ANSWER_FIELDS[0]: answer}


def question_body(question: str, answers: Sequence[str]) -> dict[str, Any]:
    """One question for a ``rank`` model: with one ``answer`` (answered with ``score``
    too), or a list of ``answers``."""
    if len(answers) == 1:
        return pair_body(question, answers[0])
    return {QUESTION_FIELDS[0]: question, "answers": list(answers)}


def items_body(items: Sequence[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """A batch of questions, each with its answers, for a ``rank`` model."""
    return {BATCH_ITEMS: [{QUESTION_FIELDS[0]: q, "answers": list(a)} for q, a in items]}


def batch_body(role: str, bodies: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Single-text (or single-question) bodies of ``role`` joined into one batch body, their
    values as they stand (the function checks them, naming the item); InvalidInput when a
    body is not a single one of that role."""
    if any(BATCH_TEXTS in b or BATCH_ITEMS in b for b in bodies):
        raise InvalidInput("only single requests join into a batch")
    if role == "rank":
        return {BATCH_ITEMS: [_item_as_sent(b) for b in bodies]}
    return {BATCH_TEXTS: [_field_as_sent(b, SENTENCE_FIELDS) for b in bodies]}


def _field_as_sent(body: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in body:
            return body[name]
    raise InvalidInput(f"missing field {' or '.join(repr(n) for n in names)}", field=names[0])


def _item_as_sent(body: dict[str, Any]) -> dict[str, Any]:
    answers = body["answers"] if "answers" in body else [_field_as_sent(body, ANSWER_FIELDS)]
    return {QUESTION_FIELDS[0]: _field_as_sent(body, QUESTION_FIELDS), "answers": answers}


def parse_classify(body: dict[str, Any], limits: Limits) -> TextsRequest:
    """``{"sentence": ...}`` or a batch ``{"sentences": [...]}``."""
    if BATCH_TEXTS not in body:
        text = text_field(body, SENTENCE_FIELDS)
        check_text_bytes([text], limits.max_body_bytes)
        return TextsRequest((text,))
    _exclusive(body, BATCH_TEXTS, SENTENCE_FIELDS)
    values = _batch_list(body[BATCH_TEXTS], BATCH_TEXTS, limits.max_batch)
    texts = [_text(v, f"{BATCH_TEXTS}[{i}]", BATCH_TEXTS, f"{BATCH_TEXTS}[{i}]", index=i)
             for i, v in enumerate(values)]
    check_text_bytes(texts, limits.max_body_bytes)
    return TextsRequest(tuple(texts), batch=True)


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
