"""Metric names, parsed in exactly one place.

A name is ``<metric>@<k>`` (``ndcg@10``, ``recall@20``), optionally followed by
``[sampled:<n>]`` for the sampled-negative variant (each held-out item ranked against
``n`` sampled items the user never interacted with instead of the whole catalog), which is
only computed when asked for and always carries that label. ``ungrounded`` (the share of
an explanation's mentions that its evidence does not support) takes no cut-off.

Example:
    >>> parse_metric("NDCG@10")
    MetricSpec(name='ndcg', k=10, sampled=None)
    >>> str(parse_metric("hr@5[sampled:100]"))
    'hit_rate@5[sampled:100]'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ACCURACY",
    "BEYOND_ACCURACY",
    "METRIC_NAMES",
    "MetricSpec",
    "parse_metric",
    "parse_metrics",
]

# Metrics computed from which ranked items are relevant (one value per user).
ACCURACY: tuple[str, ...] = ("recall", "precision", "f1", "ndcg", "mrr", "hit_rate", "map")
# Metrics about what is recommended rather than whether it was right.
BEYOND_ACCURACY: tuple[str, ...] = ("coverage", "novelty", "diversity")
EXPLANATION: tuple[str, ...] = ("ungrounded",)
METRIC_NAMES: tuple[str, ...] = ACCURACY + BEYOND_ACCURACY + EXPLANATION

_ALIASES = {
    "hitrate": "hit_rate",
    "hit-rate": "hit_rate",
    "hit": "hit_rate",
    "hr": "hit_rate",
    "rr": "mrr",
    "ap": "map",
    "ild": "diversity",
    "intra_list_diversity": "diversity",
    "catalog_coverage": "coverage",
    "ungrounded_rate": "ungrounded",
}
_PATTERN = re.compile(
    r"^(?P<name>[a-z][a-z0-9_\-]*)(?:@(?P<k>[^\[\]]*))?(?:\[sampled:(?P<n>[^\]]*)\])?$"
)


@dataclass(frozen=True, order=True)
class MetricSpec:
    """A parsed metric name.

    Attributes:
        name: Canonical name, one of :data:`METRIC_NAMES`.
        k: Cut-off (``None`` only for ``ungrounded``).
        sampled: Number of sampled negatives, or ``None`` for full ranking.
    """

    name: str
    k: int | None
    sampled: int | None = None

    @property
    def kind(self) -> Literal["accuracy", "beyond", "explanation"]:
        if self.name in ACCURACY:
            return "accuracy"
        if self.name in BEYOND_ACCURACY:
            return "beyond"
        return "explanation"

    @property
    def full(self) -> MetricSpec:
        """The same metric over the full ranking."""
        return MetricSpec(self.name, self.k, None)

    def __str__(self) -> str:
        text = self.name if self.k is None else f"{self.name}@{self.k}"
        return text if self.sampled is None else f"{text}[sampled:{self.sampled}]"


def parse_metric(text: str | MetricSpec) -> MetricSpec:
    """Parse ``"ndcg@10"``-style names (case-insensitive, aliases such as ``hr`` accepted).

    Raises:
        ValueError: for an unknown name, a missing or non-positive cut-off, or a sampled
            variant of a metric that has none; the message lists what is allowed.
    """
    if isinstance(text, MetricSpec):
        return text
    raw = str(text)
    m = _PATTERN.match(raw.strip().lower().replace(" ", ""))
    if m is None:
        raise ValueError(
            f"cannot read the metric name {raw!r}; write it as NAME@K, e.g. "
            f"'ndcg@10' or 'recall@20[sampled:100]'"
        )
    name = _ALIASES.get(m.group("name"), m.group("name")).replace("-", "_")
    if name not in METRIC_NAMES:
        raise ValueError(
            f"unknown metric {m.group('name')!r} in {raw!r}; valid names: {', '.join(METRIC_NAMES)}"
        )
    k_text, n_text = m.group("k"), m.group("n")
    if name in EXPLANATION:
        if k_text is not None or n_text is not None:
            raise ValueError(f"{name!r} takes no cut-off or sampling; write just {name!r}")
        return MetricSpec(name, None, None)
    if k_text is None:
        raise ValueError(f"metric {raw!r} needs a cut-off; write it as '{name}@10'")
    k = _positive_int(k_text, f"the cut-off in {raw!r}")
    sampled = None
    if n_text is not None:
        if name not in ACCURACY:
            raise ValueError(
                f"{name!r} has no sampled-negative variant; only {', '.join(ACCURACY)} do"
            )
        sampled = _positive_int(n_text, f"the number of sampled negatives in {raw!r}")
    return MetricSpec(name, k, sampled)


def parse_metrics(texts: str | list[str] | tuple[str, ...]) -> list[MetricSpec]:
    """Parse a comma-separated string or a list of names, keeping order, dropping repeats."""
    items = texts.split(",") if isinstance(texts, str) else list(texts)
    out: dict[MetricSpec, None] = {}
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        out.setdefault(parse_metric(item), None)
    if not out:
        raise ValueError("no metric given; e.g. 'ndcg@10,recall@10'")
    return list(out)


def _positive_int(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what} must be a whole number, got {text!r}") from None
    if value < 1:
        raise ValueError(f"{what} must be at least 1, got {value}")
    return value
