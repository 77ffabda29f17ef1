"""Grounding of explanations: how many of the things an explanation mentions (titles,
people, genres, years…) are not in the evidence it was given.

Example:
    >>> vocab = ["Arrival", "Denis Villeneuve", "science fiction", "horror"]
    >>> found = [find_mentions("Arrival, by Denis Villeneuve, is science fiction.", vocab),
    ...          find_mentions("A horror classic.", vocab)]
    >>> found
    [['arrival', 'denis villeneuve', 'science fiction'], ['horror']]
    >>> ungrounded_rate(found, [{"Arrival", "science fiction", "Denis Villeneuve"}, {"drama"}])
    0.25
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence

import numpy as np

__all__ = ["find_mentions", "ungrounded_per_explanation", "ungrounded_rate"]


def _norm(text: str) -> str:
    return " ".join(str(text).lower().split())


def find_mentions(text: str, vocabulary: Iterable[str]) -> list[str]:
    """The vocabulary terms (normalised to lower case) that occur in ``text`` as whole
    words, longest first so that "star wars" is found once and not also as "star"."""
    haystack = _norm(text)
    first: dict[str, int] = {}
    taken = np.zeros(len(haystack) + 1, dtype=bool)
    for term in sorted({_norm(t) for t in vocabulary if _norm(t)}, key=lambda t: (-len(t), t)):
        for m in re.finditer(r"(?<!\w)" + re.escape(term) + r"(?!\w)", haystack):
            if not taken[m.start() : m.end()].any():
                taken[m.start() : m.end()] = True
                first.setdefault(term, m.start())
    return sorted(first, key=first.__getitem__)


def ungrounded_per_explanation(
    mentions: Sequence[Collection[str]], evidence: Sequence[Collection[str]]
) -> np.ndarray:
    """Per explanation, the share of its mentions absent from its evidence (NaN when it
    mentions nothing). Comparison ignores case and repeated spaces."""
    if len(mentions) != len(evidence):
        raise ValueError(
            f"got {len(mentions)} mention lists but {len(evidence)} evidence sets; "
            "give one evidence set per explanation"
        )
    out = np.full(len(mentions), np.nan)
    for i, (said, allowed) in enumerate(zip(mentions, evidence, strict=True)):
        said_n = {_norm(m) for m in said if _norm(m)}
        if said_n:
            allowed_n = {_norm(e) for e in allowed}
            out[i] = len(said_n - allowed_n) / len(said_n)
    return out


def ungrounded_rate(
    mentions: Sequence[Collection[str]], evidence: Sequence[Collection[str]]
) -> float:
    """Ungrounded mentions over all mentions, pooled over explanations (0 when nothing is
    mentioned at all)."""
    if len(mentions) != len(evidence):
        raise ValueError(
            f"got {len(mentions)} mention lists but {len(evidence)} evidence sets; "
            "give one evidence set per explanation"
        )
    total = bad = 0
    for said, allowed in zip(mentions, evidence, strict=True):
        said_n = {_norm(m) for m in said if _norm(m)}
        allowed_n = {_norm(e) for e in allowed}
        total += len(said_n)
        bad += len(said_n - allowed_n)
    return bad / total if total else 0.0
