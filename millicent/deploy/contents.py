"""Which files of millicent ship in the function, and which files anywhere are junk.

The function holds ``runtime/``, ``store/`` and the base modules they import — nothing
else. The list is computed, not written down: every file under the two shipped packages,
plus the top-level modules reached by following their ``millicent.*`` imports. An import
of any other part of millicent (``cli``, ``data``, ``deploy`` ...) from shipped code is a
layering bug and stops the build, because that module would be missing inside Lambda.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import millicent
from millicent.errors import MillicentError

#: Sub-packages that ship whole.
SHIPPED_PACKAGES = ("runtime", "tokenizers", "store")

#: Directory names dropped from the package: tests, caches.
JUNK_DIRS = frozenset({"__pycache__", "tests", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
#: File suffixes dropped: bytecode, type stubs, C headers and Cython declarations
#: (build-time only; nothing imports them at run time).
JUNK_SUFFIXES = frozenset({".pyc", ".pyo", ".pyi", ".h", ".pxd", ".c", ".cpp", ".orig"})
JUNK_NAMES = frozenset({"conftest.py", ".DS_Store", "py.typed"})
#: Parts of third-party packages that neither ``import numpy`` nor the runtime ever loads
#: (build tools and test helpers), matched as path prefixes. The fidelity test runs the
#: handler from the zip alone, which proves they are not needed.
UNUSED_PREFIXES = (
    "numpy/distutils/",  # build helper (gone from numpy for Python >= 3.12)
    "numpy/f2py/",  # Fortran wrapper generator, loaded only on ``numpy.f2py`` access
    "numpy/_pyinstaller/",  # PyInstaller hooks
    "numpy/_core/_simd.",  # SIMD test module (2.9 MB), imported only by numpy's tests
    "numpy/_core/_multiarray_tests.",  # C test helpers
    "numpy/_core/lib/",  # static libnpymath and pkg-config files, for building extensions
    "numpy/_core/include/",  # C headers, for building extensions
    # onnxruntime (ONNX artifacts only): the function imports onnxruntime and runs a session
    "onnxruntime/capi/libonnxruntime.so.",  # the C/C++ API library (35 MB); the Python
    #                                         binding has the runtime linked in statically
    "onnxruntime/tools/",  # model conversion and optimisation scripts (need onnx, protobuf)
    "onnxruntime/transformers/",  # transformer graph optimiser and benchmarks
    "onnxruntime/quantization/",  # offline quantisation tools
    "onnxruntime/backend/",  # the ONNX backend-test API (imports onnx)
    "onnxruntime/datasets/",  # sample models
)


class PackageError(MillicentError):
    """The function package cannot be built as asked."""

    exit_code = 2
    code = "package_error"


def is_junk(path: str) -> bool:
    """True for tests, caches, bytecode, build-time-only and unused files (``path`` uses ``/``)."""
    if path.startswith(UNUSED_PREFIXES):
        return True
    p = PurePosixPath(path)
    if any(part in JUNK_DIRS for part in p.parts[:-1]):
        return True
    if p.name in JUNK_NAMES or p.name.startswith("._"):
        return True
    return p.suffix in JUNK_SUFFIXES


@dataclass(frozen=True)
class SourceFile:
    """A file of millicent that ships: its path on disk and its name inside the zip."""

    path: Path
    arcname: str


def _millicent_imports(path: Path, root: Path) -> set[str]:
    """Top-level-relative names (``errors``, ``store.base``) that ``path`` imports from millicent."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = path.parent
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the file's package
                base = package
                for _ in range(node.level - 1):
                    base = base.parent
                rel = base.relative_to(root).parts
                mod = ".".join(("millicent", *rel, *( [node.module] if node.module else [])))
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "millicent" or name.startswith("millicent."):
                out.add(name.removeprefix("millicent").lstrip("."))
    return out


def function_sources(root: Path | None = None) -> list[SourceFile]:
    """The millicent files that go into the function, sorted by name inside the zip.

    ``root`` is the ``millicent`` package directory (this installation's by default).
    Raises :class:`PackageError` if shipped code imports a part of millicent that does
    not ship.
    """
    root = (root or Path(millicent.__file__)).resolve()
    if root.is_file():
        root = root.parent
    files: dict[str, Path] = {"millicent/__init__.py": root / "__init__.py"}
    for pkg in SHIPPED_PACKAGES:
        pkg_dir = root / pkg
        if not (pkg_dir / "__init__.py").exists():
            raise PackageError(f"millicent/{pkg}/ is missing: the function cannot be built without it")
        for f in sorted(pkg_dir.rglob("*")):
            rel = f.relative_to(root.parent).as_posix()
            if f.is_file() and not is_junk(rel):
                files[rel] = f
    # Follow imports from shipped code to the base modules they need.
    pending = [p for p in files.values() if p.suffix == ".py"]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in sorted(_millicent_imports(path, root)):
            if not name:
                continue
            head = name.split(".")[0]
            if head in SHIPPED_PACKAGES:
                continue
            module = root / f"{head}.py"
            if module.exists():
                rel = f"millicent/{head}.py"
                if rel not in files:
                    files[rel] = module
                    pending.append(module)
            elif (root / head).is_dir():
                where = path.relative_to(root.parent).as_posix()
                raise PackageError(
                    f"{where} imports millicent.{name}, which does not ship in the function "
                    f"(only {', '.join(SHIPPED_PACKAGES)} and base modules do)"
                )
            # else: a name imported from millicent/__init__ (e.g. __version__); already shipped
    return [SourceFile(path, arc) for arc, path in sorted(files.items())]
