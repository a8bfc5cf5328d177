"""The texts the int8 gate compares fp32 and int8 on: 1,000 texts nobody trained on.

* ``embed`` / ``classify``: by default the first 1,000 distinct answers of TrecQA raw-dev
  from the data directory (no model here was trained on them); ``--check-texts FILE``
  takes a user's own (txt: one text per line; csv / tsv / jsonl: the ``text`` column).
* ``rank``: the pairs of TrecQA raw-dev, grouped by question (MAP is the gate); a
  ``--check-texts`` file is a pairs file (``question``, ``answer``, ``label``, optional
  ``qid``).

A bad line of a user's file is named by file and line, and the import stops: a gate run on
fewer texts than asked for would say less than it claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from millicent.data.files import Problem as RowProblem
from millicent.data.files import iter_texts
from millicent.data.paths import PathLike
from millicent.data.trecqa import QAPair, load_trecqa
from millicent.errors import DataError, InvalidInput

#: texts the gate compares (the issue's 1,000)
GATE_TEXTS = 1000
#: fewer than this says too little about a quantized model
MIN_TEXTS = 100
DEFAULT_SPLIT = "raw-dev"


@dataclass(frozen=True)
class CheckSet:
    """What the gate runs on, and where it came from (recorded in the manifest)."""

    source: str
    texts: list[str] = field(default_factory=list)
    pairs: list[QAPair] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pairs) if self.pairs else len(self.texts)


def check_set(role: str, data_dir: PathLike | None, file: Path | None = None,
              limit: int = GATE_TEXTS) -> CheckSet:
    """The gate's texts for ``role`` (see the module docstring)."""
    if role == "rank":
        return _pairs(data_dir, file)
    if file is not None:
        texts = _file_texts(file, limit)
        source = f"{file} (first {len(texts)} texts)"
    else:
        answers = dict.fromkeys(p.answer for p in _trecqa(data_dir))
        texts = list(answers)[:limit]
        source = f"TrecQA {DEFAULT_SPLIT} answers (first {len(texts)} distinct)"
    if len(texts) < MIN_TEXTS:
        raise InvalidInput(f"the int8 gate needs at least {MIN_TEXTS} check texts; "
                           f"{source} has {len(texts)}")
    return CheckSet(source, texts=texts)


def _trecqa(data_dir: PathLike | None) -> list[QAPair]:
    try:
        return load_trecqa(data_dir, DEFAULT_SPLIT)
    except DataError as exc:
        raise InvalidInput(f"the int8 gate compares fp32 and int8 on TrecQA {DEFAULT_SPLIT} "
                           f"from the data directory, or on --check-texts FILE: {exc.message}"
                           ) from exc


def _file_texts(path: Path, limit: int) -> list[str]:
    texts: list[str] = []
    problems: list[RowProblem] = []
    for _, item in iter_texts(path):
        if isinstance(item, RowProblem):
            problems.append(item)
        elif len(texts) < limit:
            texts.append(item)
    if problems:
        raise DataError(f"--check-texts {path}: {len(problems)} bad line(s), the first: "
                        f"{problems[0]}")
    return texts


def _pairs(data_dir: PathLike | None, file: Path | None) -> CheckSet:
    if file is None:
        pairs = _trecqa(data_dir)
        source = f"TrecQA {DEFAULT_SPLIT} ({len(pairs)} pairs)"
    else:
        from millicent.data.pairs import read_pairs

        pairs = read_pairs(file).rows  # DataError naming the bad rows by file and line
        source = f"{file} ({len(pairs)} pairs)"
    if not any(p.label for p in pairs):
        raise InvalidInput(f"the int8 gate's MAP needs relevant answers; {source} has none")
    return CheckSet(source, pairs=pairs)
