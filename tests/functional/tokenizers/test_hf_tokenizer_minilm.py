"""all-MiniLM-L6-v2's own tokenizer.json through the ``hf`` tokenizer gives transformers'
ids on a few hundred varied strings (accents, CJK, emoji, control characters, random
Unicode, very long texts), truncated at the model's 256 (sentence-transformers'
max_seq_length), not the file's 128."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from millicent.runtime.artifact import TokenizerSpec
from millicent.tokenizers import make_tokenizer
from tests.hf_support import VARIED

pytest.importorskip("transformers")
MODEL = "models/all-MiniLM-L6-v2"
#: Unicode blocks the strings are drawn from: Latin + accents, Greek, Cyrillic, Arabic,
#: Devanagari, CJK, Hangul, emoji, symbols, combining marks, zero-width and controls
BLOCKS = [(0x20, 0x7E), (0xC0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x600, 0x6FF),
          (0x900, 0x97F), (0x4E00, 0x4FFF), (0xAC00, 0xAC80), (0x1F300, 0x1F64F),
          (0x2000, 0x206F), (0x300, 0x36F), (0x0, 0x1F)]


def varied_strings(n: int = 200) -> list[str]:
    rng = random.Random(21)
    out = list(VARIED)
    while len(out) < n:
        pieces = []
        for _ in range(rng.randint(1, 30)):
            lo, hi = rng.choice(BLOCKS)
            pieces.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 8))))
            pieces.append(rng.choice([" ", "", "  ", "\t"]))
        out.append("".join(pieces))
    out.append("word " * 700)  # 3,500 characters
    out.append("Ünïcödé " * 400)
    return out


def test_minilm_ids_equal_transformers(data_dir: Path) -> None:
    from transformers import AutoTokenizer

    directory = data_dir / MODEL
    reference = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    tok = make_tokenizer(TokenizerSpec.of("hf", True, 256), directory)
    strings = varied_strings()
    assert len(strings) >= 200
    truncated = 0
    for text in strings:
        enc = tok.encode(text)
        ref = reference(text, truncation=True, max_length=256)
        assert enc.ids == ref["input_ids"], repr(text)
        assert enc.type_ids == ref["token_type_ids"], repr(text)
        assert len(enc) <= 256
        truncated += enc.truncated > 0
    assert truncated >= 2  # the long texts were cut at 256, not at the file's 128
    pair = tok.encode_pair(strings[4], strings[-2])
    ref = reference(strings[4], strings[-2], truncation=True, max_length=256)
    assert pair.ids == ref["input_ids"] and pair.type_ids == ref["token_type_ids"]
