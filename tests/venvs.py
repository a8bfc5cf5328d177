"""A fresh virtualenv that sees the packages of the interpreter running the tests — whatever
that interpreter is: a plain Python, a virtualenv with its own site-packages (as a
newcomer's ``python -m venv .venv && pip install ...`` makes), or one with
``--system-site-packages``.

``python -m venv --system-site-packages`` is not that: started from inside a virtualenv it
exposes the *base* interpreter's site-packages, not the virtualenv's, so what a test saw
depended on where it was started (issue 20: the GloVe package was invisible and the demo's
numbers changed). Here the new environment is isolated, and a ``.pth`` file lists the
running interpreter's own site-packages directories — after the environment's own, so what
is installed into it (a wheel under test) comes first. The directories are listed as paths,
so their ``.pth`` files (an editable install of the checkout) are not run.

Run as a script (``python tests/venvs.py TARGET [--pip]``) it builds the environment for
the interpreter that runs it, which is how a test builds one from another interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def package_dirs() -> list[str]:
    """This interpreter's site-packages directories, in import order."""
    out: list[str] = []
    for entry in sys.path:
        if entry and os.path.basename(entry) in ("site-packages", "dist-packages") \
                and os.path.isdir(entry) and entry not in out:
            out.append(os.path.abspath(entry))
    return out


#: what "without torch" hides: torch and the packages that come with it
TORCH = ("torch", "torchgen", "functorch", "triton")


def _without(dirs: list[str], hide: tuple[str, ...], target: Path) -> list[str]:
    """Views of ``dirs`` without the top-level packages named in ``hide`` (and their
    ``.dist-info``): a directory of symbolic links to everything else, per directory — an
    environment where those packages are not installed, not one that refuses to import
    them."""
    out = []
    for i, d in enumerate(dirs):
        view = target / "visible" / str(i)
        view.mkdir(parents=True)
        for entry in os.listdir(d):
            top = entry.split("-")[0].split(".")[0].lower()
            if top not in hide:
                (view / entry).symlink_to(os.path.join(d, entry))
        out.append(str(view))
    return out


def make_venv(target: Path, *, pip: bool = True, timeout: float = 300,
              hide: tuple[str, ...] = ()) -> Path:
    """A new virtualenv at ``target`` seeing this interpreter's packages — but those named
    in ``hide`` (e.g. :data:`TORCH`) — ; its python."""
    args = [sys.executable, "-m", "venv", str(target)]
    if not pip:
        args.append("--without-pip")
    subprocess.run(args, check=True, timeout=timeout)
    python = target / "bin" / "python"
    done = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True, timeout=60)
    site = Path(done.stdout.strip())
    dirs = _without(package_dirs(), hide, target) if hide else package_dirs()
    (site / "_parent_packages.pth").write_text("".join(f"{d}\n" for d in dirs), encoding="utf-8")
    return python


if __name__ == "__main__":
    built = make_venv(Path(sys.argv[1]), pip="--pip" in sys.argv[2:])
    print(json.dumps({"python": str(built), "dirs": package_dirs()}))
