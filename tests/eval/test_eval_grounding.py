"""Ungrounded mentions in explanations."""

from __future__ import annotations

import numpy as np
import pytest

from eval.metrics import find_mentions, ungrounded_per_explanation, ungrounded_rate

VOCAB = ["Star Wars", "Star", "Harrison Ford", "science fiction", "1977", "drama"]


def test_mentions_are_whole_words_longest_first_in_text_order() -> None:
    text = "Star Wars (1977) stars Harrison Ford; science-fiction fans, take note. Starship."
    assert find_mentions(text, VOCAB) == ["star wars", "1977", "harrison ford"]


def test_rate_is_pooled_over_explanations() -> None:
    mentions = [["star wars", "1977"], ["drama", "harrison ford", "star"], []]
    evidence = [{"Star Wars", "1977"}, {"drama"}, set()]
    assert ungrounded_rate(mentions, evidence) == 2 / 5
    per = ungrounded_per_explanation(mentions, evidence)
    np.testing.assert_allclose(per[:2], [0 / 2, 2 / 3])
    assert np.isnan(per[2])


def test_limits() -> None:
    said = [["a", "b"], ["c"]]
    assert ungrounded_rate(said, [{"a", "b"}, {"c"}]) == 0.0
    assert ungrounded_rate(said, [set(), set()]) == 1.0
    assert ungrounded_rate([[], []], [set(), set()]) == 0.0


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="one evidence set per explanation"):
        ungrounded_rate([["a"]], [])
