"""Which frequent-word pack ``millicent plan --from-bench`` assumes the function bundles.

The pack decides which words of a request reach the store, so it decides the DynamoDB
bill and the hot key: pricing every pack hit as a store read overstated the tour's month
4.8× ($3,853 against $800). A bench run records the pack its function reported on
``/health`` (``plan.json``: ``function.pack``; a ``bench --compare`` run: ``packs``, the pack
of each configuration it deployed), so the plan takes that one unless told:

* ``--pack FILE``: that pack; ``--pack none``: no pack (every word is a store read);
* else the run's recorded pack (the file must still be there, with the same words and
  creation time), or no pack when the function reported none;
* a run that recorded nothing (older runs, a function that did not answer ``/health``)
  whose records show pack hits is refused: which pack it was cannot be known.

Whichever it is, :class:`PackChoice` says how it was chosen, and the plan's report says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millicent.errors import ConfigError
from millicent.harness.records import RequestRecord

NONE = "none"


@dataclass(frozen=True)
class PackChoice:
    """The pack assumed (None: none) and how the plan came to assume it."""

    path: Path | None
    note: str


def choose_pack(run_dir: Path, plan: Mapping[str, Any], records: Sequence[RequestRecord],
                given: str | None, config: str = "") -> PackChoice:
    """The pack of ``--pack`` (``given``), else the one the bench run recorded for the
    configuration ``config`` served (``records``: its requests)."""
    if given == NONE:
        return PackChoice(None, "none (--pack none): every word of a request is a store read")
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise ConfigError(f"--pack {path}: no such file")
        return PackChoice(path, f"{path} ({_words(path):,} words; --pack)")
    packs = plan.get("packs")  # bench --compare: one per configuration it deployed
    if isinstance(packs, Mapping) and config in packs:
        return _recorded(run_dir, packs[config])
    info = plan.get("function")  # bench --endpoint: the function's /health
    if isinstance(info, Mapping) and "pack" in info:
        return _recorded(run_dir, info["pack"])
    return _unrecorded(run_dir, records, info)


def _words(path: Path) -> int:
    from millicent.store.pack import FrequentWordPack

    return len(FrequentWordPack.open(path))


def _recorded(run_dir: Path, pack: Any) -> PackChoice:
    if not isinstance(pack, Mapping):
        return PackChoice(None, "none: the bench run's function bundled no pack (its /health)")
    from millicent.store.pack import FrequentWordPack

    path = Path(str(pack.get("path")))
    what = f"the pack {path} ({pack.get('words')} words, created {pack.get('created')})"
    advice = "pass --pack FILE (that pack), or --pack none to assume no pack"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: the bench run's function bundled {what}, which is not "
                          f"there any more: {advice}")
    now = FrequentWordPack.open(path).describe()
    if (now["words"], now["created"]) != (pack.get("words"), pack.get("created")):
        raise ConfigError(f"{run_dir}: the bench run's function bundled {what}; that file now "
                          f"holds another pack ({now['words']} words, created {now['created']}): "
                          f"{advice}")
    return PackChoice(path, f"{path} ({now['words']:,} words), the pack the bench run's function "
                            "bundled (recorded by the run)")


def _unrecorded(run_dir: Path, records: Sequence[RequestRecord], info: Any) -> PackChoice:
    ok = [r for r in records if r.ok]
    hits = sum(int(r.lookups.get("pack_hits", 0)) for r in ok)
    words = sum(int(r.lookups.get("words", 0)) for r in ok)
    if hits:
        why = (info.get("unavailable") if isinstance(info, Mapping) else None) or \
            "the run predates recording it"
        raise ConfigError(
            f"{run_dir}: the bench run's function answered {hits:,} of {words:,} word lookups "
            f"from a frequent-word pack, but the run does not say which ({why}): pass --pack "
            "FILE (the pack it bundled), or --pack none to price every word as a store read")
    return PackChoice(None, "none: no request of the bench run was answered from a pack")
