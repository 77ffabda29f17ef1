"""Every docstring example in the packages runs as a test, found automatically.

The modules are listed by walking the package folders (``pkgutil``, nothing imported to
list them); each module whose source holds a ``>>>`` example is one test. A module whose
import needs an optional extra that is not installed is skipped, and the skip names the
missing package. Examples may use ``bundle_path`` (a built demo bundle), ``bot`` (an
:class:`~assistant.core.Assistant` over it, with its own history store) and ``Settings``
without defining them; the bundle is built only for the modules that use them.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PACKAGES = ("retrieval", "assistant", "eval", "prompts")
REPO = Path(__file__).resolve().parents[1]

# Names an example may use without defining them, each made by the fixture below.
_BUNDLE_NAMES = re.compile(r"\b(bundle_path|bot)\b")


def _walk(folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """``(module name, source file)`` of a package and everything below it."""
    yield prefix, folder / "__init__.py"
    for info in pkgutil.iter_modules([str(folder)]):
        name = f"{prefix}.{info.name}"
        if info.ispkg:
            yield from _walk(folder / info.name, name)
        else:
            yield name, folder / f"{info.name}.py"


def modules_with_examples() -> list[str]:
    """The modules of :data:`PACKAGES` whose source holds a ``>>>`` example."""
    found = []
    for package in PACKAGES:
        for name, source in _walk(REPO / package, package):
            if source.is_file() and ">>>" in source.read_text(encoding="utf-8"):
                found.append(name)
    return sorted(found)


MODULES = modules_with_examples()


def _import(name: str) -> ModuleType:
    """Import ``name``; skip (saying why) when an optional extra it needs is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if not missing or missing in PACKAGES:
            raise
        pytest.skip(f"{name}: its import needs {missing!r}, an optional extra that is not "
                    "installed")


@pytest.fixture()
def bundle_globals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``bundle_path``, ``bot`` and ``Settings`` for the examples that use them."""
    from assistant.core import Assistant
    from assistant.settings import Settings
    from assistant.store import open_store

    bundle_path = request.getfixturevalue("demo_bundle_path")
    store = open_store(f"sqlite:///{tmp_path / 'history.sqlite3'}")
    with Assistant.from_bundle(bundle_path, Settings(), store=store) as bot:
        yield {"bundle_path": bundle_path, "bot": bot, "Settings": Settings}


def test_the_walk_finds_the_packages_modules() -> None:
    # a guard against a walk that silently finds nothing (or misses subpackages)
    assert {"retrieval.index", "retrieval.index.faiss_index", "assistant.ui",
            "eval.metrics.ndcg", "prompts"} <= set(MODULES)


def test_a_missing_optional_extra_is_a_skip_that_names_it(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "needs_extra.py").write_text("import encore_extra_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="'encore_extra_not_installed'"):
        _import("needs_extra")


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, request: pytest.FixtureRequest) -> None:
    module = _import(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    assert tests, (f"{name} has '>>>' in its source but no docstring example that doctest "
                   "finds: put the example in a docstring, or write it without '>>>'")
    globs: dict[str, Any] = {}
    if any(_BUNDLE_NAMES.search(ex.source) for t in tests for ex in t.examples):
        globs = request.getfixturevalue("bundle_globals")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    for test in tests:
        test.globs.update({k: v for k, v in globs.items() if k not in test.globs})
        runner.run(test, out=report.write)
    # (a module whose every example is marked +SKIP runs none: each says why it cannot run)
    assert runner.failures == 0, report.getvalue()
