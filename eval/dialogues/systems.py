"""The systems a dialogue replay compares, on the same test points.

- ``popularity``: the items most rated in the bundle's interactions, the same list for
  every turn.
- ``minilm``: the whole context (every turn before the recommender's, movie names in the
  text) encoded by the bundle's encoder, cosine against the catalog's item vectors.
- ``encore``: Encore's turn, zero-shot. The rules parser reads each seeker turn of the
  context; the titles found there (``titles``: the parser's own references; ``year``: spans
  written "Name (year)" resolved with their year, the thin step this replay adds while the
  parser learns to read chat text; ``mentions``: the data set's annotations, an oracle)
  and, with ``recommender_titles``, the titles the recommender named earlier steer the
  history as likes, so the pipeline's profile and its collaborative candidates start from
  them; titles the parser reads as disliked are excluded (``roles``); genres, tags and
  moods the seeker named shape
  the request; constraints a MovieLens catalog cannot judge (lengths, languages, counts)
  are dropped. A popularity floor keeps titles with fewer than ``min_ratings`` ratings out
  of the list: on an 86k-title catalog where 9.7k titles were ever rated, the rest would
  otherwise fill generic requests. The candidates are wide (3,000: most of the 3.6k titles
  above the floor) and the blend leans on what people were watching when the dialogues
  were held: the recent-popularity window is the last 180 days of the rating log (ReDial
  was collected in 2018, when ml-latest-small's log ends; a quarter of the films named are
  from 2016-2018). The ``mentioned`` most recently named titles lead the list: people name
  a film again in a dialogue, which the protocol's "all" pairs count and its "novel" pairs
  do not.

Each system ranks a batch of :class:`Replay` and returns catalog ids, best first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from eval.dialogues.mapping import TitleMatcher
from eval.dialogues.redial import TestPoint, Turn

if TYPE_CHECKING:
    from retrieval.bundle import Bundle
    from retrieval.filter import TurnFilter
    from retrieval.pipeline import Pipeline
    from retrieval.request import Request, TitleRef
    from retrieval.stats import InteractionStats

__all__ = ["DIALOGUE_SYSTEMS", "DialogueSystem", "EncoreDialogue", "EncoreDialogueConfig",
           "MiniLMCosine", "Popularity", "Replay", "encore_pipeline", "make_dialogue_system"]

DIALOGUE_SYSTEMS = ("encore", "popularity", "minilm")
# Blend weights over the defaults, chosen on the first half of the ReDial development
# dialogues (eval/experiments/redial_blend.py searched them, redial_tune.py confirmed them):
# recent popularity (the dialogues' own time), the genres the seeker named (soft) and the
# collaborative neighbours of the named titles carry a zero-shot conversation further than
# the text does; overall popularity and the history-only features are off.
DIALOGUE_BLEND = {"request_cosine": 1.0, "genre_request": 2.0, "tag_request": 1.0,
                  "year_fit": 0.5, "duration_fit": 0.0, "media_match": 0.0,
                  "ease_score": 0.5, "knn_score": 0.25, "knn_recent_mean": 0.25,
                  "knn_recent_max": 0.0, "profile_cosine": 0.25, "recent_max_cosine": 0.0,
                  "genre_profile": 1.0, "tag_profile": 0.0, "dislike_max_cosine": 0.0,
                  "retrieval_score": 0.3, "popularity": 0.0, "recent_popularity": 2.0}
_YEAR = re.compile(r"\((\d{4})\)")


@dataclass(frozen=True)
class Replay:
    """A test point mapped to the catalog.

    Attributes:
        point: The test point (context turns, ReDial ids).
        targets: The catalog id of each target movie (``None``: not in the catalog).
        earlier: Catalog ids of the movies mentioned before the turn.
        turn_items: Per context turn, the catalog ids of the movies it mentions (the
            data set's own annotation; only ``recommender_titles`` reads it).
    """

    point: TestPoint
    targets: list[str | None]
    earlier: list[str]
    turn_items: list[list[str]] = field(default_factory=list)

    @property
    def context_text(self) -> str:
        return "\n".join(t.text for t in self.point.context)


class DialogueSystem(Protocol):
    """Ranks the catalog for each replay: catalog ids, best first, at least ``k``."""

    name: str

    def rank(self, replays: Sequence[Replay], k: int) -> list[list[str]]: ...


class Popularity:
    """The ``k`` items with the most distinct raters in the bundle's interactions."""

    name = "popularity"

    def __init__(self, bundle: Bundle) -> None:
        df = bundle.interactions.df
        per_item = df.groupby("item_id", observed=True)["user_id"].nunique()
        self.order = [str(i) for i in per_item.sort_values(ascending=False, kind="stable").index]

    def rank(self, replays: Sequence[Replay], k: int) -> list[list[str]]:
        return [self.order[:k] for _ in replays]


class MiniLMCosine:
    """The context text's embedding against every item vector (exact cosine)."""

    name = "minilm"

    def __init__(self, bundle: Bundle, batch: int = 64) -> None:
        self.encoder = bundle.encoder
        vecs = np.asarray(bundle.item_vectors, dtype=np.float32)
        self.vectors = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        self.ids = list(bundle.item_ids)
        self.batch = batch

    def rank(self, replays: Sequence[Replay], k: int) -> list[list[str]]:
        out: list[list[str]] = []
        for lo in range(0, len(replays), self.batch):
            texts = [r.context_text for r in replays[lo:lo + self.batch]]
            q = np.asarray(self.encoder.encode(texts), dtype=np.float32)
            q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
            scores = q @ self.vectors.T
            top = np.argpartition(-scores, k, axis=1)[:, :k]
            for row, cand in zip(scores, top, strict=True):
                best = cand[np.argsort(-row[cand], kind="stable")]
                out.append([self.ids[j] for j in best])
        return out


@dataclass(frozen=True)
class EncoreDialogueConfig:
    """How Encore reads a dialogue's context (see the module docstring).

    Attributes:
        min_ratings: Items with fewer distinct raters are left out unless named (0: off).
        titles: Where the seeker's titles come from: ``parser``, ``year`` or ``mentions``.
        roles: Exclude titles the parser reads as disliked (else every title is a like).
        recommender_titles: Also steer with the titles the recommender named earlier.
        years: The year range the seeker stated: ``hard`` (a filter), ``soft`` (only the
            ranker's year-fit feature reads it: "it's been a while since I've seen a brand
            new movie" must not empty the list) or ``off``.
        query_turns: How many of the last seeker turns form the request text (0: none).
        label_query: Without request text, encode the genres, tags and moods the seeker
            named with the liked titles (else only the titles are encoded).
        collaborative: Candidate places for collaborative picks when there is a request
            (``None``: the bundle's setting).
        candidates: Candidates per turn (``None``: the bundle's setting).
        als: Also fit ALS factors over the rated items (the 'factors' features; by default
            the statistics fit them only where EASE does not fit).
        mmr_lambda: The diversity re-ranking's relevance weight (1.0: off; ``None``: the
            bundle's setting).
        recent_days: The window of the recent-popularity feature, ending at the log's last
            rating (people in 2018 talk about the films of 2017 and 2018; a MovieLens log
            of the same time rates them less than the classics overall).
        blend: Weights of the blend ranker over its defaults (``None``: the bundle's ranker).
        mentioned: How many of the titles named earlier in the dialogue (most recent first)
            lead the list (0: none). People in a dialogue name a film again ("yes, Inception
            (2010) is great, and ..."): the protocol's "all" pairs count those mentions,
            the "novel" ones drop them (and drop them from the list first, so this setting
            changes no novel figure).
    """

    min_ratings: int = 5
    titles: Literal["parser", "year", "mentions"] = "year"
    roles: bool = True
    recommender_titles: bool = True
    years: Literal["hard", "soft", "off"] = "hard"
    query_turns: int = 0
    label_query: bool = True
    recent_days: float = 180.0
    collaborative: int | None = 1500
    candidates: int | None = 3000
    mmr_lambda: float | None = None
    als: bool = False
    blend: dict[str, float] | None = field(default_factory=lambda: dict(DIALOGUE_BLEND))
    mentioned: int = 3


class EncoreDialogue:
    """Encore's turn on a dialogue's context: the rules parser, then the pipeline."""

    name = "encore"

    def __init__(self, bundle: Bundle, config: EncoreDialogueConfig | None = None, *,
                 pipeline: Pipeline | None = None, parser: Any = None) -> None:
        from assistant.parsers import make_parser

        self.config = config or EncoreDialogueConfig()
        self.pipeline = pipeline or encore_pipeline(bundle, self.config)
        self.parser = parser or make_parser("rules", bundle.catalog)
        self._parsed: dict[str, Request] = {}
        self._matcher: TitleMatcher | None = None
        counts = self.pipeline.stats.popularity(self.pipeline.stats.rows(bundle.catalog.ids))
        self._floor = counts >= self.config.min_ratings
        index: Any = getattr(self.pipeline.retriever, "index", None)
        self._keys = index.keys_of(bundle.catalog.ids) if hasattr(index, "keys_of") else None
        self._index: Any = index

    def parse(self, turn: Turn) -> Request:
        """The rules parser's reading of one turn (remembered by text)."""
        got = self._parsed.get(turn.text)
        if got is None:
            got = self._parsed[turn.text] = self.parser.parse(turn.text)
        return got

    def seeker_titles(self, replay: Replay, parsed: list[Request]) -> list[TitleRef]:
        """The titles of the seeker's turns, by the ``titles`` setting, with their roles."""
        from retrieval.request import TitleRef, TitleRole

        seeker = [(t, items) for t, items in zip(replay.point.context, replay.turn_items,
                                                 strict=True) if t.role == "seeker"]
        out: list[TitleRef] = []
        for (turn, items), req in zip(seeker, parsed, strict=True):
            nots = {t.item_id for t in req.titles if t.role == TitleRole.not_}
            if self.config.titles == "parser":
                found = [t.item_id for t in req.titles if t.item_id]
            elif self.config.titles == "mentions":
                found = list(items)
            else:
                found = self._year_titles(turn.text)
            out += [TitleRef(text=i, item_id=i,
                             role=TitleRole.not_ if self.config.roles and i in nots
                             else TitleRole.like) for i in found]
        return out

    def _year_titles(self, text: str) -> list[str]:
        """Catalog ids of the spans written "Name (year)": for each year in parentheses,
        the longest run of up to eight words before it (after the previous year) that names
        a film of that year."""
        if self._matcher is None:
            self._matcher = TitleMatcher(self.pipeline.catalog)
        out = []
        start = 0
        for m in _YEAR.finditer(text):
            words = text[start:m.start()].split()[-8:]
            start = m.end()
            for n in range(len(words), 0, -1):
                got = self._matcher.match(f"{' '.join(words[-n:])} ({m.group(1)})")
                if got is not None:
                    out.append(got)
                    break
        return out

    def request(self, replay: Replay) -> Request:
        """The request of one test point: the seeker's turns read and merged."""
        from retrieval.request import Request, TitleRef, TitleRole

        c = self.config
        seeker = [t for t in replay.point.context if t.role == "seeker"]
        parsed = [self.parse(t) for t in seeker]
        refs = self.seeker_titles(replay, parsed)
        likes = [t for t in refs if t.role != TitleRole.not_]
        nots = [t for t in refs if t.role == TitleRole.not_]
        if c.recommender_titles:
            for turn, items in zip(replay.point.context, replay.turn_items, strict=True):
                if turn.role == "recommender":
                    likes += [TitleRef(text=i, item_id=i) for i in items]
        not_ids = {t.item_id for t in nots}
        titles = [t for t in dict((t.item_id, t) for t in likes).values()
                  if t.item_id not in not_ids] + list(dict((t.item_id, t) for t in nots).values())
        query = " ".join(r.query for r in parsed[-c.query_turns:]) if c.query_turns else ""
        labels = list(dict.fromkeys(x for r in parsed for x in [*r.genres, *r.tags]))
        if not query and c.label_query and labels:
            named = [self.pipeline.catalog[t.item_id].title for t in titles
                     if t.role != TitleRole.not_ and t.item_id is not None
                     and t.item_id in self.pipeline.catalog]
            query = " ; ".join([", ".join(labels), *named])
        years = [r for r in parsed if r.year_min is not None or r.year_max is not None]
        return Request(
            query=" ".join(query.split())[:500],
            genres=list(dict.fromkeys(g for r in parsed for g in r.genres))[:10],
            exclude_genres=list(dict.fromkeys(g for r in parsed for g in r.exclude_genres))[:10],
            tags=list(dict.fromkeys(g for r in parsed for g in r.tags))[:20],
            moods=list(dict.fromkeys(m for r in parsed for m in r.moods))[:5],
            year_min=years[-1].year_min if years and c.years != "off" else None,
            year_max=years[-1].year_max if years and c.years != "off" else None,
            titles=titles[:10])

    def filter(self, request: Request) -> TurnFilter:
        """The pipeline's filter of the request, with the popularity floor."""
        from retrieval.filter import TurnFilter

        if self.config.years == "soft":
            request = request.model_copy(update={"year_min": None, "year_max": None})
        base = self.pipeline.filter(request)
        if self.config.min_ratings <= 0:
            return base
        mask = base.mask & self._floor
        mask.setflags(write=False)
        if self._keys is not None:
            allowed: Any = self._index.allow_list(self._keys[mask])
        else:
            ids = self.pipeline.catalog.ids
            allowed = frozenset(ids[r] for r in np.flatnonzero(mask))
        return TurnFilter(mask, allowed, base.excluded, base.excluded_ids)

    def rank(self, replays: Sequence[Replay], k: int) -> list[list[str]]:
        from retrieval.retriever import History

        out = []
        for r in replays:
            req = self.request(r)
            picks = self.pipeline.recommend(History([]), req, self.filter(req), k=k,
                                            evidence=False)
            ranked = [p.item_id for p in picks]
            if self.config.mentioned > 0:
                recent = list(dict.fromkeys(i for items in reversed(r.turn_items)
                                            for i in items))[:self.config.mentioned]
                ranked = list(dict.fromkeys([*recent, *ranked]))[:k]
            out.append(ranked)
        return out


def encore_pipeline(bundle: Bundle, config: EncoreDialogueConfig | None = None, *,
                    stats: InteractionStats | None = None) -> Pipeline:
    """The bundle's pipeline with ``stats``, else statistics built from its interactions
    with the config's ``recent_days`` (collaborative weights over the rated items of a
    large catalog)."""
    from retrieval.pipeline import Pipeline
    from retrieval.ranker import DEFAULT_BLEND_WEIGHTS, BlendRanker
    from retrieval.train_ranker import stats_from_config

    pc = bundle.pipeline_config
    if config is not None:
        pc = pc.model_copy(update={"stats": pc.stats.model_copy(
            update={"recent_days": config.recent_days, "mf_with_ease": config.als})})
        update: dict[str, Any] = {}
        if config.collaborative is not None:
            update["collaborative_with_request"] = config.collaborative
        if config.candidates is not None:
            update["n_candidates"] = config.candidates
        if update:
            pc = pc.model_copy(update={"retrieval": pc.retrieval.model_copy(update=update)})
        if config.mmr_lambda is not None:
            pc = pc.model_copy(update={"ranker": pc.ranker.model_copy(
                update={"mmr_lambda": config.mmr_lambda})})
    stats = stats or stats_from_config(bundle.interactions, bundle.catalog, pc.stats)
    ranker = bundle.ranker
    blend = config.blend if config is not None else None
    if blend is not None or ranker is None:
        ranker = BlendRanker({**DEFAULT_BLEND_WEIGHTS, **(blend or {})})
    return Pipeline(bundle.catalog, bundle.item_vectors, bundle.encoder, stats,
                    index=bundle.index, ranker=ranker, config=pc)


def make_dialogue_system(name: str, bundle: Bundle, **params: Any) -> DialogueSystem:
    """A system by name (:data:`DIALOGUE_SYSTEMS`).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
    """
    key = name.strip().lower()
    if key == "popularity":
        return Popularity(bundle)
    if key == "minilm":
        return MiniLMCosine(bundle)
    if key == "encore":
        return EncoreDialogue(bundle, EncoreDialogueConfig(**params))
    raise ValueError(f"unknown dialogue system {name!r}; valid: {', '.join(DIALOGUE_SYSTEMS)}")
