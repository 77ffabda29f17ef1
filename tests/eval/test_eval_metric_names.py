"""Metric names are parsed in one place: forms, aliases, and clear errors."""

from __future__ import annotations

import pytest

from eval.metrics import METRIC_NAMES, MetricSpec, parse_metric, parse_metrics


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("ndcg@10", MetricSpec("ndcg", 10)),
        ("NDCG@10", MetricSpec("ndcg", 10)),
        (" recall@20 ", MetricSpec("recall", 20)),
        ("hr@5", MetricSpec("hit_rate", 5)),
        ("HitRate@5", MetricSpec("hit_rate", 5)),
        ("map@10", MetricSpec("map", 10)),
        ("f1@3", MetricSpec("f1", 3)),
        ("ild@10", MetricSpec("diversity", 10)),
        ("ndcg@10[sampled:100]", MetricSpec("ndcg", 10, 100)),
        ("ungrounded", MetricSpec("ungrounded", None)),
    ],
)
def test_parse_forms(text: str, spec: MetricSpec) -> None:
    assert parse_metric(text) == spec


def test_round_trip_of_every_name() -> None:
    for name in METRIC_NAMES:
        text = name if name == "ungrounded" else f"{name}@7"
        assert str(parse_metric(text)) == text
    assert str(parse_metric("recall@5[sampled:50]")) == "recall@5[sampled:50]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ndgc@10", "valid names: recall"),
        ("ndcg", "needs a cut-off"),
        ("ndcg@0", "at least 1"),
        ("ndcg@-1", "at least 1"),
        ("ndcg@ten", "whole number"),
        ("coverage@10[sampled:5]", "no sampled-negative variant"),
        ("ndcg@10[sampled:0]", "at least 1"),
        ("ungrounded@5", "takes no cut-off"),
        ("@10", "cannot read"),
    ],
)
def test_bad_names_say_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_metric(text)


def test_parse_metrics_keeps_order_and_drops_repeats() -> None:
    assert [str(s) for s in parse_metrics("recall@10, ndcg@10,RECALL@10,")] == [
        "recall@10",
        "ndcg@10",
    ]
    with pytest.raises(ValueError, match="no metric"):
        parse_metrics(" , ")
