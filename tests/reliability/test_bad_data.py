"""The bad-data corpus (issue 14): every defect gets a clear, located error or loads under a
stated rule; ``--skip-bad-rows`` keeps every good row and lists each bad one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bad_data_corpus", Path(__file__).parent / "data" / "bad_data.py")
assert _SPEC and _SPEC.loader
corpus = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = corpus
_SPEC.loader.exec_module(corpus)


def test_the_corpus_is_large_and_names_are_unique() -> None:
    names = [d.name for d in corpus.CORPUS]
    assert len(names) >= 60 and len(set(names)) == len(names)


@pytest.mark.parametrize("defect", corpus.CORPUS, ids=lambda d: d.name)
def test_defect_is_clear_or_accepted_by_rule(defect, tmp_path) -> None:
    outcome = corpus.judge(defect, tmp_path)
    assert outcome.result == ("accepted" if defect.accepted else "clear"), outcome.detail
    if defect.skip_loaded is not None:
        assert outcome.skip_ok, "under skip_bad_rows a good row was lost or the bad line unlisted"
