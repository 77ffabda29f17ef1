"""The retriever: one query vector from the request and the user's profile, nearest items
from the vector index.

The query blends the request embedding with the user profile: a recency-weighted mean of
the vectors of items the user consumed, minus a share of the mean of the items they
disliked (explicit ``dislike`` events, and ratings at or below ``dislike_rating``). Either
part may be missing: a request alone, a history alone, or both. Items the user already
consumed are left out unless asked for.

Example:
    >>> import numpy as np
    >>> class Fake:                                     # any Encoder works
    ...     dim = 2
    ...     def encode(self, texts):
    ...         return np.array([[1.0, 0.0]] * len(texts), "float32")
    >>> vecs = np.array([[1, 0], [0.8, 0.6], [0, 1]], "float32")
    >>> r = Retriever(Fake(), ["a", "b", "c"], vecs)
    >>> [c.item_id for c in r.retrieve("something like a", n=2)]
    ['a', 'b']
    >>> [c.item_id for c in r.retrieve(history=History(["a"]), n=2)]
    ['b', 'c']
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from retrieval.encoder import Encoder, check_vectors, history_text, item_text
from retrieval.models import Interaction

if TYPE_CHECKING:
    from retrieval.catalog import Catalog
    from retrieval.config import RetrieverConfig
    from retrieval.embedding_cache import EmbeddingCache
    from retrieval.index import VectorIndex
    from retrieval.interactions import Interactions

__all__ = ["Candidate", "History", "NothingToRetrieve", "Retriever", "histories_from_log",
           "history_weights", "popularity_counts"]

DEFAULT_N_CANDIDATES = 200


class NothingToRetrieve(ValueError):
    """A query with neither a request nor a history holding a catalog item (the caller
    decides what to serve instead: collaborative and popular candidates)."""


class Candidate(BaseModel):
    """One retrieved item: its id, its score and the source that proposed it."""

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(description="Catalog id.")
    score: float = Field(description="Similarity to the query (cosine for the dense source).")
    source: str = Field(default="dense", description="Which candidate source proposed it.")


@dataclass
class History:
    """What one user did, oldest first: item ids with their events and values.

    Example:
        >>> History(["a", "b"], events=["rating", "dislike"], values=[4.0, -1.0]).item_ids
        ['a', 'b']
    """

    item_ids: list[str]
    events: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    #: ``False`` when the order of the entries is unknown (a log without timestamps): the
    #: history weights are then uniform and the ranker's recent-item features missing.
    ordered: bool = True

    def __post_init__(self) -> None:
        self.item_ids = [str(i) for i in self.item_ids]
        if not self.events:
            self.events = ["play"] * len(self.item_ids)
        if not self.values:
            self.values = [1.0] * len(self.item_ids)
        if not len(self.item_ids) == len(self.events) == len(self.values):
            raise ValueError(f"History needs one event and value per item: {len(self.item_ids)} "
                             f"items, {len(self.events)} events, {len(self.values)} values")

    @classmethod
    def from_interactions(cls, interactions: Iterable[Interaction]) -> History:
        """From typed interactions (sorted by time here; untimed ones first)."""
        rows = sorted(interactions, key=lambda r: -1 if r.timestamp is None else r.timestamp)
        return cls([r.item_id for r in rows], [r.event.value for r in rows],
                   [float(r.value) for r in rows])

    def __len__(self) -> int:
        return len(self.item_ids)


def histories_from_log(interactions: Interactions) -> dict[str, History]:
    """Every user's :class:`History` from an interaction log, oldest first (simultaneous
    interactions ordered by item id, the convention of ``retrieval.stats.sequence_order``
    and the evaluation protocols); a user without any timestamp gets an unordered one."""
    from retrieval.stats import sequence_order, unordered_rows

    df = interactions.df
    if not len(df):
        return {}
    df = df.iloc[sequence_order(df)]
    unordered = unordered_rows(df)
    users = df["user_id"].astype(str).to_numpy()
    items = df["item_id"].astype(str).to_numpy()
    events = df["event"].astype(str).to_numpy()
    values = df["value"].to_numpy(dtype=float)
    out: dict[str, History] = {}
    if not len(df):
        return out
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        out[str(users[lo])] = History(items[lo:hi].tolist(), events[lo:hi].tolist(),
                                      values[lo:hi].tolist(), ordered=not unordered[lo])
    return out


def popularity_counts(
    interactions: Interactions,
    item_ids: Sequence[str] | None = None,
    *,
    dislike_rating: float = 2.0,
    half_life_days: float | None = None,
) -> dict[str, float] | np.ndarray:
    """How often each item was consumed (plays, likes, ratings above ``dislike_rating``).

    Args:
        interactions: The log (for an evaluation, its training part only).
        item_ids: When given, return ``float64[len(item_ids)]`` in that order (0 for items
            never consumed) instead of a dict of the consumed items.
        dislike_rating: Ratings at or below this do not count.
        half_life_days: ``None`` counts every interaction alike; a number makes it
            *trending*: an interaction's weight halves every ``half_life_days`` before the
            log's latest timestamp.

    Example:
        >>> from retrieval.interactions import Interactions
        >>> log = Interactions.from_records([Interaction(user_id="u", item_id="a", event="like"),
        ...     Interaction(user_id="v", item_id="a", event="rating", value=1)])
        >>> popularity_counts(log)
        {'a': 1.0}
        >>> popularity_counts(log, ["b", "a"]).tolist()
        [0.0, 1.0]
    """
    df = interactions.df
    event = df["event"].astype(str).to_numpy()
    value = df["value"].to_numpy(dtype=float)
    pos = (event == "play") | (event == "like") | ((event == "rating") & (value > dislike_rating))
    weight = pos.astype(np.float64)
    if half_life_days is not None:
        if not half_life_days > 0:
            raise ValueError(f"half_life_days must be positive, got {half_life_days}")
        ts = df["timestamp"].to_numpy(dtype=np.float64, na_value=np.nan)
        latest = np.nanmax(ts) if np.isfinite(ts).any() else np.nan
        age_days = np.where(np.isfinite(ts), (latest - ts) / 86_400.0, 0.0)
        weight = weight * np.power(0.5, age_days / half_life_days)
    sums = pd.Series(weight).groupby(df["item_id"].astype(str).to_numpy()).sum()
    counts = {str(k): float(v) for k, v in sums.items() if v > 0}
    if item_ids is None:
        return counts
    return np.array([counts.get(str(i), 0.0) for i in item_ids], dtype=np.float64)


def history_weights(
    history: History,
    *,
    recency_half_life: float | None = 20.0,
    dislike_rating: float = 2.0,
) -> np.ndarray:
    """Signed weight of each history entry: positive for consumed items, negative for
    dislikes, 0 for skips; halved every ``recency_half_life`` items back from the newest
    (not at all when ``history.ordered`` is false: an unordered history has no newest).

    Example:
        >>> history_weights(History(["a", "b", "c"], ["rating", "dislike", "play"],
        ...                         [5.0, -1.0, 1.0]), recency_half_life=1.0).tolist()
        [0.25, -0.5, 1.0]
    """
    n = len(history)
    events = np.asarray(history.events, dtype=object)
    values = np.asarray(history.values, dtype=float)
    sign = np.zeros(n)
    sign[(events == "play") | (events == "like")] = 1.0
    sign[events == "dislike"] = -1.0
    is_rating = events == "rating"
    sign[is_rating & (values > dislike_rating)] = 1.0
    sign[is_rating & (values <= dislike_rating)] = -1.0
    if recency_half_life is None or n == 0 or not history.ordered:
        return sign
    age = np.arange(n - 1, -1, -1, dtype=float)  # 0 for the newest entry
    return sign * np.power(0.5, age / float(recency_half_life))


class Retriever:
    """Dense candidate retrieval over a catalog's item vectors.

    Args:
        encoder: Encodes requests (and history texts when ``history_text_weight`` > 0).
        item_ids: Catalog ids, one per row of ``item_vectors``.
        item_vectors: ``float32[n, dim]`` item embeddings (made by ``encoder``).
        index: A :class:`~retrieval.index.VectorIndex` already holding these items; built
            (exact ``FaissIndex``) when ``None``.
        catalog: Needed only for ``history_text_weight`` > 0 (to write history texts).
        n_candidates: Candidates returned by default.
        request_weight: Weight (0..1) of the request embedding in the query when there is
            both a request and a history; the profile gets the rest.
        recency_half_life: A history entry's weight halves every this many items back from
            the newest (``None``: all equal).
        dislike_weight: How far the mean of disliked items pushes the profile away (0 turns
            it off; 1 weighs it like the liked mean).
        dislike_rating: Ratings at or below this count as dislikes.
        max_history: Only the most recent entries are used.
        history_text_weight: Weight, inside the profile, of the embedding of the history's
            text (the query that ``history`` training pairs teach); 0 uses item vectors only.
        item_popularity: Interaction counts per item (a mapping by id, or one value per row
            of ``item_vectors``), e.g. from :func:`popularity_counts`; needed when
            ``popularity_weight`` > 0.
        popularity_weight: Weight of the popularity prior: a candidate's score is its cosine
            plus ``popularity_weight * log(1 + count)``. Contrastive fine-tuning with in-batch
            negatives learns how much more likely an item is *given the history* than
            overall, so the prior puts back the "overall"; 0 turns it off.

    Raises:
        ValueError: mismatched ids and vectors, NaN/infinite vectors, bad weights.
    """

    def __init__(
        self,
        encoder: Encoder,
        item_ids: Sequence[str],
        item_vectors: Any,
        *,
        index: VectorIndex | None = None,
        catalog: Catalog | None = None,
        n_candidates: int = DEFAULT_N_CANDIDATES,
        request_weight: float = 0.6,
        recency_half_life: float | None = 5.0,
        dislike_weight: float = 0.2,
        dislike_rating: float = 2.0,
        max_history: int = 200,
        history_text_weight: float = 0.0,
        item_popularity: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
        popularity_weight: float = 0.0,
    ) -> None:
        ids = [str(i) for i in item_ids]
        vecs = check_vectors(item_vectors, dim=encoder.dim, what="item vectors")
        if len(ids) != len(vecs):
            raise ValueError(f"{len(ids)} item ids but {len(vecs)} item vectors")
        if len(set(ids)) != len(ids):
            raise ValueError("item ids must be unique")
        if not 0.0 <= request_weight <= 1.0:
            raise ValueError(f"request_weight must lie between 0 and 1, got {request_weight}")
        for name, v in (("dislike_weight", dislike_weight),
                        ("history_text_weight", history_text_weight)):
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v}")
        if recency_half_life is not None and not recency_half_life > 0:
            raise ValueError(f"recency_half_life must be positive or None, got {recency_half_life}")
        if n_candidates < 1 or max_history < 1:
            raise ValueError("n_candidates and max_history must be positive")
        if not np.isfinite(popularity_weight) or popularity_weight < 0:
            raise ValueError("popularity_weight must be a finite number >= 0, "
                             f"got {popularity_weight}")
        if popularity_weight > 0 and item_popularity is None:
            raise ValueError("popularity_weight > 0 needs item_popularity (interaction counts "
                             "per item, e.g. from popularity_counts(log, item_ids))")
        if history_text_weight > 0 and catalog is None:
            raise ValueError("history_text_weight > 0 needs the catalog (to write history texts)")
        self.encoder = encoder
        self.item_ids = ids
        self._row = {i: k for k, i in enumerate(ids)}
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        # unit rows (a bundle's) are kept as they are: a memory-mapped file is not copied
        unit = np.allclose(norms[norms > 0], 1.0, rtol=0.0, atol=1e-6)
        self.item_vectors = vecs if unit else vecs / np.where(norms > 0, norms, 1.0)
        self.catalog = catalog
        self.n_candidates = int(n_candidates)
        self.request_weight = float(request_weight)
        self.recency_half_life = recency_half_life
        self.dislike_weight = float(dislike_weight)
        self.dislike_rating = float(dislike_rating)
        self.max_history = int(max_history)
        self.history_text_weight = float(history_text_weight)
        self.popularity_weight = float(popularity_weight)
        self._prior = np.zeros(len(ids), dtype=np.float64)
        if item_popularity is not None:
            if isinstance(item_popularity, Mapping):
                counts = np.array([float(item_popularity.get(i, 0.0)) for i in ids])
            else:
                counts = np.asarray(item_popularity, dtype=np.float64)
                if counts.shape != (len(ids),):
                    raise ValueError(f"item_popularity has {counts.shape} values for "
                                     f"{len(ids)} items")
            if not np.isfinite(counts).all() or (counts < 0).any():
                raise ValueError("item_popularity must hold finite counts >= 0")
            self._prior = self.popularity_weight * np.log1p(counts)
        self._has_prior = bool(self._prior.any())  # checked per search: once, not per call
        if index is None:
            from retrieval.index import FaissIndex

            index = FaissIndex(dim=encoder.dim, factory="Flat")
            index.add(ids, self.item_vectors)
        self.index = index

    @classmethod
    def from_config(
        cls,
        encoder: Encoder,
        item_ids: Sequence[str],
        item_vectors: Any,
        config: RetrieverConfig,
        *,
        index: VectorIndex | None = None,
        catalog: Catalog | None = None,
        item_popularity: Mapping[str, float] | Sequence[float] | np.ndarray | None = None,
        n_candidates: int = DEFAULT_N_CANDIDATES,
    ) -> Retriever:
        """A retriever with the weights of a :class:`~retrieval.config.RetrieverConfig`
        (``item_popularity`` is needed only when its ``popularity_weight`` > 0)."""
        pop = item_popularity if config.popularity_weight > 0 else None
        return cls(encoder, item_ids, item_vectors, index=index, catalog=catalog,
                   n_candidates=n_candidates, request_weight=config.request_weight,
                   recency_half_life=config.recency_half_life,
                   dislike_weight=config.dislike_weight, dislike_rating=config.dislike_rating,
                   max_history=config.max_history, item_popularity=pop,
                   popularity_weight=config.popularity_weight)

    @classmethod
    def from_catalog(
        cls,
        catalog: Catalog,
        encoder: Encoder,
        *,
        cache: EmbeddingCache | None = None,
        model_key: str | None = None,
        **settings: Any,
    ) -> Retriever:
        """Encode every item's text (through ``cache`` when given) and index it.

        ``settings`` are the constructor's keyword arguments.
        """
        texts = [item_text(it) for it in catalog]
        if cache is not None:
            key = model_key or getattr(encoder, "model_key", None)
            if not key:
                raise ValueError("a cache needs a model_key (the encoder has none)")
            vecs = cache.encode(encoder, texts, model_key=str(key))
        else:
            vecs = encoder.encode(texts)
        settings.setdefault("catalog", catalog)
        return cls(encoder, catalog.ids, vecs, **settings)

    # -- queries -------------------------------------------------------------------------

    def profile(self, history: History) -> np.ndarray | None:
        """The user profile vector (unit length), or ``None`` when the history holds no item
        of the catalog (or only skips)."""
        h = History(history.item_ids[-self.max_history:], history.events[-self.max_history:],
                    history.values[-self.max_history:], ordered=history.ordered)
        w = history_weights(h, recency_half_life=self.recency_half_life,
                            dislike_rating=self.dislike_rating)
        rows = np.array([self._row.get(i, -1) for i in h.item_ids], dtype=np.int64)
        known = rows >= 0
        w, rows = w[known], rows[known]
        pos, neg = w > 0, w < 0
        vec = np.zeros(self.encoder.dim, dtype=np.float64)
        if pos.any():
            vec += (w[pos] @ self.item_vectors[rows[pos]]) / w[pos].sum()
        if neg.any() and self.dislike_weight > 0:
            neg_mean = ((-w[neg]) @ self.item_vectors[rows[neg]]) / (-w[neg]).sum()
            vec -= self.dislike_weight * neg_mean
        if self.history_text_weight > 0 and pos.any():
            liked = [self.catalog[self.item_ids[r]] for r in rows[pos]]  # type: ignore[index]
            tvec = self.encoder.encode([history_text(liked)])[0]
            n = np.linalg.norm(vec)
            if n > 0:
                vec = vec / n
            vec = (1 - self.history_text_weight) * vec + self.history_text_weight * tvec
        n = np.linalg.norm(vec)
        if not np.isfinite(n) or n < 1e-9:
            return None
        return (vec / n).astype(np.float32)

    def query_vector(self, request: str | None = None,
                     history: History | None = None, *,
                     request_vector: np.ndarray | None = None) -> np.ndarray:
        """The query: request embedding and profile blended by their weights.

        Args:
            request: The request text (encoded here).
            history: The user's history.
            request_vector: The request already encoded (instead of ``request``).

        Raises:
            NothingToRetrieve: neither a request nor a usable history.
            ValueError: an empty request text.
        """
        q = self.query_or_none(request, history, request_vector=request_vector)
        if q is None:
            raise NothingToRetrieve("nothing to retrieve from: give a request text, a history "
                                    "with at least one catalog item, or both")
        return q

    def query_or_none(self, request: str | None = None, history: History | None = None, *,
                      request_vector: np.ndarray | None = None) -> np.ndarray | None:
        """:meth:`query_vector`, or ``None`` when there is nothing to retrieve from."""
        req = None
        if request_vector is not None:
            req = np.asarray(request_vector, dtype=np.float32).ravel()
        elif request is not None:
            if not request.strip():
                raise ValueError("the request text is empty or whitespace only; pass None to "
                                 "retrieve from the history alone")
            req = self.encoder.encode([request])[0]
        prof = self.profile(history) if history is not None and len(history) else None
        if req is None and prof is None:
            return None
        if req is None:
            return prof
        if prof is None:
            return req
        q = self.request_weight * req + (1.0 - self.request_weight) * prof
        n = np.linalg.norm(q)
        return (q / n).astype(np.float32) if n > 1e-9 else req

    def search(
        self,
        queries: Any,
        *,
        n: int | None = None,
        exclude: Sequence[Collection[str]] | None = None,
        allowed: Collection[str] | None = None,
    ) -> tuple[list[list[str]], list[np.ndarray]]:
        """The ``n`` best items for each query vector, leaving out ``exclude[i]`` for
        query ``i`` (its consumed items) and anything not ``allowed``.

        Returns:
            Per query, ids best first and their scores.
        """
        n = self.n_candidates if n is None else int(n)
        if n < 1:
            raise ValueError(f"n must be a positive integer, got {n}")
        q = check_vectors(queries, dim=self.encoder.dim, what="query vectors")
        exclude = list(exclude) if exclude is not None else [()] * len(q)
        if len(exclude) != len(q):
            raise ValueError(f"{len(q)} queries but {len(exclude)} exclude sets")
        extra = max((len(e) for e in exclude), default=0)
        exclude = [e if isinstance(e, set | frozenset) else set(e) for e in exclude]
        if not self._has_prior:
            ids, scores = self.index.search(q, n + extra, allowed=allowed)
            out_ids, out_scores = [], []
            for row_ids, row_scores, ex in zip(ids, scores, exclude, strict=True):
                keep = [k for k, i in enumerate(row_ids) if i not in ex][:n]
                out_ids.append([row_ids[k] for k in keep])
                out_scores.append(np.asarray(row_scores, dtype=np.float32)[keep])
            return out_ids, out_scores
        return self._search_with_prior(q, n, exclude, extra, allowed)

    def _search_with_prior(
        self, q: np.ndarray, n: int, exclude: list[Collection[str]], extra: int,
        allowed: Collection[str] | None,
    ) -> tuple[list[list[str]], list[np.ndarray]]:
        """Exact top ``n`` of cosine + prior: fetch by cosine, re-score, and fetch deeper
        for the queries where an unfetched item could still beat the ``n``-th score."""
        total = len(self.item_ids)
        prior_max = float(self._prior.max())
        out_ids: list[list[str]] = [[] for _ in range(len(q))]
        out_scores: list[np.ndarray] = [np.zeros(0, np.float32) for _ in range(len(q))]
        todo = np.arange(len(q))
        fetch = min(total, 4 * (n + extra))
        while len(todo):
            ids, scores = self.index.search(q[todo], fetch, allowed=allowed)
            again = []
            for j, row_ids, row_scores in zip(todo.tolist(), ids, scores, strict=True):
                ex = exclude[j]
                keep = [k for k, i in enumerate(row_ids) if i not in ex]
                cand = [row_ids[k] for k in keep]
                combined = (np.asarray(row_scores, dtype=np.float64)[keep]
                            + self._prior[[self._row[i] for i in cand]])
                order = np.argsort(-combined, kind="stable")[:n]
                complete = len(row_ids) < fetch or fetch >= total
                if not complete and len(order) == n and len(row_scores):
                    # An unfetched item scores at most (last cosine fetched) + prior_max.
                    complete = combined[order[-1]] >= float(row_scores[-1]) + prior_max
                if complete:
                    out_ids[j] = [cand[k] for k in order]
                    out_scores[j] = combined[order].astype(np.float32)
                else:
                    again.append(j)
            todo = np.array(again, dtype=np.int64)
            fetch = min(total, fetch * 2)
        return out_ids, out_scores

    def retrieve(
        self,
        request: str | None = None,
        history: History | Sequence[Interaction] | None = None,
        *,
        n: int | None = None,
        include_consumed: bool = False,
        allowed: Collection[str] | None = None,
    ) -> list[Candidate]:
        """Candidates for a request, a history, or both.

        Args:
            request: What the person asked for, as text.
            history: Their history (a :class:`History` or typed interactions).
            n: How many (default ``n_candidates``).
            include_consumed: Keep items already in the history.
            allowed: Hard filter: only these ids may come back.

        Raises:
            ValueError: no request and no usable history; an empty request text.
        """
        if history is not None and not isinstance(history, History):
            history = History.from_interactions(history)
        q = self.query_vector(request, history)
        exclude = [set(history.item_ids)] if history is not None and not include_consumed else None
        ids, scores = self.search(q[None, :], n=n, exclude=exclude, allowed=allowed)
        return [Candidate(item_id=i, score=float(s))
                for i, s in zip(ids[0], scores[0], strict=True)]

    def retrieve_many(
        self,
        histories: Mapping[str, History],
        *,
        n: int | None = None,
        include_consumed: bool = False,
    ) -> dict[str, tuple[list[str], np.ndarray]]:
        """History-only retrieval for many users at once (what offline evaluation runs).

        Users whose history holds no catalog item get empty lists.
        """
        users, queries, exclude = [], [], []
        out: dict[str, tuple[list[str], np.ndarray]] = {}
        for user, h in histories.items():
            p = self.profile(h) if len(h) else None
            if p is None:
                out[user] = ([], np.zeros(0, dtype=np.float32))
                continue
            users.append(user)
            queries.append(p)
            exclude.append(set() if include_consumed else set(h.item_ids))
        if users:
            ids, scores = self.search(np.stack(queries), n=n, exclude=exclude)
            out.update({u: (i, s) for u, i, s in zip(users, ids, scores, strict=True)})
        return out
