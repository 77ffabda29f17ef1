"""Running a request set through whole turns of any system.

A *turn function* is ``(user_id, request_text, history_item_ids, k) -> list[item_id]``;
the assistant plugs in as one, and :func:`as_turn` makes one of any
:class:`~eval.systems.Recommender` (which then ignores the text: a history-only
reference point).

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Item
    >>> cat = Catalog([Item(id=i, title=i, media_type="movie") for i in "abc"])
    >>> cases = [RequestCase(user_id="u", request="x", target_item_ids=["b"],
    ...                      history_item_ids=["a"])]
    >>> res = run_requests(cases, lambda user, text, history, k: ["c", "b"], cat, metrics=["mrr@2"],
    ...                    progress=False)
    >>> res.metrics["mrr@2"].mean, res.cases
    (0.5, 1)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from eval.conversational.requests import RequestCase
from eval.harness import MetricSummary, summarise, top_k
from eval.metrics import MetricContext, MetricSpec, Relevance, evaluate_ranking, parse_metric
from eval.systems import Recommender
from retrieval.catalog import Catalog
from retrieval.interactions import Interactions

__all__ = [
    "DEFAULT_REQUEST_METRICS",
    "RequestResult",
    "RequestSuite",
    "TurnFn",
    "as_turn",
    "history_lookup",
    "run_requests",
]

TurnFn = Callable[[str, str, list[str], int], list[str]]
DEFAULT_REQUEST_METRICS: tuple[str, ...] = ("hit_rate@10", "recall@10", "ndcg@10", "mrr@10")


@dataclass
class RequestResult:
    """Means over the evaluated cases, and the counts of what was skipped or went wrong."""

    metrics: dict[str, MetricSummary]
    cases: int
    counts: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    seconds: float = 0.0
    per_case: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


@dataclass
class RequestSuite:
    """A request set run through several systems.

    Attributes:
        source: The request file, or a note that the set was generated.
        cases: How many cases the set holds.
        counts: What was skipped while loading or generating it.
        results: Each system's :class:`RequestResult`.
        generated: The cases, when they were generated (to be saved with the report).
    """

    source: str
    cases: int
    counts: dict[str, int] = field(default_factory=dict)
    results: dict[str, RequestResult] = field(default_factory=dict)
    generated: list[RequestCase] | None = field(default=None, repr=False)


def as_turn(system: Recommender, catalog: Catalog) -> TurnFn:
    """A turn function from a fitted system: it scores from the history alone, removes the
    history, and returns the top ``k`` ids. A system with its own
    ``respond(user_id, request, history_item_ids, k)`` method is called through it instead."""
    respond = getattr(system, "respond", None)
    if callable(respond):
        return respond
    from scipy import sparse

    ids = catalog.ids
    pos = {item_id: i for i, item_id in enumerate(ids)}
    n_items = len(ids)

    def turn(user_id: str, request: str, history: list[str], k: int) -> list[str]:
        cols = sorted({pos[h] for h in history if h in pos})
        row = sparse.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), ([0] * len(cols), cols)), shape=(1, n_items)
        )
        scores = np.asarray(system.score([user_id], row), dtype=np.float32).copy()
        scores[0, cols] = -np.inf
        return [ids[i] for i in top_k(scores, k)[0] if i >= 0]

    return turn


def history_lookup(log: Interactions) -> Callable[[str, int | None], list[str]]:
    """A function giving a user's items in ``log``, oldest first, before a cut-off if given;
    used for cases whose file carries no ``history_item_ids``."""
    df = log.df
    by_user: dict[str, tuple[list[str], list[int | None]]] = {}
    if len(df):
        ordered = df.sort_values("timestamp", kind="stable", na_position="first")
        for user, grp in ordered.groupby(ordered["user_id"].astype(str), sort=False):
            ts = [
                None if v is None or v != v else int(v) for v in grp["timestamp"].astype("float64")
            ]
            by_user[str(user)] = ([str(i) for i in grp["item_id"]], ts)

    def lookup(user_id: str, cutoff_ts: int | None) -> list[str]:
        items, ts = by_user.get(user_id, ([], []))
        if cutoff_ts is None:
            return list(items)
        return [i for i, t in zip(items, ts, strict=True) if t is None or t < cutoff_ts]

    return lookup


def run_requests(
    cases: Sequence[RequestCase],
    turn: TurnFn,
    catalog: Catalog,
    *,
    k: int | None = None,
    metrics: Sequence[str] = DEFAULT_REQUEST_METRICS,
    history: Callable[[str, int | None], list[str]] | None = None,
    context: MetricContext | None = None,
    name: str = "system",
    progress: bool = True,
) -> RequestResult:
    """Send every case through ``turn`` and score what comes back.

    Targets already in the case's history are dropped (a case left without targets is
    skipped); returned ids that are not in the catalog, and repeats, are dropped; a turn
    that raises counts as an empty answer. All of these are counted.

    Args:
        k: How many items to ask each turn for (default and minimum: the largest cut-off
            among ``metrics``).
        history: Gives the history of cases that carry none (see :func:`history_lookup`).
    """
    from tqdm.auto import tqdm

    specs = [parse_metric(m) for m in metrics]
    k = max([k or 1] + [s.k or 0 for s in specs])
    if k > len(catalog):
        raise ValueError(
            f"K larger than the catalog: asked for {k} items but the catalog has "
            f"{len(catalog)}; use a cut-off of at most {len(catalog)}"
        )
    pos = {item_id: i for i, item_id in enumerate(catalog.ids)}
    counts = _Counts()
    ranked_rows: list[list[int]] = []
    relevant_rows: list[list[int]] = []
    first_error: str | None = None
    t0 = time.perf_counter()
    for case in tqdm(
        cases,
        desc=f"{name}: requests",
        unit="turn",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    ):
        hist = (
            list(case.history_item_ids)
            if case.history_item_ids is not None
            else (history(case.user_id, case.cutoff_ts) if history is not None else [])
        )
        hist_set = set(hist)
        targets = _case_targets(case, pos, hist_set, counts)
        if not targets:
            continue
        try:
            answer = list(turn(case.user_id, case.request, hist, k))
        except Exception as exc:  # a failing turn is measured, not fatal
            counts.bump("turns that raised an error (scored as empty answers)")
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            answer = []
        row = _answer_row(answer, pos, hist_set, k, counts)
        ranked_rows.append(row + [-1] * (k - len(row)))
        relevant_rows.append([pos[t] for t in targets])
    seconds = time.perf_counter() - t0
    return _score(specs, ranked_rows, relevant_rows, catalog, context, counts=dict(counts),
                  first_error=first_error, seconds=seconds)


def _score(specs: list[MetricSpec], ranked_rows: list[list[int]],
           relevant_rows: list[list[int]], catalog: Catalog, context: MetricContext | None, *,
           counts: dict[str, int], first_error: str | None, seconds: float) -> RequestResult:
    """The metrics of the answered cases (NaN over no cases)."""
    if not ranked_rows:
        return RequestResult(
            {str(s): MetricSummary(float("nan"), None, 0) for s in specs},
            0,
            counts,
            first_error,
            seconds,
        )
    ranked = np.asarray(ranked_rows, dtype=np.int64)
    relevance = Relevance.from_lists(relevant_rows)
    needs_context = any(s.kind == "beyond" for s in specs)
    values = evaluate_ranking(
        ranked,
        relevance,
        specs,
        context or (MetricContext(len(catalog)) if needs_context else None),
    )
    return RequestResult(
        metrics={str(s): summarise(values[str(s)]) for s in specs},
        cases=len(ranked_rows),
        counts=counts,
        first_error=first_error,
        seconds=seconds,
        per_case={key: v for key, v in values.items() if isinstance(v, np.ndarray) and v.ndim == 1},
    )


class _Counts(dict[str, int]):
    """What was dropped, skipped or failed, by description."""

    def bump(self, key: str, by: int = 1) -> None:
        if by:
            self[key] = self.get(key, 0) + by


def _case_targets(case: RequestCase, pos: dict[str, int], hist_set: set[str],
                  counts: _Counts) -> list[str]:
    """The case's catalog targets outside its history (empty: the case is skipped)."""
    targets = [t for t in dict.fromkeys(case.target_item_ids) if t in pos]
    dropped = [t for t in targets if t in hist_set]
    counts.bump("targets already in the case's history (dropped)", len(dropped))
    targets = [t for t in targets if t not in hist_set]
    if not targets:
        counts.bump("cases whose targets were all in the history (skipped)")
    return targets


def _answer_row(answer: Sequence[object], pos: dict[str, int], hist_set: set[str], k: int,
                counts: _Counts) -> list[int]:
    """Catalog positions of the first ``k`` answered ids, unknown ids and repeats dropped."""
    seen: set[str] = set()
    row: list[int] = []
    for item_id in answer:
        item_id = str(item_id)
        if item_id not in pos:
            counts.bump("returned ids not in the catalog (dropped)")
            continue
        if item_id in seen:
            counts.bump("repeated ids in an answer (dropped)")
            continue
        seen.add(item_id)
        if item_id in hist_set:
            counts.bump("returned items already in the history (kept)")
        row.append(pos[item_id])
    return row[:k] if len(row) > k else row
