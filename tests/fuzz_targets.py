"""Property-based fuzzing of every reader of a user's file, and of the HTTP edge.

One :class:`Target` per reader: a ``hypothesis`` strategy of inputs (random bytes, and
structured text built from the pieces that break parsers — quotes, delimiters, line ends,
byte-order marks, NUL, invalid UTF-8, NaN, huge numbers) and a check of the contract:

    for any bytes, a reader yields rows or raises the project's own error naming the file;
    never another exception, never a row lost without a count.

Row accounting is checked where it can be stated independently of the reader: in a UTF-8
data file every physical line is a record, inside one, a counted problem or a reported
blank line; a vector file's rows are all read (or it is refused); the handler answers
every event with a 200 or a 4xx JSON body whose numbers are all finite.

``tests/functional/test_fuzz_readers.py`` runs each target seeded (derandomised) and
bounded; ``experiments/fuzz_readers.py --minutes 10`` runs them unseeded for longer.
"""

from __future__ import annotations

import base64
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from millicent.errors import MillicentError

#: pieces structured inputs are built from
TEXT_PIECES = ["a", "film", "good", " ", "  ", ",", ";", "\t", '"', "'", '""', "\n", "\r\n", "\r",
               "\n\n", "\x00", "é", "🙂", "\u200b", "\ufeff", "\\", "{", "}", "[", "]", ":",
               "0", "1", "-1", "1.5", "nan", "inf", "-inf", "1e400", "9" * 30, "text", "label",
               "question", "answer", "qid", "sentence", "null", "true", "\u2028", "#"]
BYTE_PIECES = [b"\xff", b"\xfe", b"\xc3(", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff",
               b"\x1f\x8b", b"\x80", b"\xed\xa0\x80"]


def pieces_text(extra: list[str] | None = None, max_size: int = 40) -> st.SearchStrategy[bytes]:
    """Bytes assembled from text pieces (and a few raw byte pieces)."""
    texts = st.sampled_from(TEXT_PIECES + (extra or [])).map(lambda s: s.encode("utf-8"))
    return st.lists(st.one_of(texts, st.sampled_from(BYTE_PIECES)), max_size=max_size).map(b"".join)


def any_bytes(structured: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Structured inputs mostly, random bytes sometimes, and either recoded as UTF-16."""
    base = st.one_of(structured, structured, structured, st.binary(max_size=200))
    return st.one_of(base, base.map(_utf16))


def _utf16(raw: bytes) -> bytes:
    return raw.decode("utf-8", errors="replace").encode("utf-16")


class Workdir:
    """A directory for the fuzzed files (one per target run, removed by the OS's tmp)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="millicent-fuzz-"))
        self.n = 0

    def write(self, name: str, raw: bytes) -> Path:
        self.n += 1
        path = self.root / f"{self.n}-{name}"
        path.write_bytes(raw)
        return path


def owned(exc: BaseException, path: Path) -> None:
    """The contract for a refused input: the project's error, naming the file."""
    assert isinstance(exc, MillicentError), f"{type(exc).__name__}: {exc}"
    assert str(path) in exc.message or path.name in exc.message, exc.message


def utf8_lines(raw: bytes) -> int | None:
    """Physical lines of a UTF-8 file (None when the file is not plain UTF-8 text for the
    accounting check: UTF-16/32 marks, gzip)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff", b"\x1f\x8b") or raw[:4] == b"\x00\x00\xfe\xff":
        return None
    if raw.count(0) * 4 >= len(raw[:4096]) >= 4:  # might be taken for unmarked UTF-16
        return None
    head = raw[:4096]
    end = b"\r" if b"\r" in head and b"\n" not in head else b"\n"  # classic Mac: CR alone
    return raw.count(end) + (1 if raw and not raw.endswith(end) else 0)


@dataclass
class Target:
    """A reader under fuzz: how its inputs are made and what must hold for each."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any, Workdir], None]


def hypothesis_test(target: Target, max_examples: int, derandomize: bool = True) -> Callable[[], None]:
    """A hypothesis test of ``target`` (call it to run)."""
    work = Workdir()

    @settings(max_examples=max_examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(target.strategy)
    def run(sample: Any) -> None:
        target.check(sample, work)

    return run


# --- data files (csv / tsv / jsonl / stsa / txt), batch inputs ------------------------

def _data_check(fmt: str) -> Callable[[bytes, Workdir], None]:
    from millicent.data.files import BLANK, Fields, Problem, iter_records, iter_texts
    from millicent.data.labelled import read_labelled

    def check(raw: bytes, work: Workdir) -> None:
        path = work.write(f"data.{fmt}", raw)
        fields = Fields(("text", "label")) if fmt != "txt" else Fields(("text",), positional=("text",))
        try:
            items = list(iter_records(path, fmt, fields, blank_lines=True))
        except Exception as exc:
            owned(exc, path)
            return
        n = utf8_lines(raw)
        lines = [i.line for i in items]
        assert lines == sorted(lines) and len(set(lines)) == len(lines), lines
        if n is not None:
            covered: set[int] = set()
            for item in items:
                covered.update(range(item.line, (item.last or item.line) + 1))
            first = min(lines, default=n + 1)
            if fmt in ("csv", "tsv"):  # lines up to the header's end belong to the header
                first = min((i.line for i in items if not (isinstance(i, Problem) and i.message == BLANK)),
                            default=n + 1)
                after_header = [ln for ln in range(first, n + 1) if ln not in covered]
                assert not after_header, f"lines lost: {after_header[:10]}"
            else:  # one item per physical line, exactly
                assert lines == list(range(1, n + 1)), (lines, n)
        if fmt != "txt":
            try:
                data = read_labelled(path, fmt, skip_bad_rows=True)
            except Exception as exc:
                owned(exc, path)
            else:
                counted = sum(1 for i in items if not (isinstance(i, Problem) and i.message == BLANK))
                assert len(data.rows) + data.bad_rows == counted
        texts = list(iter_texts(path, fmt, blank_lines=True)) if fmt == "txt" else []
        assert len(texts) == len(items) if fmt == "txt" else True

    return check


def _data_strategy(fmt: str) -> st.SearchStrategy[bytes]:
    header = {"csv": b"text,label\n", "tsv": b"text\tlabel\n"}.get(fmt, b"")
    extra = {"jsonl": ['{"text": "a", "label": 1}', '{"text": ', '"label"', "{}", "[1]"],
             "stsa": ["1 good film", "0\tbad", "4 "], "csv": ['"a,b",1', "a,1,2"],
             "tsv": ['"a\tb"\t1', "a\t1\t2"], "txt": []}[fmt]
    body = pieces_text(extra, max_size=50)
    return any_bytes(st.one_of(body, body.map(lambda b: header + b)))


# --- vector files ---------------------------------------------------------------------

def _vector_strategy() -> st.SearchStrategy[bytes]:
    number = st.sampled_from(["0.1", "-2", "1e3", "nan", "inf", "1e39", "x", "", "0x1p3", "1_0"])
    word = st.sampled_from(["the", "a b", "", "é", "\ufeffw", "\x00", "-lrb-", "W"])

    @st.composite
    def text_file(draw: st.DrawFn) -> bytes:
        dim = draw(st.integers(1, 4))
        rows = draw(st.lists(st.tuples(word, st.lists(number, min_size=0, max_size=dim + 1)), max_size=8))
        header = draw(st.sampled_from(["", f"{len(rows)} {dim}\n", f"{len(rows) + 3} {dim}\n",
                                       f"1 {dim}\n", "0 0\n", "99999999999 300\n", f"2 {dim} x\n"]))
        body = "".join(f"{w} {' '.join(v)}{draw(st.sampled_from(['', ' ']))}\n" for w, v in rows)
        return (header + body).encode("utf-8", errors="surrogatepass")

    @st.composite
    def binary_file(draw: st.DrawFn) -> bytes:
        dim = draw(st.integers(1, 3))
        count = draw(st.integers(0, 5))
        out = [f"{draw(st.sampled_from([count, count + 2, max(0, count - 1)]))} {dim}\n".encode()]
        for _ in range(count):
            out.append(draw(st.sampled_from([b"w", b"x y", b"", b"\xff"])) + b" ")
            out.append(draw(st.binary(min_size=4 * dim - 2, max_size=4 * dim)))
            out.append(draw(st.sampled_from([b"\n", b""])))
        return b"".join(out)

    return st.one_of(text_file(), binary_file(), any_bytes(pieces_text(["0.5 ", "3 2\n"])))


def _vector_check(raw: bytes, work: Workdir) -> None:
    import numpy as np

    from millicent.data.vectorfile import read_rows
    from millicent.store.loader import load_batches
    from millicent.store.memory import MemoryStore

    path = work.write("vectors.txt", raw)
    try:
        keys, matrix = read_rows(path)
    except Exception as exc:
        owned(exc, path)
        return
    assert matrix.shape[0] == len(keys) == len(set(keys)) and matrix.dtype == np.float32
    assert np.isfinite(matrix).all()
    if len(keys):
        store = MemoryStore()
        report = load_batches(store, [(keys, matrix)], matrix.shape[1], source=str(path), distinct=True)
        assert report.words + len(report.refused) == len(keys) and report.count == report.words


# --- requests files, traces, profiles, REPORT logs -----------------------------------

def _requests_check(raw: bytes, work: Workdir) -> None:
    from millicent.harness.requests_file import requests_workload

    path = work.write("requests.jsonl", raw)
    for batch in (1, 3):
        try:
            workload = requests_workload(path, batch_size=batch)
        except Exception as exc:
            owned(exc, path)
            continue
        assert workload.requests and all(json.loads(r.body) is not None for r in workload.requests)


def _json_value(depth: int = 2) -> st.SearchStrategy[Any]:
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                     st.sampled_from(["a film", "who ?", "", "\ud800"]))
    return st.recursive(leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(st.sampled_from(
                                                         ["sentence", "sentences", "question", "answer",
                                                          "answers", "items", "input", "x"]),
                                                         kids, max_size=3)), max_leaves=8)


def _requests_strategy() -> st.SearchStrategy[bytes]:
    lines = st.lists(st.one_of(_json_value().map(lambda v: json.dumps(v)),
                               st.sampled_from(['{"sentence": "a"}', '{"question": "q", "answer": "a"}',
                                                "", "{", "[" * 3000, "NaN", '{"a": 1e999}'])), max_size=6)
    return any_bytes(lines.map(lambda ls: ("\n".join(ls) + "\n").encode("utf-8", errors="surrogatepass")))


def _trace_check(raw: bytes, work: Workdir) -> None:
    import numpy as np

    from millicent.traffic.shapes import read_trace

    path = work.write("t.trace", raw)
    try:
        traffic = read_trace(path)
    except Exception as exc:
        owned(exc, path)
        return
    assert np.isfinite(traffic.counts).all() and (traffic.counts >= 0).all() and traffic.steps >= 1


def _trace_strategy() -> st.SearchStrategy[bytes]:
    cell = st.sampled_from(["0", "1", "1.5", "60", "nan", "inf", "-1", "1e300", "2024-01-01T00:00:00Z",
                            "2024-01-01", "x", "", "timestamp", "9" * 400, "1e-9"])
    row = st.lists(cell, min_size=1, max_size=3).map(",".join)
    return any_bytes(st.lists(row, max_size=8).map(lambda rs: ("\n".join(rs) + "\n").encode()))


def _profile_check(raw: bytes, work: Workdir) -> None:
    from millicent.plan.profile import read_profile

    path = work.write("profile.json", raw)
    try:
        profile = read_profile(path)
    except Exception as exc:
        owned(exc, path)
        return
    assert profile.warm.n >= 1 and math.isfinite(profile.store.keys_per_request)


def _profile_strategy() -> st.SearchStrategy[bytes]:
    dist = st.one_of(st.floats(allow_nan=True), st.integers(-5, 10**6), st.lists(st.floats(), max_size=3),
                     st.none(), st.text(max_size=3), st.booleans())
    phase = st.dictionaries(st.sampled_from(["duration_ms", "cpu_ms", "overhead_ms", "init_ms"]), dist)
    store = st.one_of(st.dictionaries(st.sampled_from(["keys_per_request", "hot_key_share"]), dist),
                      st.fixed_dictionaries({"request_keys": st.lists(st.lists(st.text(max_size=3)))}),
                      dist)
    doc = st.fixed_dictionaries({}, optional={
        "warm": st.one_of(phase, dist), "cold": st.one_of(phase, dist), "store": store,
        "memory_mb": dist, "measured_cpu_share": dist, "restore": st.one_of(phase, dist),
        "item_bytes": dist, "texts_per_request": dist, "source": _json_value(1), "format": dist,
        "name": _json_value(1)})
    encoded = doc.map(lambda d: json.dumps(d).encode())
    return any_bytes(st.one_of(encoded, pieces_text(['{"warm": ', "[", "]", "1e999"])))


def _report_check(raw: bytes, work: Workdir) -> None:
    from millicent.economics.reportlog import read_report_log

    path = work.write("report.log", raw)
    try:
        lines = read_report_log(path)
    except Exception as exc:
        owned(exc, path)
        return
    for line in lines:
        for value in (line.duration_ms, line.billed_ms, line.memory_mb, line.init_ms, line.restore_ms):
            assert value is None or math.isfinite(value)
        line.usage()


def _report_strategy() -> st.SearchStrategy[bytes]:
    value = st.sampled_from(["12.34 ms", "13 ms", "128 MB", "60 MB", "1.5", "x ms", "9" * 400 + " ms",
                             "1e3 ms", "-1 ms", "0 MB", "150.00 ms"])
    name = st.sampled_from(["Duration", "Billed Duration", "Memory Size", "Max Memory Used",
                            "Init Duration", "Restore Duration", "Billed Restore Duration", "Status",
                            "Bogus"])
    report = st.lists(st.tuples(name, value), max_size=7).map(
        lambda fs: "REPORT RequestId: abc\t" + "\t".join(f"{n}: {v}" for n, v in fs))
    metric = st.one_of(st.integers(-10, 10**400), st.floats(), st.booleans(), st.text(max_size=3))
    platform = st.dictionaries(st.sampled_from(["durationMs", "billedDurationMs", "memorySizeMB",
                                                "initDurationMs"]), metric).map(
        lambda m: json.dumps({"type": "platform.report", "record": {"requestId": "r", "metrics": m}}))
    event = report.map(lambda r: json.dumps({"message": r}))
    line = st.one_of(report, platform, event, st.sampled_from(["", "START RequestId: x", "{", "[" * 2000]))
    doc = st.lists(line, max_size=5).map(lambda ls: ("\n".join(ls) + "\n").encode())
    events = st.lists(report, max_size=3).map(lambda rs: json.dumps({"events": [{"message": r} for r in rs]}).encode())
    return any_bytes(st.one_of(doc, events))


# --- the HTTP edge ----------------------------------------------------------------------

class _Edge:
    """The real handler with the shipped Kim CNN and SM CNN over an in-memory store."""

    def __init__(self) -> None:
        import numpy as np

        from millicent.config import FunctionConfig, Limits
        from millicent.runtime.environment import FunctionEnvironment
        from millicent.runtime.registry import load_model
        from millicent.store.memory import MemoryStore
        from millicent.train.shipped import artifacts_dir

        words = ["a", "film", "good", "the", "who", "?", "é", "'s"]
        rng = np.random.default_rng(0)
        store = MemoryStore.from_vectors(words, rng.normal(size=(len(words), 50)).astype(np.float32))
        paths = {"kim": artifacts_dir() / "kim-sst1-static", "sm": artifacts_dir() / "sm-trecqa"}
        models = {n: load_model(p) for n, p in paths.items()}
        config = FunctionConfig(models=tuple((n, str(p)) for n, p in paths.items()), store_url=None,
                                pack_path=None, lru_size=0, store_deadline_s=1.0,
                                limits=Limits(max_body_bytes=20_000, max_tokens=50, max_answers=20,
                                              max_batch=8))
        self.env = FunctionEnvironment(config=lambda: config, models=lambda _: models,
                                       store=lambda _: store)


_EDGE: list[_Edge] = []


def _edge_check(sample: tuple[str, str, bytes, bool, bool], work: Workdir) -> None:
    from millicent.runtime.handler import handle

    if not _EDGE:
        _EDGE.append(_Edge())
    method, path, body, b64, direct = sample
    if direct:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return  # the runtime client refuses what is not JSON before any handler runs
        try:
            out = handle(payload, None, _EDGE[0].env)
        except MillicentError as exc:
            assert exc.status < 500, exc.message
            return
        json.dumps(out, allow_nan=False)
        return
    event = {"version": "2.0", "rawPath": path, "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
             "isBase64Encoded": b64,
             "body": base64.b64encode(body).decode() if b64 else body.decode("utf-8", errors="replace")}
    response = handle(event, None, _EDGE[0].env)
    assert response["statusCode"] < 500, response
    json.loads(response["body"], parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} in a response body")


def _edge_strategy() -> st.SearchStrategy[tuple[str, str, bytes, bool, bool]]:
    body = st.one_of(_json_value(3).map(lambda v: json.dumps(v).encode("utf-8", errors="surrogatepass")),
                     pieces_text(['{"sentence": ', '"a film"', '{"question": "who ?", "answers": [',
                                  '"sentences": ['], max_size=30),
                     st.binary(max_size=100))
    return st.tuples(st.sampled_from(["POST", "GET", "PUT", "HEAD"]),
                     st.sampled_from(["/classify", "/rank", "/kim", "/sm", "/health", "/", "//classify",
                                      "/classify/x", "/nope"]),
                     body, st.booleans(), st.booleans())


TARGETS: dict[str, Target] = {
    **{f"data-{fmt}": Target(f"data-{fmt}", _data_strategy(fmt), _data_check(fmt))
       for fmt in ("csv", "tsv", "jsonl", "stsa", "txt")},
    "vectors": Target("vectors", _vector_strategy(), _vector_check),
    "requests": Target("requests", _requests_strategy(), _requests_check),
    "trace": Target("trace", _trace_strategy(), _trace_check),
    "profile": Target("profile", _profile_strategy(), _profile_check),
    "report-log": Target("report-log", _report_strategy(), _report_check),
    "http-edge": Target("http-edge", _edge_strategy(), _edge_check),
}
