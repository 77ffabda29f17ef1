"""Writing request sets from held-out items: the request describes the item by its
genres and tags, never by its title, so any data set with genres or tags yields one.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.interactions import Interactions
    >>> from retrieval.models import Interaction, Item
    >>> cat = Catalog([
    ...     Item(id="1", title="Alien", media_type="movie", genres=["horror", "science fiction"]),
    ...     Item(id="2", title="Heat", media_type="movie", genres=["crime"],
    ...          tags=["heist", "alien"])])
    >>> train = Interactions.from_records([Interaction(user_id="u", item_id="1", timestamp=1)])
    >>> test = Interactions.from_records([Interaction(user_id="u", item_id="2", timestamp=2)])
    >>> out = generate_requests(train, test, cat, seed=0)
    >>> case = out.cases[0]
    >>> case.target_item_ids, case.history_item_ids, case.cutoff_ts
    (['2'], ['1'], 2)
    >>> "heat" in case.request.lower()
    False
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from eval.conversational.requests import RequestCase
from retrieval.catalog import Catalog
from retrieval.interactions import Interactions
from retrieval.models import Item

__all__ = ["GeneratedRequests", "generate_requests", "describe_item"]

_NOUN = {
    "movie": "film",
    "series": "series",
    "episode": "episode",
    "music_track": "song",
    "album": "album",
    "podcast": "podcast",
    "audiobook": "audiobook",
}
_TEMPLATES = (
    "Can you recommend {a_genres} {genres} {noun}{tags_with}?",
    "I'm in the mood for {a_genres} {genres} {noun}{tags_about}.",
    "Looking for something {genres}{tags_with} — {a_noun} {noun}, please.",
    "Any {genres} {noun} you'd suggest{tags_with}?",
    "Suggest me {a_noun} {noun}: {genres}{tags_comma}.",
)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass
class GeneratedRequests:
    """The cases and the counts of held-out items that could not be described."""

    cases: list[RequestCase]
    counts: dict[str, int] = field(default_factory=dict)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _mentions_title(label: str, title: str) -> bool:
    lab, tit = _norm(label), _norm(title)
    if not lab or not tit:
        return False
    return (
        re.search(r"(?<!\w)" + re.escape(tit) + r"(?!\w)", lab) is not None
        or re.search(r"(?<!\w)" + re.escape(lab) + r"(?!\w)", tit) is not None
    )


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe_item(
    item: Item, rng: np.random.Generator, *, max_genres: int = 2, max_tags: int = 2
) -> str | None:
    """A request for ``item`` from up to ``max_genres`` genres and ``max_tags`` tags,
    leaving out any label that contains the title or is contained in it; ``None`` when
    nothing usable is left, or when the text would still contain the title."""
    genres = [g for g in item.genres if not _mentions_title(g, item.title)]
    tags = [t for t in item.tags if not _mentions_title(t, item.title)]
    if not genres and not tags:
        return None
    pick_g = [genres[i] for i in sorted(rng.permutation(len(genres))[:max_genres])]
    pick_t = [tags[i] for i in sorted(rng.permutation(len(tags))[:max_tags])]
    noun = _NOUN.get(item.media_type.value, "title")
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    g_text = _join(pick_g) if pick_g else ""
    t_text = _join(pick_t) if pick_t else ""
    text = template.format(
        genres=g_text or "good",
        a_genres=_article(g_text or "good"),
        a_noun=_article(noun),
        noun=noun,
        tags_with=f" with {t_text}" if t_text else "",
        tags_about=f" about {t_text}" if t_text else "",
        tags_comma=f", {t_text}" if t_text else "",
    )
    text = " ".join(text.split())
    if re.search(r"(?<!\w)" + re.escape(_norm(item.title)) + r"(?!\w)", _norm(text)):
        return None
    return text


def generate_requests(
    history_log: Interactions,
    held_out: Interactions,
    catalog: Catalog,
    *,
    n: int | None = None,
    seed: int = 0,
) -> GeneratedRequests:
    """One request per held-out user (at most ``n``, drawn with ``seed``), describing one of
    their held-out items (drawn with ``seed``); the history is the user's ``history_log``
    items and ``cutoff_ts`` the held-out interaction's time.

    Items without usable genres or tags, and users without history, are skipped and counted.
    """
    counts: dict[str, int] = {}
    hdf = held_out.df
    if len(hdf) == 0:
        return GeneratedRequests([], {"held-out interactions": 0})
    users = list(pd.unique(hdf["user_id"].astype(str)))
    rng = np.random.default_rng([seed, 7])
    if n is not None:
        if n < 1:
            raise ValueError(f"the number of requests must be at least 1, got {n}")
        if n < len(users):
            users = [users[i] for i in sorted(rng.choice(len(users), size=n, replace=False))]
    hist_df = history_log.df
    hist_by_user: dict[str, list[str]] = {}
    if len(hist_df):
        ordered = hist_df.sort_values("timestamp", kind="stable", na_position="first")
        for user, items in ordered.groupby(ordered["user_id"].astype(str), sort=False)["item_id"]:
            hist_by_user[str(user)] = [str(i) for i in items]
    held_by_user = {str(u): g for u, g in hdf.groupby(hdf["user_id"].astype(str), sort=False)}
    cases: list[RequestCase] = []
    no_history = no_labels = 0
    for user in users:
        history = hist_by_user.get(user, [])
        if not history:
            no_history += 1
            continue
        rows = held_by_user[user]
        urng = np.random.default_rng([seed, zlib.crc32(user.encode("utf-8"))])
        order = urng.permutation(len(rows))
        for idx in order:
            row = rows.iloc[int(idx)]
            item = catalog.get(str(row["item_id"]))
            if item is None:
                continue
            text = describe_item(item, urng)
            if text is None:
                continue
            ts = row["timestamp"]
            cases.append(
                RequestCase(
                    user_id=user,
                    request=text,
                    target_item_ids=[item.id],
                    history_item_ids=history,
                    cutoff_ts=None if pd.isna(ts) else int(ts),
                    meta={"generated": True, "genres": list(item.genres), "tags": list(item.tags)},
                )
            )
            break
        else:
            no_labels += 1
    if no_history:
        counts["held-out users without history (no request written)"] = no_history
    if no_labels:
        counts["held-out users whose items have no usable genre or tag (no request written)"] = (
            no_labels
        )
    return GeneratedRequests(cases, counts)
