import ast
from pathlib import Path

import pytest

import millicent
from millicent.deploy.contents import PackageError, function_sources, is_junk


@pytest.mark.parametrize("path", [
    "numpy/_core/tests/test_umath.py", "numpy/__pycache__/x.cpython-311.pyc", "numpy/__init__.pyi",
    "numpy/_core/include/numpy/ndarraytypes.h", "numpy/f2py/crackfortran.py",
    "numpy/_core/_simd.cpython-311-x86_64-linux-gnu.so", "pkg/conftest.py", "a/b.pyc",
])
def test_junk(path):
    assert is_junk(path)


@pytest.mark.parametrize("path", [
    "numpy/__init__.py", "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
    "numpy.libs/libscipy_openblas64_-56d6093b.so", "numpy/testing/__init__.py",
    "millicent/runtime/handler.py", "artifacts/kim/weights.npz",
])
def test_not_junk(path):
    assert not is_junk(path)


def test_function_sources_are_runtime_store_and_base_only():
    names = [s.arcname for s in function_sources()]
    assert "millicent/__init__.py" in names and "millicent/errors.py" in names
    assert any(n.startswith("millicent/runtime/") for n in names)
    assert any(n.startswith("millicent/store/") for n in names)
    tops = {n.split("/")[1] for n in names}
    assert tops <= {"runtime", "tokenizers", "store"} | {p.name for p in Path(millicent.__file__).parent.glob("*.py")}
    for banned in ("cli", "deploy", "data", "models", "train", "bench", "platform"):
        assert banned not in tops
    assert not any(is_junk(n) for n in names)


def test_shipped_code_imports_only_shipped_millicent_modules():
    sources = function_sources()
    shipped = {s.arcname.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for s in sources}
    for s in sources:
        if s.path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(s.path.read_text())):
            mods = []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                mods = [node.module]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                if m.startswith("millicent"):
                    assert m in shipped, f"{s.arcname} imports {m}"


def _fake_package(root: Path, runtime_src: str) -> Path:
    pkg = root / "millicent"
    for d in ("runtime", "tokenizers", "store", "cli"):
        (pkg / d).mkdir(parents=True)
        (pkg / d / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "config.py").write_text("from millicent.errors import X\n")
    (pkg / "tooling.py").write_text("")
    (pkg / "runtime" / "core.py").write_text(runtime_src)
    (pkg / "runtime" / "__pycache__").mkdir()
    (pkg / "runtime" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"x")
    return pkg


def test_base_modules_follow_the_imports(tmp_path):
    pkg = _fake_package(tmp_path, "from millicent import config\nfrom ..store import x\n")
    names = [s.arcname for s in function_sources(pkg)]
    assert "millicent/config.py" in names and "millicent/errors.py" in names  # errors via config
    assert "millicent/tooling.py" not in names
    assert not any("__pycache__" in n for n in names)


def test_shipped_code_importing_tooling_stops_the_build(tmp_path):
    pkg = _fake_package(tmp_path, "import millicent.cli.main\n")
    with pytest.raises(PackageError, match=r"runtime/core\.py imports millicent\.cli"):
        function_sources(pkg)
