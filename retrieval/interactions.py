"""Interaction logs held as one validated, columnar table.

Logs reach tens of millions of rows (ml-32m), so they live in a pandas DataFrame with
categorical ids rather than as one pydantic object per row; :class:`Interaction` is the
typed view of a single row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from retrieval.models import DEFAULT_EVENT_VALUE, EVENTS, Interaction

__all__ = ["COLUMNS", "Interactions"]

COLUMNS = ("user_id", "item_id", "timestamp", "event", "value")
_EVENT_DTYPE = pd.CategoricalDtype(list(EVENTS))


class Interactions:
    """A validated interaction table with columns ``user_id`` and ``item_id`` (categorical
    strings), ``timestamp`` (nullable Int64, Unix seconds), ``event`` (categorical, one of
    play, like, dislike, rating, skip) and ``value`` (float64).

    Rows keep their input order; :meth:`sorted` orders them by user and time.

    Example:
        >>> log = Interactions.from_records([
        ...     Interaction(user_id="u1", item_id="a", timestamp=2, event="like"),
        ...     Interaction(user_id="u1", item_id="b", timestamp=1, event="rating", value=4)])
        >>> len(log), log.n_users, log.has_timestamps
        (2, 1, True)
        >>> [r.item_id for r in log.for_user("u1")]
        ['b', 'a']
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"interaction table lacks columns {missing}; it needs {list(COLUMNS)}")
        self.df = _normalise(frame[list(COLUMNS)])

    @classmethod
    def from_records(cls, records: Iterable[Interaction]) -> Interactions:
        rows = [r.model_dump() for r in records]
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        if not rows:
            frame = frame.astype({"value": "float64"})
        frame["event"] = frame["event"].map(lambda e: getattr(e, "value", e))
        return cls(frame)

    @classmethod
    def empty(cls) -> Interactions:
        return cls(pd.DataFrame({c: [] for c in COLUMNS}))

    def __len__(self) -> int:
        return len(self.df)

    @property
    def n_users(self) -> int:
        return int(self.df["user_id"].nunique())

    @property
    def n_items(self) -> int:
        return int(self.df["item_id"].nunique())

    @property
    def has_timestamps(self) -> bool:
        return len(self.df) > 0 and bool(self.df["timestamp"].notna().all())

    def users(self) -> list[str]:
        return list(pd.unique(self.df["user_id"].astype(str)))

    def sorted(self) -> Interactions:
        """Rows ordered by user, then time (stable, so ties keep input order)."""
        order = np.lexsort((self.df["timestamp"].fillna(-1).to_numpy(np.int64),
                            self.df["user_id"].cat.codes.to_numpy()))
        return Interactions(self.df.iloc[order].reset_index(drop=True))

    def for_user(self, user_id: str) -> Iterator[Interaction]:
        """One user's interactions, oldest first."""
        rows = self.df[self.df["user_id"] == user_id]
        rows = rows.sort_values("timestamp", kind="stable", na_position="first")
        for rec in rows.to_dict("records"):
            yield _row_to_model(rec)

    def __iter__(self) -> Iterator[Interaction]:
        for rec in self.df.to_dict("records"):
            yield _row_to_model(rec)

    def concat(self, other: Interactions) -> Interactions:
        return Interactions(pd.concat([_plain(self.df), _plain(other.df)], ignore_index=True))

    def __repr__(self) -> str:
        return f"Interactions({len(self)} rows, {self.n_users} users, {self.n_items} items)"


def _row_to_model(rec: dict) -> Interaction:
    ts = rec["timestamp"]
    return Interaction(
        user_id=rec["user_id"], item_id=rec["item_id"],
        timestamp=None if pd.isna(ts) else int(ts),
        event=rec["event"], value=float(rec["value"]),
    )


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in ("user_id", "item_id", "event"):
        out[c] = out[c].astype(str)
    return out


def _categorical(col: pd.Series) -> pd.Categorical:
    """``col`` as a categorical of its values as strings, converted once per distinct value
    (converting every row makes one new string per row: gigabytes for a log of 20M rows)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    names = pd.Index([str(u) for u in uniques])
    if names.is_unique:
        return pd.Categorical.from_codes(codes, categories=names)
    return pd.Categorical(col.astype(str).to_numpy())  # 1 and "1": the same string


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce already-validated columns to the canonical dtypes."""
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for c in ("user_id", "item_id"):
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if not all(isinstance(x, str) for x in cats[:100]):
                col = col.cat.rename_categories([str(x) for x in cats])
            out[c] = col.reset_index(drop=True)
        else:
            out[c] = _categorical(col)
    stamps = frame["timestamp"].to_numpy() if len(frame) else []
    out["timestamp"] = pd.array(stamps, dtype="Int64")
    out["event"] = pd.Categorical(frame["event"].astype(str).to_numpy(), dtype=_EVENT_DTYPE)
    value = (frame["value"].to_numpy(dtype="float64", na_value=np.nan) if len(frame)
             else np.array([], dtype="float64"))
    if np.isnan(value).any():
        defaults = out["event"].map(DEFAULT_EVENT_VALUE).astype("float64").to_numpy()
        value = np.where(np.isnan(value), defaults, value)
    out["value"] = value
    return out
