"""The first-run demo path: recommendations for one demo user, printed in the terminal.

Until the full pipeline (fine-tuned retrieval + learned ranker + explanations) is wired
into the demo, this ranks with a transparent content profile: each candidate's genres and
tags are matched against the labels of the user's liked and played items (disliked items
count against), with popularity breaking ties. The reply names the method it used.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from assistant.settings import Settings

__all__ = ["demo_recommendations", "profile_recommend"]

_EVENT_WEIGHT = {"like": 2.0, "play": 1.0, "rating": 1.0, "skip": -0.5, "dislike": -2.0}


def profile_recommend(dataset, user_id: str, k: int = 10) -> list[dict[str, Any]]:
    """Rank unseen items by label overlap with the user's history; returns dicts with the
    item, its score and the labels that matched."""
    cat = dataset.catalog
    df = dataset.interactions.df
    mine = df[df["user_id"] == user_id]
    if mine.empty:
        raise KeyError(f"unknown user {user_id!r}: no interactions in {dataset.name}")
    weights: Counter[str] = Counter()
    for item_id, event, value in zip(mine["item_id"], mine["event"], mine["value"], strict=True):
        w = _EVENT_WEIGHT.get(str(event), 1.0)
        if event == "rating":
            w = (float(value) - 3.0) / 2.0
        for label in set(cat[str(item_id)].genres) | set(cat[str(item_id)].tags):
            weights[label] += w
    seen = set(mine["item_id"].astype(str))
    pop = df["item_id"].astype(str).value_counts()
    max_pop = float(pop.max()) if len(pop) else 1.0
    scored = []
    for item in cat:
        if item.id in seen:
            continue
        labels = set(item.genres) | set(item.tags)
        matched = sorted((lbl for lbl in labels if weights[lbl] > 0), key=lambda lbl: -weights[lbl])
        score = sum(weights[lbl] for lbl in labels) / np.sqrt(len(labels) + 1)
        score += 0.5 * float(pop.get(item.id, 0)) / max_pop
        scored.append((score, item, matched[:3]))
    scored.sort(key=lambda t: (-t[0], t[1].id))
    return [{"item": it, "score": round(float(s), 4), "matched": m} for s, it, m in scored[:k]]


def demo_recommendations(settings: Settings, user_id: str | None = None, k: int = 10) -> dict[str, Any]:
    """Recommendations for a demo user, as plain data for the CLI."""
    from retrieval.dataset import load_dataset

    ds = load_dataset("demo" if settings.data.dataset == "demo" else settings.data.dataset,
                      seed=settings.data.seed)
    users = list(ds.users) or ds.interactions.users()
    uid = user_id or users[0]
    recs = profile_recommend(ds, uid, k)
    df = ds.interactions.df
    hist = df[df["user_id"] == uid].sort_values("timestamp").tail(8)
    return {
        "dataset": ds.describe(),
        "user_id": uid,
        "taste": " + ".join(ds.users.get(uid, ())) or "unknown",
        "method": "content profile (genre and tag overlap with the user's history, plus popularity)",
        "history": [
            {"event": str(e), **_brief(ds.catalog[str(i)])}
            for i, e in zip(hist["item_id"], hist["event"], strict=True)
        ],
        "recommendations": [
            {**_brief(r["item"]), "id": r["item"].id, "score": r["score"],
             "why": ("matches your taste for " + ", ".join(r["matched"])) if r["matched"]
             else "popular with other listeners and viewers"}
            for r in recs
        ],
    }


def _brief(item) -> dict[str, Any]:
    return {"title": item.title, "media_type": item.media_type.value, "year": item.year}
