"""A seeded SYNTHETIC catalog and interaction log of any size (a million items, tens of
millions of events), with a planted structure that quality at scale can be checked against.

Everything is labelled synthetic (titles start with "Synthetic", descriptions say it); no
figure from such data is a quality claim about real catalogs. The structure:

- **Taste clusters.** Each cluster has one media type, one or two genres from
  ``retrieval/demo/VOCABULARY.md`` and two mood tags; every item belongs to one cluster and
  its genres, tags and words show it (so text and co-occurrence both carry the structure).
- **Power-law popularity.** Items get a random global rank; an item's weight is
  ``1 / (rank + 1) ** zipf``, so the top 1% of items hold a large share of the events.
- **Users.** Each user likes one to three clusters (Dirichlet weights); a user's number of
  events is log-normal. An event picks one of the user's clusters by weight and an item of
  that cluster by popularity; a share ``noise`` of events picks any item by popularity.
  Timestamps increase within each user.

Files (a folder ``encore build --data DIR`` reads): ``catalog.parquet``,
``interactions.parquet`` (written in row groups, memory bounded by the chunk size), and the
planted truth: ``truth.npz`` (item cluster, user clusters and weights) and ``truth.json``
(the settings and each cluster's media type, genres and tags).

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     rep = generate_large(LargeSpec(items=300, events=4000, users=80, seed=1), d)
    ...     truth = load_truth(d)
    >>> rep.items, rep.events, truth.user_clusters.shape[0]
    (300, 4000, 80)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["LargeSpec", "GenerateReport", "PlantedTruth", "generate_large", "load_truth",
           "item_id", "user_id"]

MEDIA_GENRES: dict[str, tuple[str, ...]] = {
    "movie": ("action", "adventure", "animation", "biography", "comedy", "crime",
              "documentary", "drama", "family", "fantasy", "history", "horror", "musical",
              "mystery", "romance", "science fiction", "sport", "thriller", "war", "western"),
    "series": ("action", "adventure", "animation", "biography", "comedy", "crime",
               "documentary", "drama", "family", "fantasy", "history", "horror", "musical",
               "mystery", "romance", "science fiction", "sport", "thriller", "war", "western"),
    "album": ("alternative", "ambient", "blues", "classical", "country", "electronic", "folk",
              "funk", "hip hop", "indie", "jazz", "latin", "metal", "pop", "punk", "r&b",
              "reggae", "rock", "soul", "soundtrack"),
    "music_track": ("alternative", "ambient", "blues", "classical", "country", "electronic",
                    "folk", "funk", "hip hop", "indie", "jazz", "latin", "metal", "pop", "punk",
                    "r&b", "reggae", "rock", "soul", "soundtrack"),
    "podcast": ("arts", "business", "comedy", "education", "fiction", "health", "history",
                "news", "politics", "science", "society & culture", "sports", "technology",
                "true crime"),
    "audiobook": ("arts", "business", "comedy", "education", "fiction", "health", "history",
                  "news", "politics", "science", "society & culture", "sports", "technology",
                  "true crime", "science fiction", "fantasy", "mystery"),
}
"""Genres per media type, from ``retrieval/demo/VOCABULARY.md``."""
MEDIA_SHARE = {"music_track": 0.45, "podcast": 0.15, "album": 0.10, "movie": 0.12,
               "series": 0.06, "audiobook": 0.12}
"""Share of the catalog per media type (tracks and episodes dominate real catalogs)."""
_PREFIX = {"movie": "mv", "series": "tv", "album": "al", "music_track": "tr", "podcast": "pc",
           "audiobook": "ab"}
_DURATION = {"movie": (105, 20, 60), "series": (42, 12, 15), "album": (48, 10, 20),
             "music_track": (4, 1.2, 1), "podcast": (50, 20, 10), "audiobook": (600, 200, 60)}
"""Minutes: mean, spread and floor of each media type's running time."""
TAGS = ("feel-good", "heartwarming", "funny", "light", "dark", "bleak", "tense", "scary",
        "slow-burn", "fast-paced", "mind-bending", "thought-provoking", "emotional",
        "uplifting", "melancholic", "romantic", "nostalgic", "epic", "quirky", "cozy",
        "relaxing", "chill", "energetic", "upbeat", "danceable", "atmospheric", "intense")
_WORDS = ("amber", "river", "glass", "north", "echo", "harbour", "velvet", "signal", "ember",
          "orchard", "static", "lantern", "meridian", "copper", "tide", "hollow", "summit",
          "paper", "drift", "cinder", "atlas", "quiet", "neon", "willow", "granite", "fable")
START_UNIX = 1_420_070_400  # 2015-01-01: the log covers the ten years after it
DAY = 86_400


@dataclass(frozen=True)
class LargeSpec:
    """What to generate. ``users`` 0 means one user per hundred events."""

    items: int = 1_000_000
    events: int = 20_000_000
    users: int = 0
    seed: int = 0
    clusters: int = 0
    """Taste clusters; 0 means about one per 2,000 items (between 8 and 512)."""
    zipf: float = 1.0
    """Popularity exponent: an item's weight is 1 / (rank + 1) ** zipf."""
    noise: float = 0.1
    """Share of events that ignore the user's taste (any item, by popularity)."""
    min_per_user: int = 5
    like_share: float = 0.15
    """Share of taste events that are 'like' (the rest 'play')."""
    chunk_events: int = 2_000_000
    """Events generated and written at once (the memory bound)."""

    def resolved(self) -> LargeSpec:
        """The spec with ``users`` and ``clusters`` filled in, checked."""
        users = self.users or max(1, self.events // 100)
        clusters = self.clusters or int(np.clip(self.items // 2000, 8, 512))
        if self.items < 1 or self.events < 0:
            raise ValueError("items must be at least 1 and events at least 0")
        if users * self.min_per_user > self.events:
            raise ValueError(f"{self.events} events cannot give {users} users "
                             f"{self.min_per_user} each: ask for more events or fewer users")
        clusters = min(clusters, self.items)
        return LargeSpec(**{**asdict(self), "users": users, "clusters": clusters})


@dataclass(frozen=True)
class GenerateReport:
    items: int
    events: int
    users: int
    clusters: int
    seconds: float
    files: tuple[str, ...]


@dataclass(frozen=True)
class PlantedTruth:
    """The planted structure: ``item_cluster[i]`` for the i-th catalog item,
    ``user_clusters[u]`` (-1 padded) and ``user_weights[u]`` for the u-th user."""

    item_cluster: np.ndarray
    user_clusters: np.ndarray
    user_weights: np.ndarray
    clusters: list[dict[str, object]]
    spec: dict[str, object]

    def item_index(self, ids: list[str]) -> np.ndarray:
        """Catalog positions of item ids (-1 for ids this generator did not make)."""
        return np.array([_index_of(i) for i in ids], dtype=np.int64)

    def user_index(self, uid: str) -> int:
        return _index_of(uid)


def item_id(index: int, media: str) -> str:
    return f"{_PREFIX[media]}-syn-{index:07d}"


def user_id(index: int) -> str:
    return f"syn-u{index:07d}"


def _index_of(ident: str) -> int:
    tail = ident.rsplit("-", 1)[-1].lstrip("u")
    return int(tail) if tail.isdigit() else -1


# ---------------------------------------------------------------- the planted structure


@dataclass
class _Structure:
    cluster_media: np.ndarray  # [C] index into MEDIA_SHARE
    cluster_genres: list[tuple[str, ...]]
    cluster_tags: list[tuple[str, ...]]
    item_cluster: np.ndarray  # [n] int32
    item_weight: np.ndarray  # [n] float64, Zipf popularity
    order: np.ndarray  # items sorted by cluster
    cum: np.ndarray  # cumulative popularity along ``order``
    bounds: np.ndarray  # [C + 1] cluster starts in ``order``
    cluster_pick: np.ndarray  # [C] how likely a user is to like each cluster


def _structure(spec: LargeSpec, rng: np.random.Generator) -> _Structure:
    media = list(MEDIA_SHARE)
    c = spec.clusters
    share = np.array([MEDIA_SHARE[m] for m in media])
    cluster_media = rng.choice(len(media), size=c, p=share / share.sum())
    cluster_media[:len(media)] = np.arange(min(c, len(media)))  # every media type is there
    genres: list[tuple[str, ...]] = []
    tags: list[tuple[str, ...]] = []
    for m in cluster_media:
        pool = MEDIA_GENRES[media[m]]
        k = 1 + int(rng.random() < 0.6)
        genres.append(tuple(pool[j] for j in sorted(rng.choice(len(pool), k, replace=False))))
        tags.append(tuple(TAGS[j] for j in rng.choice(len(TAGS), 2, replace=False)))
    # Clusters of uneven size (a few big genres, a long tail), every one non-empty.
    size = rng.dirichlet(np.full(c, 2.0))
    item_cluster = rng.choice(c, size=spec.items, p=size).astype(np.int32)
    item_cluster[:c] = np.arange(c, dtype=np.int32)
    rank = rng.permutation(spec.items)
    weight = 1.0 / (rank + 1.0) ** spec.zipf
    order = np.argsort(item_cluster, kind="stable")
    bounds = np.searchsorted(item_cluster[order], np.arange(c + 1))
    pick = np.bincount(item_cluster, weights=weight, minlength=c) ** 0.5
    return _Structure(cluster_media, genres, tags, item_cluster, weight, order,
                      np.cumsum(weight[order]), bounds, pick / pick.sum())


def _user_tastes(spec: LargeSpec, st: _Structure, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each user's one to three clusters (-1 padded, distinct) and their weights."""
    n = spec.users
    k = rng.choice(3, size=n, p=[0.35, 0.4, 0.25]) + 1
    k = np.minimum(k, spec.clusters)
    top = np.full((n, 3), -1, dtype=np.int64)
    logp = np.log(st.cluster_pick)[None, :]
    step = max(1, 4_000_000 // spec.clusters)  # users per block: memory stays bounded
    for a in range(0, n, step):
        # Gumbel top-3 draws distinct clusters for a block of users at once.
        keys = logp + rng.gumbel(size=(min(n, a + step) - a, spec.clusters))
        best = (np.argpartition(-keys, 2, axis=1)[:, :3] if spec.clusters > 3
                else np.argsort(-keys, axis=1))
        order = np.argsort(-np.take_along_axis(keys, best, axis=1), axis=1)
        top[a:a + len(keys), :best.shape[1]] = np.take_along_axis(best, order, axis=1)
    slot = np.arange(3)[None, :]
    clusters = np.where(slot < k[:, None], top, -1).astype(np.int16)
    w = rng.dirichlet(np.full(3, 1.5), size=n) * (clusters >= 0)
    return clusters, (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def _events_per_user(spec: LargeSpec, rng: np.random.Generator) -> np.ndarray:
    """Log-normal counts summing exactly to ``spec.events``, at least ``min_per_user``."""
    raw = rng.lognormal(mean=0.0, sigma=1.0, size=spec.users)
    spare = spec.events - spec.min_per_user * spec.users
    share = raw / raw.sum() * spare
    sizes = np.floor(share).astype(np.int64)
    left = spare - int(sizes.sum())
    if left:  # largest remainders first, so the total is exact
        sizes[np.argsort(sizes - share)[:left]] += 1
    return sizes + spec.min_per_user


# ---------------------------------------------------------------- the catalog


def _catalog_chunk(spec: LargeSpec, st: _Structure, start: int, stop: int,
                   rng: np.random.Generator) -> dict[str, list[object]]:
    media = list(MEDIA_SHARE)
    cl = st.item_cluster[start:stop]
    m_idx = st.cluster_media[cl]
    n = stop - start
    year = np.clip(np.round(2024 - rng.exponential(12.0, n)), 1930, 2025).astype(int)
    w1, w2 = rng.integers(len(_WORDS), size=(2, n))
    extra_g = rng.random(n) < 0.2
    extra_t = rng.integers(len(TAGS), size=n)
    creator = rng.integers(0, 50, size=n)
    dur = np.empty(n)
    for j, m in enumerate(media):
        sel = m_idx == j
        mean, sd, floor = _DURATION[m]
        dur[sel] = np.maximum(floor, rng.normal(mean, sd, int(sel.sum())))
    dur = np.round(dur, 1)
    rows: dict[str, list[object]] = {k: [] for k in (
        "id", "title", "media_type", "year", "duration_min", "genres", "tags", "description",
        "creators", "language")}
    for r in range(n):
        i, c, m = start + r, int(cl[r]), media[m_idx[r]]
        genres = list(st.cluster_genres[c])
        if extra_g[r]:
            pool = MEDIA_GENRES[m]
            g = pool[(i * 7) % len(pool)]
            if g not in genres:
                genres.append(g)
        tags = [*st.cluster_tags[c], TAGS[extra_t[r]]] if TAGS[extra_t[r]] not in \
            st.cluster_tags[c] else list(st.cluster_tags[c])
        words = f"{_WORDS[w1[r]]} {_WORDS[w2[r]]}".title()
        rows["id"].append(item_id(i, m))
        rows["title"].append(f"Synthetic {m.replace('_', ' ')} {i}: {words}")
        rows["media_type"].append(m)
        rows["year"].append(int(year[r]))
        rows["duration_min"].append(float(dur[r]))
        rows["genres"].append(genres)
        rows["tags"].append(tags)
        rows["description"].append(
            f"Synthetic test item (generated, not a real title): a {' and '.join(genres)} "
            f"{m.replace('_', ' ')}, {tags[0]} and {tags[1]}.")
        rows["creators"].append([f"Synthetic Creator {c}-{int(creator[r])}"])
        rows["language"].append("en")
    return rows


def _write_catalog(spec: LargeSpec, st: _Structure, path: Path, seed: int,
                   on_progress: Callable[[str, int, int], None] | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng([seed, 1])
    chunk = 100_000
    writer = None
    try:
        for start in range(0, spec.items, chunk):
            stop = min(spec.items, start + chunk)
            table = pa.Table.from_pydict(_catalog_chunk(spec, st, start, stop, rng))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            if on_progress is not None:
                on_progress("catalog", stop, spec.items)
    finally:
        if writer is not None:
            writer.close()


# ---------------------------------------------------------------- the interactions


def _event_chunk(spec: LargeSpec, st: _Structure, tastes: tuple[np.ndarray, np.ndarray],
                 sizes: np.ndarray, u0: int, u1: int, rng: np.random.Generator
                 ) -> dict[str, np.ndarray]:
    """Events of users ``u0..u1`` as arrays (user index, item index, time, like)."""
    clusters, weights = tastes
    counts = sizes[u0:u1]
    user = np.repeat(np.arange(u0, u1, dtype=np.int64), counts)
    n = user.size
    cumw = np.cumsum(weights[u0:u1], axis=1)[user - u0]
    slot = np.minimum((rng.random(n)[:, None] > cumw).sum(axis=1), 2)
    cluster = clusters[user, slot].astype(np.int64)
    noise = rng.random(n) < spec.noise
    first_pos = st.bounds[cluster]
    lo = np.where(first_pos > 0, st.cum[np.maximum(first_pos - 1, 0)], 0.0)
    hi = st.cum[st.bounds[cluster + 1] - 1]
    lo[noise], hi[noise] = 0.0, st.cum[-1]
    pos = np.searchsorted(st.cum, lo + rng.random(n) * (hi - lo), side="right")
    first = np.where(noise, 0, st.bounds[cluster])
    last = np.where(noise, spec.items - 1, st.bounds[cluster + 1] - 1)
    item = st.order[np.clip(pos, first, last)]
    # Times: each user starts somewhere in the ten years and plays about daily from there.
    gaps = rng.exponential(DAY, n)
    csum = np.cumsum(gaps)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    base = csum[offsets] - gaps[offsets]
    start = START_UNIX + rng.integers(0, 3000 * DAY, size=u1 - u0)
    ts = (start[user - u0] + (csum - np.repeat(base, counts))).astype(np.int64)
    like = ~noise & (rng.random(n) < spec.like_share)
    return {"user": user, "item": item, "ts": ts, "like": like}


def _write_events(spec: LargeSpec, st: _Structure, tastes: tuple[np.ndarray, np.ndarray],
                  sizes: np.ndarray, path: Path, seed: int,
                  on_progress: Callable[[str, int, int], None] | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng([seed, 2])
    user_names = np.array([user_id(u) for u in range(spec.users)], dtype=object)
    item_names = np.array([item_id(i, m) for i, m in enumerate(
        np.array(list(MEDIA_SHARE))[st.cluster_media[st.item_cluster]])], dtype=object)
    schema = pa.schema([("user_id", pa.string()), ("item_id", pa.string()),
                        ("timestamp", pa.int64()), ("event", pa.string()),
                        ("value", pa.float64())])
    bounds = np.searchsorted(np.cumsum(sizes), np.arange(spec.chunk_events, spec.events,
                                                         spec.chunk_events), side="right")
    edges = [0, *sorted(set(int(b) for b in bounds) - {0, spec.users}), spec.users]
    done = 0
    with pq.ParquetWriter(path, schema) as writer:
        for u0, u1 in zip(edges[:-1], edges[1:], strict=False):
            ev = _event_chunk(spec, st, tastes, sizes, u0, u1, rng)
            table = pa.table({
                "user_id": pa.array(user_names[ev["user"]], pa.string()),
                "item_id": pa.array(item_names[ev["item"]], pa.string()),
                "timestamp": ev["ts"],
                "event": pa.DictionaryArray.from_arrays(
                    ev["like"].astype(np.int8), pa.array(["play", "like"])).cast(pa.string()),
                "value": np.ones(ev["user"].size),
            }, schema=schema)
            writer.write_table(table)
            done += ev["user"].size
            if on_progress is not None:
                on_progress("events", done, spec.events)


# ---------------------------------------------------------------- the whole


def generate_large(spec: LargeSpec, out: str | Path, *,
                   on_progress: Callable[[str, int, int], None] | None = None
                   ) -> GenerateReport:
    """Write a SYNTHETIC catalog, interaction log and planted truth into ``out``.

    The same spec (seed included) gives the same files. Memory stays bounded by
    ``spec.chunk_events`` events and 100,000 catalog rows at a time (plus a few arrays of
    one number per item and per user).
    """
    spec = spec.resolved()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng([spec.seed, 0])
    st = _structure(spec, rng)
    tastes = _user_tastes(spec, st, rng)
    sizes = _events_per_user(spec, rng) if spec.events else np.zeros(spec.users, np.int64)
    _write_catalog(spec, st, out / "catalog.parquet", spec.seed, on_progress)
    _write_events(spec, st, tastes, sizes, out / "interactions.parquet", spec.seed, on_progress)
    _write_truth(spec, st, tastes, out)
    return GenerateReport(items=spec.items, events=int(sizes.sum()), users=spec.users,
                          clusters=spec.clusters, seconds=time.perf_counter() - started,
                          files=("catalog.parquet", "interactions.parquet", "truth.npz",
                                 "truth.json"))


def _write_truth(spec: LargeSpec, st: _Structure, tastes: tuple[np.ndarray, np.ndarray],
                 out: Path) -> None:
    media = list(MEDIA_SHARE)
    np.savez_compressed(out / "truth.npz", item_cluster=st.item_cluster.astype(np.int16 if
                        spec.clusters < 32_000 else np.int32),
                        user_clusters=tastes[0], user_weights=tastes[1])
    meta = {"synthetic": True, "spec": asdict(spec),
            "item_id": "<media prefix>-syn-<7-digit catalog position>",
            "user_id": "syn-u<7-digit user position>",
            "clusters": [{"media_type": media[int(m)], "genres": list(g), "tags": list(t)}
                         for m, g, t in zip(st.cluster_media, st.cluster_genres,
                                            st.cluster_tags, strict=True)]}
    (out / "truth.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def load_truth(folder: str | Path) -> PlantedTruth:
    """The planted structure written by :func:`generate_large` into ``folder``."""
    folder = Path(folder)
    meta = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    with np.load(folder / "truth.npz") as z:
        return PlantedTruth(item_cluster=z["item_cluster"].astype(np.int32),
                            user_clusters=z["user_clusters"].astype(np.int32),
                            user_weights=z["user_weights"], clusters=meta["clusters"],
                            spec=meta["spec"])
