"""House rules on the shape of the package's code, checked on its source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

#: the longest a function may be, from its ``def`` line to its last line, docstring included
MAX_FUNCTION_LINES = 80

#: the package's source in this checkout
PACKAGE = Path(__file__).resolve().parents[1] / "nas_meta_tune"


def test_no_function_is_longer_than_80_lines() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    rel = path.relative_to(PACKAGE.parent).as_posix()
                    offenders.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    assert not offenders, (
        f"functions longer than {MAX_FUNCTION_LINES} lines (split them into helpers):\n"
        + "\n".join(offenders)
    )
