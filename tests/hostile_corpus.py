"""A corpus of hostile files, each with the command that reads it and the answer it must get.

Every case is a file (or a few) a user could hand to millicent — a data file, a vector file,
a requests file, a trace, a profile, a REPORT log, a batch input, an ONNX graph — broken in
one way, the real CLI command that reads it, and what must happen: the exit status, the
phrase the ``millicent: error:`` line must hold, the file it must name and the line where
there is one. ``tests/functional/test_hostile_files.py`` runs them all as subprocesses and
also checks that no traceback is printed and nothing is written outside the user's paths.

``{file}`` in ``argv`` stands for the case's file. Files are written into the command's
working directory and named relatively, as a user types them.
"""

from __future__ import annotations

import gzip
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

Content = bytes | Callable[[], bytes]

EVAL = ["eval", "kim-sst1-static", "--file", "{file}"]
EVAL_SM = ["eval", "sm-trecqa", "--file", "{file}"]
BENCH = ["bench", "--endpoint", "http://127.0.0.1:9", "--out", "out/run", "--no-progress",
         "--requests", "{file}"]
PROFILE = json.dumps({"warm": {"duration_ms": 2.0}, "cold": {"init_ms": 60.0, "duration_ms": 9.0},
                      "store": {"keys_per_request": 3}}).encode()
PLAN = ["plan", "--profile", "ok-profile.json", "--out", "out/plan", "--no-plots", "--traffic",
        "trace:{file}"]
PLAN_PROFILE = ["plan", "--traffic", "constant:1", "--days", "1", "--profile", "{file}", "--out", "out/p"]
COST = ["cost", "--report-log", "{file}"]
BATCH = ["batch", "--endpoint", "http://127.0.0.1:9", "--function", "kim", "--out", "out.jsonl",
         "--input", "{file}"]
IMPORT = ["import", "onnx", "model.onnx", "--role", "classify", "--labels", "neg,pos", "--vectors",
          "v4.vec", "--out", "out/art"]
LOAD_FILE = ["embeddings", "load", "{file}", "--store", "sqlite:///out/v.db", "--quiet"]
VEC4 = b"3 4\nthe 0.1 0.2 0.3 0.4\nfilm 0.5 0.6 0.7 0.8\ngood 1 0 0 1\n"
REPORT = ("REPORT RequestId: 8f5c\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
          "Memory Size: 128 MB\tMax Memory Used: 60 MB\n")


@dataclass(frozen=True)
class Case:
    """One hostile input: files, the command, and what it must answer."""

    id: str
    file: str  #: the file the message must name
    content: Content
    argv: list[str]  #: the command (``{file}``: the case's file)
    exit: int
    message: str  #: a phrase of the error line
    line: int | None = None  #: the line the message must name (``FILE:LINE``)
    extra: dict[str, Content] = field(default_factory=dict)  #: other files the command reads

    def command(self) -> list[str]:
        return [a.replace("{file}", self.file) for a in self.argv]

    def files(self) -> dict[str, bytes]:
        out = {self.file: self.content, **self.extra}
        return {name: c() if callable(c) else c for name, c in out.items()}


def _onnx(dim: int = 4, labels: int = 2, fixed_tokens: bool = False, output: bool = True,
          external: bool = False) -> Callable[[], bytes]:
    """A tiny classifier graph (mean over tokens, then a linear layer), built with onnx."""
    def build() -> bytes:
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper

        tokens: int | str = 7 if fixed_tokens else "tokens"
        emb = helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["batch", tokens, dim])
        out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", labels])
        w = numpy_helper.from_array(np.ones((dim, labels), dtype=np.float32), "w")
        if external:
            w.data_location = TensorProto.EXTERNAL
            w.ClearField("raw_data")
            entry = w.external_data.add()
            entry.key, entry.value = "location", "weights.bin"
        nodes = [helper.make_node("ReduceMean", ["emb"], ["pooled"], axes=[1], keepdims=0),
                 helper.make_node("MatMul", ["pooled", "w"], ["logits"])]
        graph = helper.make_graph(nodes, "tiny", [emb], [out] if output else [], [w])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        return model.SerializeToString()
    return build


def _truncated(build: Callable[[], bytes], keep: float) -> Callable[[], bytes]:
    return lambda: build()[: int(len(build()) * keep)]


def _gz_cut(text: bytes) -> Callable[[], bytes]:
    return lambda: gzip.compress(text)[:-12]


def _binary_vectors(rows: list[tuple[bytes, list[float]]], count: int | None = None,
                    cut: int = 0) -> Callable[[], bytes]:
    def build() -> bytes:
        dim = len(rows[0][1])
        out = f"{count if count is not None else len(rows)} {dim}\n".encode()
        for word, vec in rows:
            out += word + b" " + struct.pack(f"<{dim}f", *vec) + b"\n"
        return out[: len(out) - cut] if cut else out
    return build


CSV = b"text,label\ngreat film,positive\nawful,negative\n"

CASES: list[Case] = [
    # --- labelled data files: millicent eval --file ----------------------------------
    Case("csv-utf16-no-bom", "reviews.csv", CSV.decode().encode("utf-16-le"), EVAL, 1,
         "looks like UTF-16 (little-endian) text without a byte-order mark"),
    Case("csv-missing-column", "reviews.csv", b"review,stars\nnice,5\n", EVAL, 1,
         "no column 'text' in the header", 1),
    Case("csv-unclosed-quote", "reviews.csv", b'text,label\ngood,positive\n"never closed,negative\nok,positive\n',
         EVAL, 1, "a quoted field is never closed", 3),
    Case("csv-field-count", "reviews.csv", b"text,label\ngood,positive\na,b,c\n", EVAL, 1,
         "3 fields, the header has 2", 3),
    Case("csv-invalid-utf8", "reviews.csv", b"text,label\nbad \xff byte,positive\n", EVAL, 1,
         "invalid UTF-8 (byte 0xff at column 5)", 2),
    Case("csv-stray-quote", "reviews.csv", b'text,label\ngood,positive\n"closed"junk,negative\n', EVAL, 1,
         "bad CSV quoting", 3),
    Case("csv-empty", "reviews.csv", b"", EVAL, 1, "no usable rows"),
    Case("csv-header-only", "reviews.csv", b"text,label\n", EVAL, 1, "no usable rows"),
    Case("csv-duplicate-column", "reviews.csv", b"text,text,label\na,b,positive\n", EVAL, 1,
         "names column(s) ['text'] twice", 1),
    Case("csv-unknown-label", "reviews.csv", b"text,label\ngood,positive\nmeh,so-so\n", EVAL, 1,
         "'so-so' (first on line 3)"),
    Case("csv-gzip-cut", "reviews.csv.gz", _gz_cut(CSV * 50), EVAL, 1, "cannot read after line"),
    Case("csv-header-unclosed-quote", "reviews.csv", b'"text,label\ngood,positive\n', EVAL, 1,
         "the header row cannot be read", 1),
    Case("csv-all-rows-bad", "reviews.csv", b"text,label\n,positive\nx,\n", [*EVAL, "--skip-bad-rows"],
         1, "no usable rows (skipped 2 bad row(s)"),
    Case("csv-is-an-xlsx", "reviews.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), EVAL, 1,
         "is a ZIP archive (an Excel .xlsx workbook?"),
    Case("csv-semicolons", "reviews.csv", b"text;label\ngood;positive\n", EVAL, 1,
         "the header looks ';'-separated", 1),
    Case("train-utf16-no-bom", "train.csv", CSV.decode().encode("utf-16-be"),
         ["train", "kim", "--train", "{file}", "--epochs", "1", "--out", "out/kim"], 1,
         "looks like UTF-16 (big-endian)"),
    Case("jsonl-not-json", "reviews.jsonl", b'{"text": "a", "label": "positive"}\n{"text": \n', EVAL, 1,
         "not valid JSON", 2),
    Case("jsonl-deep", "reviews.jsonl", b"[" * 100_000 + b"\n", EVAL, 1, "nested too deeply", 1),
    Case("jsonl-not-object", "reviews.jsonl", b'["good", "positive"]\n', EVAL, 1,
         "expected a JSON object, got list", 1),
    Case("jsonl-float-label", "reviews.jsonl", b'{"text": "good", "label": 1.5}\n', EVAL, 1,
         "label 1.5 is not a string or an integer", 1),
    Case("stsa-no-sentence", "stsa.mine", b"1 a fine film\n0\n", EVAL, 1,
         "expected a label and a sentence", 2),
    Case("pairs-bad-label", "pairs.csv", b"question,answer,label\nwho ?,me,2\n", EVAL_SM, 1,
         "label '2' is not 0 or 1", 2),
    Case("pairs-classifier-columns", "pairs.csv", b"text,label\nwho ?,1\n", EVAL_SM, 1,
         "a ranker reads the columns 'question', 'answer' and 'label'", 1),
    # --- vector files: millicent embeddings load -------------------------------------
    Case("vec-nan", "vectors.txt", b"the 0.1 0.2 0.3\nfilm 0.4 0.5 0.6\ngood nan 0.1 0.2\n",
         LOAD_FILE, 1, "a non-finite value (nan)", 3),
    Case("vec-header-promises-more", "cut.vec", b"1000 3\nthe 0.1 0.2 0.3\nfilm 0.4 0.5 0.6\n",
         LOAD_FILE, 1, "the header announces 1,000 rows but the file holds 2", 1),
    Case("vec-header-promises-fewer", "long.vec", b"2 3\na 1 2 3\nb 1 2 3\nc 1 2 3\n",
         LOAD_FILE, 1, "more rows than the 2 the header announces", 4),
    Case("vec-dim-mismatch", "vectors.txt", b"the 0.1 0.2 0.3\nfilm 0.4 0.5 0.6\ngood 0.1 0.2\n",
         LOAD_FILE, 1, "line 3 has 2 values, expected 3", 3),
    Case("vec-bad-number", "vectors.txt", b"the 0.1 0.2 0.3\nfilm 0.4 zero 0.6\n",
         LOAD_FILE, 1, "could not convert", 2),
    Case("vec-binary-cut", "vectors.bin", _binary_vectors([(b"a", [1.0, 2.0]), (b"b", [3.0, 4.0])], cut=3),
         LOAD_FILE, 1, "truncated vector for 'b'"),
    Case("vec-binary-inf", "vectors.bin", _binary_vectors([(b"a", [1.0, 2.0]), (b"b", [float("inf"), 4.0])]),
         LOAD_FILE, 1, "record 2 ('b'): a non-finite value (inf)"),
    Case("vec-utf16", "vectors.txt", "the 0.1 0.2\nfilm 0.3 0.4\n".encode("utf-16"),
         LOAD_FILE, 1, "is UTF-16/32 text; vector files are UTF-8"),
    Case("vec-is-npy", "vectors.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}" + bytes(64), LOAD_FILE, 1,
         "is a NumPy .npy array, not text"),
    Case("vec-empty", "vectors.txt", b"", LOAD_FILE, 1, "not a vector file", 1),
    Case("vec-huge-dim", "vectors.vec", b"3 999999999\n", LOAD_FILE, 1,
         "the header announces dimension 999999999", 1),
    Case("vec-no-word", "vectors.txt", b"the 0.1 0.2 0.3\n 0.4 0.5 0.6\n", LOAD_FILE,
         1, "no word before the 3 numbers", 2),
    Case("vec-invalid-utf8", "vectors.txt", b"the 0.1 0.2\nfi\xfflm 0.3 0.4\n", LOAD_FILE,
         1, "not valid UTF-8", 2),
    # --- requests files: millicent bench --requests (read before anything is sent) -----
    Case("requests-not-json", "reqs.jsonl", b'{"sentence": "a"}\n{sentence: b}\n', BENCH, 1,
         "not a JSON request body", 2),
    Case("requests-not-object", "reqs.jsonl", b'["a film"]\n', BENCH, 1,
         "a request body must be a JSON object, not list", 1),
    Case("requests-deep", "reqs.jsonl", b'{"sentence": "a"}\n' + b"[" * 50_000 + b"\n", BENCH,
         1, "nested too deeply", 2),
    Case("requests-empty", "reqs.jsonl", b"\n\n", BENCH, 1, "no request bodies in it"),
    Case("requests-no-route", "reqs.jsonl", b'{"text": "a film"}\n', BENCH, 1,
         "a request body needs", 1),
    Case("requests-invalid-utf8", "reqs.jsonl", b'{"sentence": "a"}\n{"sentence": "\xff"}\n',
         BENCH, 1, "invalid UTF-8", 2),
    # --- traces: millicent plan --traffic trace:FILE ---------------------------------------
    Case("trace-nan", "t.trace", b"0\n1\nnan\n3\n", PLAN, 1,
         "a timestamp must be a finite number of seconds", 3, {"ok-profile.json": PROFILE}),
    Case("trace-backwards", "t.trace", b"0\n5\n3\n", PLAN, 1,
         "timestamps must not go back in time", 3, {"ok-profile.json": PROFILE}),
    Case("trace-negative-count", "t.csv", b"timestamp,requests\n0,5\n60,-2\n", PLAN, 1,
         "requests must be a whole number", 3, {"ok-profile.json": PROFILE}),
    Case("trace-empty", "t.trace", b"# nothing\n\n", PLAN, 1, "has no requests",
         None, {"ok-profile.json": PROFILE}),
    Case("trace-a-century", "t.trace", b"0\n3153600000\n", PLAN, 1,
         "the trace spans more than", 2, {"ok-profile.json": PROFILE}),
    Case("trace-columns", "t.csv", b"0,1\n60,2,3\n", PLAN, 1,
         "expected 2 column(s), got 3", 2, {"ok-profile.json": PROFILE}),
    # --- profiles: millicent plan --profile FILE --------------------------------------------
    Case("profile-not-json", "p.json", b'{"warm": {"duration_ms": 2,}}\n',
         PLAN_PROFILE, 2,
         "is not valid JSON", 1),
    Case("profile-negative", "p.json", json.dumps({"warm": {"duration_ms": -3}}).encode(),
         PLAN_PROFILE, 2,
         "warm.duration_ms must hold numbers ≥ 0, got -3"),
    Case("profile-list", "p.json", b"[1, 2]\n",
         PLAN_PROFILE, 2,
         "must hold a JSON object, not list"),
    Case("profile-no-cold", "p.json", json.dumps({"warm": {"duration_ms": 2}}).encode(),
         PLAN_PROFILE, 2,
         "'cold' must be an object"),
    # --- REPORT logs: millicent cost --report-log FILE ----------------------------------------
    Case("report-bad-unit", "lambda.log", REPORT.replace("12.34 ms", "12.34 s").encode(), COST,
         1, "Duration must be in ms", 1),
    Case("report-no-billed", "lambda.log", (REPORT + REPORT.replace("\tBilled Duration: 13 ms", "")).encode(),
         COST, 1, "lacks Billed Duration", 2),
    Case("report-huge", "lambda.log", REPORT.replace("12.34", "9" * 400).encode(), COST,
         1, "beyond any Lambda limit", 1),
    Case("report-none", "lambda.log", b"START RequestId: x\nEND RequestId: x\n", COST, 1,
         "no REPORT lines in lambda.log"),
    Case("report-platform-json", "lambda.log",
         json.dumps({"type": "platform.report", "record": {"requestId": "r", "metrics": {
             "durationMs": "12", "billedDurationMs": 13, "memorySizeMB": 128}}}).encode() + b"\n",
         COST, 1, "malformed platform.report event: durationMs", 1),
    # --- batch inputs: millicent batch --input FILE (refused before any journal) -----------------
    Case("batch-missing-column", "in.csv", b"review\nhello\n", BATCH, 1,
         "no column 'text' in the header", 1),
    Case("batch-utf16-no-bom", "in.txt", "one\ntwo\n".encode("utf-16-be"), BATCH, 1,
         "looks like UTF-16 (big-endian)"),
    Case("batch-header-unclosed", "in.csv", b'"text\nhello\n', BATCH, 1,
         "the header row cannot be read", 1),
    # --- ONNX graphs: millicent import onnx ----------------------------------------------------
    Case("onnx-garbage", "model.onnx", bytes(range(256)) * 4, IMPORT, 2,
         "is not an ONNX model", None, {"v4.vec": VEC4}),
    Case("onnx-empty", "model.onnx", b"", IMPORT, 2, "is not an ONNX model",
         None, {"v4.vec": VEC4}),
    Case("onnx-truncated", "model.onnx", _truncated(_onnx(), 0.6), IMPORT, 2,
         "model.onnx", None, {"v4.vec": VEC4}),
    Case("onnx-wrong-dim", "model.onnx", _onnx(dim=8), IMPORT, 2,
         "takes 8-d vectors but v4.vec has 4-d vectors", None, {"v4.vec": VEC4}),
    Case("onnx-fixed-tokens", "model.onnx", _onnx(fixed_tokens=True), IMPORT, 2,
         "the token axis must be dynamic", None, {"v4.vec": VEC4}),
    Case("onnx-missing-external-data", "model.onnx", _onnx(external=True), IMPORT, 2,
         "which is not beside it", None, {"v4.vec": VEC4}),
    Case("onnx-labels-mismatch", "model.onnx", _onnx(labels=3), IMPORT, 2,
         "has 3 columns but 2 labels were given", None, {"v4.vec": VEC4}),
    Case("onnx-json-file", "model.onnx", b'{"not": "onnx"}', IMPORT, 2,
         "is not an ONNX model", None, {"v4.vec": VEC4}),
    Case("onnx-vectors-nan", "v4.vec", b"2 4\nthe 0.1 0.2 0.3 nan\nfilm 1 2 3 4\n",
         IMPORT, 1, "a non-finite value (nan)", 2, {"model.onnx": _onnx()}),
]
