"""Splitting an interaction log into training, validation and test parts.

Protocols, picked by name with :func:`make_split`:

- ``loo`` — leave-one-out by timestamp: each user's latest interaction is the test item
  (and, with a validation part, the one before it is the validation item);
- ``last`` — the latest ``fraction`` of each user's interactions (at least one, and never
  all of them);
- ``time`` — a global cut-off: everything before it trains, everything from it on tests;
- ``random`` — leave-one-out at random: each user's test item (and validation item) is
  picked by a seeded hash of (user, item), timestamps ignored; the protocol for a log
  without timestamps, which ``loo``, ``last`` and ``time`` refuse;
- ``external`` — a split made elsewhere, given as two logs (:func:`external_split`).

Before splitting, :func:`implicit_positives` turns a log into positive feedback: dislikes
and skips are dropped, ratings below an optional threshold too, and a user's repeated
interactions with an item collapse into the first one.

A log without timestamps has no order: ``loo``, ``last`` and ``time`` raise a
:class:`DataError` that names ``random`` and ``--train/--test``. The counts of a split say
how many training users have no timestamp at all; Encore treats their histories as
unordered (``retrieval.stats.unordered_rows``).

Ties in time decide a lot: in ml-100k, 415 of 943 users rated several films in the very
second of their last rating, and which of those becomes the test item moves popularity's
NDCG@10 between 0.025 and 0.057 in our runs. So the order of simultaneous interactions is explicit
(``tie_break``) and never depends on the file's row order by default:

- ``item`` (default): by item id, numerically when every id is a whole number; the
  latest-by-id item is held out. The usual convention (sorting a (user, item)-sorted log by
  time with a stable sort), and reproduces commonly quoted ml-100k figures.
- ``random``: by a seeded hash of (user, item), unbiased and still file-order-free.
- ``order``: the log's own row order.

Example:
    >>> from retrieval.models import Interaction
    >>> log = Interactions.from_records(
    ...     Interaction(user_id="u", item_id=i, timestamp=t) for t, i in enumerate("abc"))
    >>> split = leave_one_out(log, valid=True)
    >>> [part.df["item_id"].tolist() for part in (split.train, split.valid, split.test)]
    [['a'], ['b'], ['c']]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from retrieval.errors import DataError
from retrieval.interactions import Interactions

__all__ = [
    "PROTOCOLS",
    "Split",
    "TIE_BREAKS",
    "external_split",
    "implicit_positives",
    "last_fraction",
    "leave_one_out",
    "make_split",
    "parse_cutoff",
    "random_holdout",
    "time_cutoff",
]

NEGATIVE_EVENTS = ("dislike", "skip")


@dataclass(frozen=True)
class Split:
    """A training, a validation and a test log that share no interaction.

    Attributes:
        train: What systems are fitted on when tuning on ``valid``.
        valid: Held out for tuning; empty unless asked for. Final test runs fit on
            ``train`` + ``valid`` (see :meth:`fit_data`), never on ``test``.
        test: Held out for the reported numbers.
        protocol: Short name (``loo``, ``last``, ``time``, ``external``).
        description: One line for reports, with the protocol's settings.
        counts: Things skipped or dropped while splitting, by description.
    """

    train: Interactions
    valid: Interactions
    test: Interactions
    protocol: str
    description: str
    counts: dict[str, int] = field(default_factory=dict)

    def fit_data(self, on: str = "test") -> Interactions:
        """The log to fit on before evaluating on ``on`` (``"test"`` or ``"valid"``)."""
        if on == "valid":
            if len(self.valid) == 0:
                raise ValueError(
                    "this split has no validation part; make it with valid=True (CLI: --valid)"
                )
            return self.train
        if on != "test":
            raise ValueError(f"evaluate on 'test' or 'valid', got {on!r}")
        return self.train if len(self.valid) == 0 else self.train.concat(self.valid)

    def target(self, on: str = "test") -> Interactions:
        """The held-out log for ``on`` (``"test"`` or ``"valid"``)."""
        if on not in ("test", "valid"):
            raise ValueError(f"evaluate on 'test' or 'valid', got {on!r}")
        if on == "valid" and len(self.valid) == 0:
            raise ValueError(
                "this split has no validation part; make it with valid=True (CLI: --valid)"
            )
        return self.test if on == "test" else self.valid


def implicit_positives(
    log: Interactions, *, min_value: float | None = None
) -> tuple[Interactions, dict[str, int]]:
    """Keep positive feedback only: drop dislikes and skips, ratings below ``min_value``
    (all ratings count when it is ``None``), and repeats of a (user, item) pair after the
    earliest. Returns the log and counts of what was dropped."""
    df = log.df
    event = df["event"].astype(str)
    keep = ~event.isin(NEGATIVE_EVENTS).to_numpy()
    counts: dict[str, int] = {}
    if n := int((~keep).sum()):
        counts["negative interactions dropped (dislike, skip)"] = n
    if min_value is not None:
        low = ((event == "rating") & (df["value"] < min_value)).to_numpy() & keep
        if n := int(low.sum()):
            counts[f"ratings below {min_value:g} dropped"] = n
        keep &= ~low
    kept = df[keep]
    order = _time_order(kept)
    ordered = kept.iloc[order]
    dup = ordered.duplicated(["user_id", "item_id"], keep="first").to_numpy()
    if n := int(dup.sum()):
        counts["repeat interactions with the same item dropped (the first is kept)"] = n
    first = np.sort(order[~dup])  # back to the log's order
    return Interactions(kept.iloc[first].reset_index(drop=True)), counts


def leave_one_out(
    log: Interactions, *, valid: bool = False, tie_break: str = "item", seed: int = 0
) -> Split:
    """Each user's latest interaction is held out for testing (and the one before it for
    validation when ``valid``). Users with a single interaction stay in training and are
    not evaluated; they are counted. ``tie_break`` orders simultaneous interactions (see
    the module docstring); ``seed`` feeds ``tie_break="random"``."""
    _require_timestamps(log, "leave-one-out by timestamp")
    df = log.df
    from_end, size = _position_from_end(df, tie_break, seed)
    test = (from_end == 0) & (size >= 2)
    val = (from_end == 1) & (size >= 3) if valid else np.zeros(len(df), dtype=bool)
    counts: dict[str, int] = {}
    _count_users(
        counts, df, size == 1, "users with a single interaction (kept in training, not evaluated)"
    )
    if valid:
        _count_users(
            counts,
            df,
            size == 2,
            "users with two interactions (no validation item; tested on the latest)",
        )
    desc = "leave-one-out by timestamp (each user's latest interaction is the test item" + (
        "; the one before it is the validation item)" if valid else ")"
    )
    return _make(df, test, val, "loo", desc, counts)


def last_fraction(
    log: Interactions,
    fraction: float = 0.2,
    *,
    valid: bool = False,
    tie_break: str = "item",
    seed: int = 0,
) -> Split:
    """The latest ``ceil(fraction * n)`` of each user's ``n`` interactions are held out for
    testing (at least one, at most ``n - 1``); with ``valid``, the same share of what is
    left before them is held out for validation (when at least one item stays in training)."""
    if not 0 < fraction < 1:
        raise ValueError(f"the test fraction must lie strictly between 0 and 1, got {fraction}")
    _require_timestamps(log, "the last-fraction protocol")
    df = log.df
    from_end, size = _position_from_end(df, tie_break, seed)
    n_test = np.minimum(np.ceil(fraction * size - 1e-9), size - 1)
    test = from_end < n_test
    if valid:
        rest = size - n_test
        n_val = np.minimum(np.ceil(fraction * rest - 1e-9), rest - 1)
        val = (from_end >= n_test) & (from_end < n_test + n_val)
    else:
        val = np.zeros(len(df), dtype=bool)
    counts: dict[str, int] = {}
    _count_users(
        counts, df, size == 1, "users with a single interaction (kept in training, not evaluated)"
    )
    desc = f"last {fraction:.0%} of each user's interactions by timestamp" + (
        f" (and the {fraction:.0%} before them for validation)" if valid else ""
    )
    return _make(df, test, val, "last", desc, counts)


def random_holdout(log: Interactions, *, valid: bool = False, seed: int = 0) -> Split:
    """Leave-one-out at random: each user's test interaction is picked by a seeded hash of
    (user, item), and with ``valid`` a second one for validation; timestamps, present or
    not, play no part. The standard protocol for a log without timestamps. Users with a
    single interaction stay in training and are not evaluated; they are counted.

    Example:
        >>> from retrieval.models import Interaction
        >>> log = Interactions.from_records(
        ...     Interaction(user_id="u", item_id=i) for i in "abcd")
        >>> split = random_holdout(log, valid=True, seed=1)
        >>> len(split.train), len(split.valid), len(split.test)
        (2, 1, 1)
    """
    if len(log) == 0:
        raise DataError("the interaction log is empty", fix="load a data set with interactions")
    df = log.df
    from_end, size = _position_from_end(df, "random", seed, by_time=False)
    test = (from_end == 0) & (size >= 2)
    val = (from_end == 1) & (size >= 3) if valid else np.zeros(len(df), dtype=bool)
    counts: dict[str, int] = {}
    _count_users(
        counts, df, size == 1, "users with a single interaction (kept in training, not evaluated)"
    )
    _count_unordered(counts, df[~(test | val)])
    desc = f"random leave-one-out (seed {seed}; each user's test item picked at random" + (
        ", and a validation item)" if valid else ")"
    )
    return _make(df, test, val, "random", desc, counts)


def time_cutoff(
    log: Interactions, cutoff: int | float | str | None = None, *, valid: bool = False
) -> Split:
    """Interactions before ``cutoff`` train, the rest test.

    Args:
        cutoff: Unix seconds, an ISO-8601 date, or a fraction in (0, 1) meaning that
            quantile of all timestamps (default 0.8).
        valid: Also cut the training part at the same quantile of its own timestamps; the
            later piece is the validation part.
    """
    _require_timestamps(log, "the global time cut-off")
    df = log.df
    ts = df["timestamp"].to_numpy(dtype=np.int64)
    cut = _resolve_cutoff(parse_cutoff(0.8 if cutoff is None else cutoff), ts)
    test = ts >= cut
    if not test.any() or test.all():
        lo, hi = _iso(int(ts.min())), _iso(int(ts.max()))
        raise DataError(
            f"the cut-off {_iso(cut)} leaves {'no' if not test.any() else 'every'} "
            f"interaction for testing (the log runs from {lo} to {hi})",
            field="cutoff",
            fix="pick a cut-off inside the log's time range, or a fraction such as 0.8",
        )
    val = np.zeros(len(df), dtype=bool)
    desc = f"global time cut-off at {_iso(cut)}"
    if valid:
        q = parse_cutoff(0.8 if cutoff is None else cutoff)
        frac = q if isinstance(q, float) else float(np.mean(ts < cut))
        before = ts[~test]
        vcut = int(np.quantile(before, frac, method="lower")) if before.size else cut
        val = (~test) & (ts >= vcut)
        desc += f" (validation from {_iso(vcut)})"
    counts: dict[str, int] = {}
    train_users = set(df.loc[~test & ~val, "user_id"].astype(str))
    cold = ~df["user_id"].astype(str).isin(train_users).to_numpy() & (test | val)
    _count_users(
        counts,
        df,
        cold,
        "users with held-out interactions but no training history (cold start; not evaluated)",
    )
    return _make(df, test, val, "time", desc, counts)


def external_split(
    train: Interactions,
    test: Interactions,
    *,
    valid: bool = False,
    tie_break: str = "item",
    seed: int = 0,
) -> Split:
    """A split made elsewhere. With ``valid``, each training user's latest interaction is
    moved into a validation part (the training log needs timestamps for that)."""
    if len(train) == 0:
        raise DataError(
            "the training log is empty",
            field="train",
            fix="give a training file with at least one interaction",
        )
    if len(test) == 0:
        raise DataError(
            "the test log is empty",
            field="test",
            fix="give a test file with at least one interaction",
        )
    valid_part = Interactions.empty()
    desc = "split given as two files (train, test)"
    if valid and train.has_timestamps:
        inner = leave_one_out(train, valid=False, tie_break=tie_break, seed=seed)
        train, valid_part = inner.train, inner.test
        desc += "; validation = each training user's latest training interaction"
    elif valid:
        # Without a timestamp on every row there is no "latest": pick at random (seeded).
        inner = random_holdout(train, valid=False, seed=seed)
        train, valid_part = inner.train, inner.test
        desc += ("; validation = one training interaction per user picked at random (the "
                 "training log lacks timestamps)")
    counts: dict[str, int] = {}
    _count_unordered(counts, train.df)
    return Split(train, valid_part, test, "external", desc, counts)


def parse_cutoff(value: int | float | str) -> int | float:
    """``0.8`` (a quantile) stays a float; Unix seconds and ISO-8601 dates become int.

    Example:
        >>> parse_cutoff("0.75"), parse_cutoff("1998-01-01"), parse_cutoff(893286638)
        (0.75, 883612800, 893286638)
    """
    if isinstance(value, bool):
        raise ValueError(f"a cut-off must be a date, Unix seconds or a fraction, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"cannot read the cut-off {text!r}; write a fraction such as "
                    "0.8, Unix seconds, or an ISO date such as 1998-01-01"
                ) from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            return int(dt.timestamp())
    if isinstance(value, float):
        if 0 < value < 1:
            return value
        if value.is_integer() and value >= 1:
            return int(value)
        raise ValueError(f"a numeric cut-off is a fraction in (0, 1) or Unix seconds, got {value}")
    return int(value)


def _resolve_cutoff(cutoff: int | float, ts: np.ndarray) -> int:
    if isinstance(cutoff, float):
        # The first timestamp above the quantile, so a fraction q keeps about q for training.
        return int(np.quantile(ts, cutoff, method="higher"))
    return int(cutoff)


PROTOCOLS: dict[str, Callable[..., Split]] = {
    "loo": leave_one_out,
    "last": last_fraction,
    "time": time_cutoff,
    "random": random_holdout,
}


def make_split(name: str, log: Interactions, **options: Any) -> Split:
    """Split ``log`` with the protocol called ``name`` (``loo``, ``last``, ``time``,
    ``random``); ``options`` go to it (``valid``, ``fraction``, ``cutoff``, ``seed``).

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    aliases = {
        "leave-one-out": "loo",
        "last-fraction": "last",
        "cutoff": "time",
        "time-cutoff": "time",
        "global-time": "time",
        "random-holdout": "random",
        "loo-random": "random",
    }
    key = aliases.get(name.strip().lower(), name.strip().lower())
    if key not in PROTOCOLS:
        raise ValueError(
            f"unknown protocol {name!r}; valid names: {', '.join(PROTOCOLS)} "
            "(or give --train FILE --test FILE for a split made elsewhere)"
        )
    return PROTOCOLS[key](log, **options)


# --- helpers -----------------------------------------------------------------------------


def _require_timestamps(log: Interactions, what: str) -> None:
    if len(log) == 0:
        raise DataError(
            "the interaction log is empty",
            field="timestamp",
            fix="load a data set with interactions",
        )
    if not log.has_timestamps:
        missing = int(log.df["timestamp"].isna().sum())
        raise DataError(
            f"{what} needs a timestamp on every interaction, but {missing} of {len(log)} have none",
            field="timestamp",
            fix="add Unix-second or ISO-8601 timestamps, split at random with --protocol "
            "random, or give a split made elsewhere with --train FILE --test FILE",
        )


TIE_BREAKS = ("item", "random", "order")


def _tie_key(df: pd.DataFrame, tie_break: str, seed: int) -> np.ndarray:
    """A per-row key that orders interactions sharing a user and a timestamp."""
    if tie_break == "order":
        return np.arange(len(df))
    if tie_break == "item":
        cats = df["item_id"].cat.categories.astype(str)
        numeric = pd.to_numeric(pd.Series(cats), errors="coerce")
        if len(cats) and numeric.notna().all() and (numeric % 1 == 0).all():
            rank = np.argsort(np.argsort(numeric.to_numpy(), kind="stable"), kind="stable")
        else:
            rank = np.argsort(
                np.argsort(np.asarray(cats, dtype=object), kind="stable"), kind="stable"
            )
        return rank[df["item_id"].cat.codes.to_numpy()]
    if tie_break == "random":
        key = f"encore{seed:010d}"[-16:].rjust(16, "0")
        pairs = (df["user_id"].astype(str) + "\x1f" + df["item_id"].astype(str)).to_numpy(
            dtype=object
        )
        return pd.util.hash_array(pairs, hash_key=key, categorize=False)
    raise ValueError(f"unknown tie_break {tie_break!r}; valid values: {', '.join(TIE_BREAKS)}")


def _time_order(df: pd.DataFrame, tie_break: str = "order", seed: int = 0) -> np.ndarray:
    """Row order by user, then time, then the tie-break key, then position in the log."""
    ts = df["timestamp"].fillna(-1).to_numpy(dtype=np.int64) if len(df) else np.zeros(0, np.int64)
    return np.lexsort(
        (np.arange(len(df)), _tie_key(df, tie_break, seed), ts, df["user_id"].cat.codes.to_numpy())
    )


def _position_from_end(
    df: pd.DataFrame, tie_break: str, seed: int, *, by_time: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many of its user's interactions come after it, and the user's total
    (in time order, or with ``by_time=False`` in the tie-break's order alone)."""
    if by_time:
        order = _time_order(df, tie_break, seed)
    else:
        codes = df["user_id"].cat.codes.to_numpy()
        order = np.lexsort((np.arange(len(df)), _tie_key(df, tie_break, seed), codes))
    codes = df["user_id"].cat.codes.to_numpy()[order]
    size_by_code = np.bincount(codes, minlength=len(df["user_id"].cat.categories))
    starts = np.concatenate([[0], np.flatnonzero(codes[1:] != codes[:-1]) + 1])
    group_start = np.repeat(starts, np.diff(np.concatenate([starts, [len(codes)]])))
    rank = np.arange(len(codes)) - group_start
    size_sorted = size_by_code[codes]
    from_end = np.empty(len(df), dtype=np.int64)
    size = np.empty(len(df), dtype=np.int64)
    from_end[order] = size_sorted - 1 - rank
    size[order] = size_sorted
    return from_end, size


def _count_users(counts: dict[str, int], df: pd.DataFrame, rows: np.ndarray, label: str) -> None:
    n = int(df.loc[rows, "user_id"].nunique()) if rows.any() else 0
    if n:
        counts[label] = n


def _count_unordered(counts: dict[str, int], df: pd.DataFrame) -> None:
    """Count the training users none of whose interactions has a timestamp."""
    from retrieval.stats import unordered_rows

    if len(df) and (rows := unordered_rows(df)).any():
        counts["training users without timestamps (histories treated as unordered)"] = int(
            df.loc[rows, "user_id"].nunique()
        )


def _make(
    df: pd.DataFrame,
    test: np.ndarray,
    val: np.ndarray,
    protocol: str,
    desc: str,
    counts: dict[str, int],
) -> Split:
    train = ~(test | val)
    return Split(
        train=Interactions(df[train].reset_index(drop=True)),
        valid=Interactions(df[val].reset_index(drop=True)),
        test=Interactions(df[test].reset_index(drop=True)),
        protocol=protocol,
        description=desc,
        counts=counts,
    )


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
