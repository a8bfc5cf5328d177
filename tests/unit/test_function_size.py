"""No function of millicent (outside tests) is over 60 lines or takes over 8 parameters.

Lines run from ``def`` (or its first decorator) to the function's last line, docstring
included; ``self`` and ``cls`` are not counted, ``*args`` and ``**kwargs`` are. Long
orchestration is split into named steps, and long parameter lists into option objects."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "millicent"
MAX_LINES = 60
MAX_PARAMS = 8


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs) if x.arg not in ("self", "cls")]
    return len(names) + (a.vararg is not None) + (a.kwarg is not None)


def offenders(root: Path = PACKAGE) -> list[str]:
    """``path:line name (N lines, M parameters)`` of every function over a limit."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - start + 1
            params = _params(node)
            if lines > MAX_LINES or params > MAX_PARAMS:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} "
                             f"({lines} lines, {params} parameters)")
    return found


def test_no_function_is_over_60_lines_or_8_parameters() -> None:
    found = offenders()
    assert not found, "split these into named steps / option objects:\n" + "\n".join(found)


def test_the_check_sees_a_long_function_and_a_wide_one(tmp_path: Path) -> None:
    pkg = tmp_path / "millicent"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (pkg / "m.py").write_text(f"def long():\n{body}\n\n\ndef wide(self, a, b, c, d, e, f, g, h, *rest):\n"
                              "    pass\n\n\ndef fine(self, a, b, c, d, e, f, g, h):\n    pass\n")
    assert [o.split()[1] for o in offenders(pkg)] == ["long", "wide"]
