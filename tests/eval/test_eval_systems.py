"""The system registry: names, errors, Encore's reserved stages, registration."""

from __future__ import annotations

import numpy as np
import pytest

from eval.systems import (
    ENCORE_STAGES,
    SystemNotAvailable,
    available_systems,
    make_system,
    register_system,
    scores_from_lists,
)


def test_baselines_by_name_and_alias() -> None:
    assert type(make_system("pop")).__name__ == "Popularity"
    assert type(make_system("Popularity")).__name__ == "Popularity"
    assert make_system("ease", l2=42.0).l2 == 42.0
    assert make_system("itemknn", neighbours=5).neighbours == 5


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match="valid names: random, pop, itemknn, ease, request-pop, encore-retrieval, encore",
    ):
        make_system("bpr")


def test_unknown_parameter_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="bad parameter for system 'ease'"):
        make_system("ease", lambda_=3)


@pytest.mark.parametrize("stage", list(ENCORE_STAGES))
def test_encore_stages_say_they_are_not_built_yet(stage: str, monkeypatch) -> None:
    import sys

    # Simulate an installation without the Encore adapter (None in sys.modules makes the
    # import fail the way a missing module does).
    monkeypatch.setitem(sys.modules, "eval.encore", None)
    with pytest.raises(SystemNotAvailable, match="is not built yet.*eval/encore.py.*baselines"):
        make_system(stage)
    assert issubclass(SystemNotAvailable, ValueError)


def test_register_system_adds_a_name_and_refuses_to_clobber() -> None:
    class Constant:
        def fit(self, train, catalog):
            self.n = len(catalog)

        def score(self, user_ids, history):
            return np.zeros((len(user_ids), self.n), dtype=np.float32)

    register_system("constant-test", Constant)
    try:
        assert "constant-test" in available_systems()
        assert isinstance(make_system("constant-test"), Constant)
        with pytest.raises(ValueError, match="already registered"):
            register_system("constant-test", Constant)
    finally:
        from eval import systems

        systems._REGISTRY.pop("constant-test", None)


def test_scores_from_lists_reproduce_the_lists() -> None:
    from eval.harness import top_k

    lists = [[4, 0, 2], [], [1]]
    ranked = top_k(scores_from_lists(lists, 5), 3)
    assert ranked.tolist() == [[4, 0, 2], [-1, -1, -1], [1, -1, -1]]
