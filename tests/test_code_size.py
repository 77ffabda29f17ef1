"""The size habits of issue 12, enforced: no function over 80 lines and no file over 600
lines in the packages (data files and tests are exempt)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("retrieval", "assistant", "eval", "prompts", "benchmarks")
MAX_FILE_LINES, MAX_FUNCTION_LINES = 600, 80
SOURCES = sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_files_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_FILE_LINES, f"{path.relative_to(REPO)}: {lines} lines; split it"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(REPO)}: functions over 80 lines: {', '.join(long)}"


def test_the_walk_finds_the_packages() -> None:
    assert len(SOURCES) > 100
