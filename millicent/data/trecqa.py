"""TrecQA (Wang et al. 2007, the jacana split of Yao et al. 2013) in Castor format.

Each split folder ``trecqa/castorini-SM-CNN-Torch/<split>/`` holds line-aligned files:
``a.toks`` (question), ``b.toks`` (candidate answer), ``id.txt`` (question id) and
``sim.txt`` (1 = the answer is correct). Text is tokenized and lowercased.
``raw-dev`` (1148 pairs) is the paper's benchmark set. ``train-all`` lacks ``b.toks``
in the public copy, so it cannot be loaded; use ``train``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from millicent.data.paths import PathLike, data_file
from millicent.errors import DataError, InvalidInput

TRECQA_DIR = "trecqa/castorini-SM-CNN-Torch"
SPLITS = ("train", "raw-dev", "raw-test", "clean-dev", "clean-test")
#: Short names used by the CLI: the paper's (raw) dev and test sets.
ALIASES = {"dev": "raw-dev", "test": "raw-test"}
_FILES = ("a.toks", "b.toks", "id.txt", "sim.txt")


@dataclass(frozen=True)
class QAPair:
    """A question, one candidate answer and whether it answers the question (1) or not (0)."""

    qid: str
    question: str
    answer: str
    label: int


def trecqa_split(split: str) -> str:
    """The canonical split name (``dev`` → ``raw-dev``, ``test`` → ``raw-test``)."""
    name = ALIASES.get(split, split)
    if name not in SPLITS:
        hint = " (train-all has no answers in the public copy)" if name == "train-all" else ""
        raise InvalidInput(
            f"unknown TrecQA split {split!r}{hint}; expected one of {', '.join(SPLITS)}")
    return name


def _lines(data_dir: PathLike | None, rel: str) -> list[str]:
    with open(data_file(data_dir, rel), encoding="utf-8") as f:
        return [line.rstrip("\r\n") for line in f]


def load_trecqa(data_dir: PathLike | None, split: str) -> list[QAPair]:
    """The question/answer pairs of one split, in file order (grouped by question)."""
    name = trecqa_split(split)
    questions, answers, qids, sims = (
        _lines(data_dir, f"{TRECQA_DIR}/{name}/{fname}") for fname in _FILES)
    counts = {len(questions), len(answers), len(qids), len(sims)}
    if len(counts) != 1:
        raise DataError(
            f"TrecQA {name}: files are not aligned (a.toks {len(questions)}, b.toks "
            f"{len(answers)}, id.txt {len(qids)}, sim.txt {len(sims)} lines)")
    pairs: list[QAPair] = []
    for n, (q, a, qid, sim) in enumerate(zip(questions, answers, qids, sims, strict=True), 1):
        label = sim.strip()
        if label not in ("0", "1"):
            raise DataError(f"TrecQA {name}/sim.txt:{n}: label {label!r} is not 0 or 1")
        pairs.append(QAPair(qid.strip(), q.strip(), a.strip(), int(label)))
    return pairs


def group_by_question(pairs: list[QAPair]) -> list[list[QAPair]]:
    """Consecutive pairs of the same question (the files keep each question's pairs together)."""
    return [list(g) for _, g in groupby(pairs, key=lambda p: p.qid)]
