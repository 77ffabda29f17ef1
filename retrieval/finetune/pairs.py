"""Contrastive pairs for fine-tuning the encoder: mined from who consumed what (``history``
and ``item`` pairs) and from request sets (``request`` pairs), with the splits and cut-offs
that keep evaluation data out of them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from retrieval.catalog import Catalog
from retrieval.encoder import history_text, item_text
from retrieval.errors import DataError
from retrieval.interactions import Interactions

PAIR_KINDS = ("history", "item", "request")


@dataclass(frozen=True)
class TrainingPair:
    """One (anchor, positive) text pair and where it came from.

    Attributes:
        anchor: Anchor text (history text, item text or request).
        positive: Text of the target item.
        kind: ``history``, ``item`` or ``request``.
        target_id: Catalog id of the target item.
        source_ids: Catalog ids named in the anchor (empty for requests).
        user_id: The user whose interactions produced the pair, if any.
    """

    anchor: str
    positive: str
    kind: str
    target_id: str
    source_ids: tuple[str, ...] = ()
    user_id: str | None = None


@dataclass(frozen=True)
class RequestExample:
    """A request and the items that answered it (one line of a request set)."""

    request: str
    targets: tuple[str, ...]
    user_id: str | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class MiningConfig:
    """How pairs are mined from interactions.

    Attributes:
        max_pairs: Pairs mined in all (request pairs included); fixes the training cost.
        history_share: Share of the interaction pairs that are ``history`` pairs; the rest
            are ``item`` pairs.
        request_share: At most this share of ``max_pairs`` are ``request`` pairs.
        history_items: Items named in a history text (most recent first).
        min_history: A ``history`` pair needs at least this many earlier items.
        item_window: An ``item`` pair joins items at most this many positions apart in a
            user's time-ordered history.
        max_gap_seconds: ...and at most this far apart in time (``None``: no limit).
        dislike_rating: Ratings at or below this are dislikes and mined from nowhere.
    """

    max_pairs: int = 12_000
    history_share: float = 0.5
    request_share: float = 0.25
    history_items: int = 3
    min_history: int = 3
    item_window: int = 5
    max_gap_seconds: int | None = 30 * 86_400
    dislike_rating: float = 2.0

    def __post_init__(self) -> None:
        if self.max_pairs < 1:
            raise ValueError(f"max_pairs must be positive, got {self.max_pairs}")
        for name in ("history_share", "request_share"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {v}")
        for name in ("history_items", "min_history", "item_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


# -- splitting and filtering -----------------------------------------------------------------


def positive_mask(df: pd.DataFrame, dislike_rating: float = 2.0) -> np.ndarray:
    """Rows that say the user consumed and did not dislike the item: plays, likes and
    ratings above ``dislike_rating`` (dislikes and skips are not positives)."""
    event = df["event"].astype(str).to_numpy()
    value = df["value"].to_numpy(dtype=float)
    return ((event == "play") | (event == "like")
            | ((event == "rating") & (value > dislike_rating)))


def _sorted_frame(interactions: Interactions) -> pd.DataFrame:
    """Rows ordered by user, then time, simultaneous interactions by item id: the order
    ``eval.protocols`` holds out by, so "the last item" means the same thing there."""
    from retrieval.stats import sequence_order

    df = interactions.df
    if not len(df):
        return df.reset_index(drop=True)
    return df.iloc[sequence_order(df)].reset_index(drop=True)


def leave_one_out(interactions: Interactions) -> tuple[Interactions, pd.DataFrame]:
    """Hold out each user's last interaction by timestamp (simultaneous ones ordered by
    item id, as ``eval.protocols.leave_one_out`` does by default).

    Users with a single interaction keep it in training and have no test row.

    Returns:
        ``(train, test)``: the training log, and one test row per user as a DataFrame.
    """
    df = _sorted_frame(interactions)
    user = df["user_id"].cat.codes.to_numpy()
    is_last = np.ones(len(df), dtype=bool)
    is_last[:-1] = user[:-1] != user[1:]
    counts = df.groupby("user_id", observed=True)["item_id"].transform("size").to_numpy()
    test_mask = is_last & (counts >= 2)
    return Interactions(df[~test_mask]), df[test_mask].reset_index(drop=True)


def parse_cutoff(value: str | int) -> int:
    """An evaluation cut-off as Unix seconds, from Unix seconds or an ISO-8601 date.

    Example:
        >>> parse_cutoff("1998-01-01"), parse_cutoff("893286638")
        (883612800, 893286638)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"cannot read the cut-off {text!r}; write Unix seconds or an ISO date "
                         "such as 1998-01-01") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def apply_cutoff(interactions: Interactions, cutoff: int | None) -> Interactions:
    """Drop interactions after ``cutoff`` (Unix seconds); rows without a time are kept only
    when there is no cutoff."""
    if cutoff is None:
        return interactions
    ts = interactions.df["timestamp"]
    keep = (ts.notna() & (ts <= cutoff)).to_numpy(dtype=bool)
    return Interactions(interactions.df[keep])


# -- mining ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PositiveRows:
    """The positive interactions of items in the catalog, ordered by user, then time."""

    items: np.ndarray  # catalog id per row
    users: np.ndarray  # user id per row
    user_codes: np.ndarray  # user as an integer code, to compare neighbouring rows
    ts: np.ndarray  # Unix seconds, NaN where unknown
    pos_in_user: np.ndarray  # how many earlier rows the same user has

    @classmethod
    def build(cls, catalog: Catalog, log_: Interactions, dislike_rating: float) -> _PositiveRows:
        df = _sorted_frame(log_)
        df = df[positive_mask(df, dislike_rating)]
        items = df["item_id"].astype(str).to_numpy()
        in_catalog = np.fromiter((i in catalog for i in items), dtype=bool, count=len(items))
        df = df[in_catalog].reset_index(drop=True)
        return cls(
            items=items[in_catalog],
            users=df["user_id"].astype(str).to_numpy(),
            user_codes=df["user_id"].cat.codes.to_numpy(),
            ts=df["timestamp"].to_numpy(dtype=np.float64, na_value=np.nan),
            pos_in_user=df.groupby("user_id", observed=True).cumcount().to_numpy(),
        )

    def __len__(self) -> int:
        return len(self.items)


class _ItemTexts:
    """Item texts, each built once."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._texts: dict[str, str] = {}

    def __call__(self, item_id: str) -> str:
        t = self._texts.get(item_id)
        if t is None:
            t = self._texts[item_id] = item_text(self._catalog[item_id])
        return t


def mine_pairs(
    catalog: Catalog,
    interactions: Interactions,
    *,
    config: MiningConfig = MiningConfig(),
    requests: Iterable[RequestExample] = (),
    cutoff: int | None = None,
    seed: int = 0,
) -> list[TrainingPair]:
    """Mine training pairs from a (training) interaction log and request examples.

    Pass only training interactions: everything given here may end up in a pair. Items
    missing from the catalog are skipped.

    Args:
        catalog: Items, for their texts.
        interactions: The training log.
        config: How many pairs of each kind, and how they are formed.
        requests: Request examples (request text -> target items).
        cutoff: Ignore interactions and requests after this Unix time.
        seed: Seeds the sampling; the same inputs and seed give the same pairs.

    Returns:
        Pairs in a seeded random order.
    """
    rng = np.random.default_rng(seed)
    rows = _PositiveRows.build(catalog, apply_cutoff(interactions, cutoff), config.dislike_rating)
    text_of = _ItemTexts(catalog)

    # Request pairs first: they are scarce and the only ones that teach request language.
    req_pairs = _request_pairs(catalog, requests, cutoff, text_of)
    n_req = min(len(req_pairs), int(config.max_pairs * config.request_share))
    if n_req < len(req_pairs):
        keep = rng.choice(len(req_pairs), size=n_req, replace=False)
        req_pairs = [req_pairs[i] for i in sorted(keep)]

    budget = config.max_pairs - len(req_pairs)
    # Candidate positions: history pairs end at a row with enough earlier rows of its user.
    hist_rows = np.flatnonzero(rows.pos_in_user >= config.min_history)
    item_a, item_b = _item_pair_rows(rows, config)

    n_hist = min(len(hist_rows), int(round(budget * config.history_share)))
    n_item = min(len(item_a), budget - n_hist)
    if n_item < budget - n_hist:  # not enough item pairs: give the rest to history pairs
        n_hist = min(len(hist_rows), budget - n_item)

    pairs: list[TrainingPair] = list(req_pairs)
    if n_hist:
        chosen = np.sort(rng.choice(hist_rows, size=n_hist, replace=False))
        pairs.extend(_history_pairs(catalog, rows, chosen, config.history_items, text_of))
    if n_item:
        pick = np.sort(rng.choice(len(item_a), size=n_item, replace=False))
        swap = rng.random(n_item) < 0.5  # the relation is symmetric: train both directions
        pairs.extend(_item_pairs(rows, item_a[pick], item_b[pick], swap, text_of))
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order]


def _request_pairs(catalog: Catalog, requests: Iterable[RequestExample], cutoff: int | None,
                   text_of: _ItemTexts) -> list[TrainingPair]:
    """One pair per (request, target in the catalog), requests after ``cutoff`` left out."""
    req_pairs: list[TrainingPair] = []
    for ex in requests:
        if cutoff is not None and ex.timestamp is not None and ex.timestamp > cutoff:
            continue
        if not ex.request.strip():
            continue
        for target in ex.targets:
            if target in catalog:
                req_pairs.append(TrainingPair(anchor=ex.request.strip(), positive=text_of(target),
                                              kind="request", target_id=target,
                                              user_id=ex.user_id))
    return req_pairs


def _item_pair_rows(rows: _PositiveRows, config: MiningConfig) -> tuple[np.ndarray, np.ndarray]:
    """Item pairs: rows ``(a, a + d)`` of the same user, ``d <= item_window``, two different
    items close enough in time."""
    user_codes, items, ts = rows.user_codes, rows.items, rows.ts
    item_a, item_b = [], []
    for d in range(1, config.item_window + 1):
        a = np.arange(len(rows) - d)
        b = a + d
        ok = (user_codes[a] == user_codes[b]) & (items[a] != items[b])
        if config.max_gap_seconds is not None:
            gap = np.abs(ts[b] - ts[a])
            ok &= ~(gap > config.max_gap_seconds)  # a missing time does not disqualify
        item_a.append(a[ok])
        item_b.append(b[ok])
    item_a_arr = np.concatenate(item_a) if item_a else np.zeros(0, dtype=np.int64)
    item_b_arr = np.concatenate(item_b) if item_b else np.zeros(0, dtype=np.int64)
    return item_a_arr, item_b_arr


def _history_pairs(catalog: Catalog, rows: _PositiveRows, chosen: np.ndarray,
                   history_items: int, text_of: _ItemTexts) -> list[TrainingPair]:
    """A pair per chosen row: the user's preceding items' text -> the row's item."""
    items, user_codes = rows.items, rows.user_codes
    # Row start of each user's block, to slice a history.
    starts = np.flatnonzero(np.r_[True, user_codes[1:] != user_codes[:-1]])
    block_start = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    pairs = []
    for r in chosen.tolist():
        lo = max(block_start[r], r - history_items)
        # A re-watch of the target would make the pair trivial: leave it out.
        hist_ids = [i for i in items[lo:r].tolist() if i != items[r]]
        if not hist_ids:
            continue
        anchor = history_text([catalog[i] for i in hist_ids], max_items=history_items)
        pairs.append(TrainingPair(anchor=anchor, positive=text_of(items[r]), kind="history",
                                  target_id=str(items[r]), source_ids=tuple(hist_ids),
                                  user_id=str(rows.users[r])))
    return pairs


def _item_pairs(rows: _PositiveRows, rows_a: np.ndarray, rows_b: np.ndarray, swap: np.ndarray,
                text_of: _ItemTexts) -> list[TrainingPair]:
    """A pair per ``(a, b)`` row pair, turned around where ``swap`` says so."""
    items, users = rows.items, rows.users
    pairs = []
    for a, b, s in zip(rows_a.tolist(), rows_b.tolist(), swap.tolist(), strict=True):
        if s:
            a, b = b, a
        pairs.append(TrainingPair(anchor=text_of(items[a]), positive=text_of(items[b]),
                                  kind="item", target_id=str(items[b]),
                                  source_ids=(str(items[a]),), user_id=str(users[a])))
    return pairs


def read_request_set(path: str | Path) -> list[RequestExample]:
    """Read a request set: JSON Lines with ``request`` (or ``text``), ``targets`` (or
    ``target_items``: a list of catalog ids), and optional ``user`` and ``timestamp``.

    Raises:
        DataError: a line that is not JSON or lacks a field (the line is named).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError("request set not found", path=p, fix="pass a JSON Lines file")
    out = []
    with open(p, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as exc:
                raise DataError(f"not JSON ({exc.args[0]})", path=p, line=n,
                                fix="write one JSON object per line") from None
            text = row.get("request", row.get("text")) if isinstance(row, dict) else None
            targets = row.get("targets", row.get("target_items")) if isinstance(row, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise DataError("missing or empty request text", path=p, line=n, field="request",
                                fix='add "request": "what the person asked for"')
            if isinstance(targets, str | int):
                targets = [targets]
            if not targets:
                raise DataError("missing target items", path=p, line=n, field="targets",
                                fix='add "targets": ["item-id", ...]')
            ts = row.get("timestamp")
            out.append(RequestExample(request=text, targets=tuple(str(t) for t in targets),
                                      user_id=None if row.get("user") is None else str(row["user"]),
                                      timestamp=None if ts is None else int(ts)))
    return out

