"""Seeded generator of the demo's SYNTHETIC interactions.

Every generated user mixes one or two :data:`PROFILES`. An item's affinity for a user is
the profile weights summed over the item's media type, genres and tags, plus noise; the
user plays items drawn in proportion to ``exp(affinity)`` times a popularity prior, likes
the ones they enjoyed most, skips some music and podcasts that did not fit, and dislikes
a few things from outside their taste. Times advance by exponential gaps from a start date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from retrieval.catalog import Catalog
from retrieval.demo.profiles import PROFILES, TasteProfile
from retrieval.interactions import Interactions

__all__ = ["DemoUsers", "generate_interactions"]

_START = 1_704_067_200  # 2024-01-01T00:00:00Z
_SPAN_DAYS = 540
_SKIPPABLE = {"music_track", "album", "podcast"}


@dataclass(frozen=True)
class DemoUsers:
    """The generated users: id -> the profile names they were drawn from, and their persona
    (the profile their history follows most, and the other one when it shows too)."""

    profiles: dict[str, tuple[str, ...]]
    personas: dict[str, str] = field(default_factory=dict)

    def describe(self, user_id: str) -> str:
        return " + ".join(self.profiles[user_id])


def _feature_matrix(catalog: Catalog, profiles: tuple[TasteProfile, ...]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affinity of every profile (rows) for every item (columns), the dislike part, and
    whether the item is of the profile's core genres (in a media type it uses)."""
    like = np.zeros((len(profiles), len(catalog)), dtype=np.float64)
    dislike = np.zeros_like(like)
    core = np.zeros(like.shape, dtype=bool)
    for j, item in enumerate(catalog):
        labels = set(item.genres) | set(item.tags)
        decade = f"{item.year // 10 * 10}s" if item.year else ""
        for p, prof in enumerate(profiles):
            media = prof.media.get(item.media_type.value, 0.0)
            hits = sum(w for label, w in prof.likes.items() if label in labels)
            bad = sum(w for label, w in prof.dislikes.items() if label in labels)
            # Items of a media type the profile never uses get a strong penalty.
            like[p, j] = hits + prof.decades.get(decade, 0.0) + 2.0 * np.log(media + 0.02)
            dislike[p, j] = bad
            core[p, j] = media >= 0.2 and bool(prof.core & set(item.genres))
    return like, dislike, core


def _persona(chosen: np.ndarray, mix: np.ndarray, core: np.ndarray, liked: np.ndarray,
             profiles: tuple[TasteProfile, ...]) -> str:
    """The persona of the chosen profile whose core genres the user's liked and played
    items follow most, and ", also <the other>" when that one shows in a quarter of them."""
    shares = [float(core[c, liked].mean()) if len(liked) else 0.0 for c in chosen]
    order = sorted(range(len(chosen)), key=lambda i: (shares[i], mix[i]), reverse=True)
    text = profiles[chosen[order[0]]].persona
    if len(order) > 1 and shares[order[1]] >= 0.25:
        text += f", also {profiles[chosen[order[1]]].name}"
    return text


def _draw_items(rng: np.random.Generator, affinity: np.ndarray, log_pop: np.ndarray,
                fitting: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows a user played (drawn by taste and popularity) and the few they disliked
    (from the bottom third of their affinity); ``fitting`` counts the items of their taste."""
    n_items = len(affinity)
    # A taste the catalog holds few titles of gives a shorter history, not one padded
    # with whatever else is popular (the persona must describe the history).
    n_plays = int(np.clip(rng.lognormal(mean=np.log(22), sigma=0.6), 5,
                          max(5, min(120, n_items // 2, int(1.5 * fitting)))))
    logits = 1.2 * affinity + 0.8 * log_pop
    p = np.exp(logits - logits.max())
    p /= p.sum()
    played = rng.choice(n_items, size=n_plays, replace=False, p=p)
    n_dis = int(rng.poisson(1.2))
    low = np.setdiff1d(np.argsort(affinity)[: max(1, n_items // 3)], played)
    disliked: np.ndarray = (rng.choice(low, size=min(n_dis, len(low)), replace=False)
                            if n_dis and len(low) else np.empty(0, dtype=played.dtype))
    return played, np.asarray(disliked, dtype=played.dtype)


def generate_interactions(
    catalog: Catalog,
    n_users: int = 1500,
    *,
    seed: int = 0,
    profiles: tuple[TasteProfile, ...] = PROFILES,
) -> tuple[Interactions, DemoUsers]:
    """Generate SYNTHETIC interactions for ``n_users`` users over ``catalog``.

    The same catalog, ``n_users`` and ``seed`` always give the same log.

    Returns:
        The interaction log (events play, like, dislike, skip with timestamps) and the
        profile mixture and persona of each user.
    """
    if n_users < 1:
        raise ValueError(f"n_users must be at least 1, got {n_users}")
    if len(catalog) < 2:
        raise ValueError("the demo generator needs a catalog of at least 2 items")
    rng = np.random.default_rng(seed)
    ids = np.array(catalog.ids)
    media = np.array([it.media_type.value for it in catalog])
    like, dislike, core = _feature_matrix(catalog, profiles)
    # A popularity prior shared by everyone: a few items are much more played than others.
    popularity = rng.lognormal(mean=0.0, sigma=0.8, size=len(catalog))
    log_pop = np.log(popularity)

    users, items, times, events, values = [], [], [], [], []
    user_profiles: dict[str, tuple[str, ...]] = {}
    personas: dict[str, str] = {}
    width = max(4, len(str(n_users)))
    for u in range(n_users):
        uid = f"demo-{u + 1:0{width}d}"
        k = 1 if rng.random() < 0.55 else 2
        chosen = rng.choice(len(profiles), size=k, replace=False)
        mix = rng.dirichlet(np.ones(k) * 2.0)
        user_profiles[uid] = tuple(profiles[c].name for c in chosen)
        taste = (mix[:, None] * like[chosen]).sum(0) - 1.5 * (mix[:, None] * dislike[chosen]).sum(0)
        affinity = taste + rng.normal(0.0, 0.6, size=len(catalog))
        fitting = int(core[chosen].any(axis=0).sum())
        played, disliked = _draw_items(rng, affinity, log_pop, fitting)

        order = np.concatenate([played, np.asarray(disliked, dtype=played.dtype)])
        rng.shuffle(order)
        start = _START + int(rng.uniform(0, _SPAN_DAYS - 90) * 86_400)
        gaps = rng.exponential(scale=2.5 * 86_400, size=len(order)).astype(np.int64) + 600
        stamps = start + np.cumsum(gaps)
        cut_like = np.quantile(affinity[played], 0.6)
        dis_set = set(int(d) for d in disliked)
        positive = []
        for j, ts in zip(order, stamps, strict=True):
            j = int(j)
            if j in dis_set:
                ev, val = "dislike", -1.0
            elif affinity[j] >= cut_like and rng.random() < 0.7:
                ev, val = "like", 1.0
            elif (media[j] in _SKIPPABLE and affinity[j] < np.quantile(affinity[played], 0.2)
                  and rng.random() < 0.5):
                ev, val = "skip", -0.5
            else:
                ev, val = "play", 1.0
            if ev in ("play", "like"):
                positive.append(j)
            users.append(uid)
            items.append(ids[j])
            times.append(int(ts))
            events.append(ev)
            values.append(val)
        personas[uid] = _persona(chosen, mix, core, np.array(positive, dtype=np.int64), profiles)

    import pandas as pd

    frame = pd.DataFrame({"user_id": users, "item_id": items, "timestamp": times,
                          "event": events, "value": values})
    return Interactions(frame), DemoUsers(user_profiles, personas)
