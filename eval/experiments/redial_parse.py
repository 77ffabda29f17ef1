"""How the rules parser reads real human chat: every ReDial seeker message, parsed alone.

ReDial (Li et al., NeurIPS 2018) holds conversations in which one person asks another for
films. This script runs ``make_parser("rules", catalog).parse(text)`` over every message the
seeker wrote (each ``@<movieId>`` replaced by the movie's name and year, as a replay shows it),
with a catalog of the MovieLens movies list, and prints what a parser tuned on written
requests gets wrong on human text:

- **spurious amounts**: the share of messages with a duration (``max_minutes`` /
  ``min_minutes``), a year bound, a count, and the ``unsupported_language`` issue (ReDial is in
  English, so every such message is a false positive);
- **title precision**: of the catalog ids the parser resolved, the share that are a movie of
  the dialogue's ``movieMentions`` (a movie somebody in the dialogue named);
- **title recall**: of the (message, movie) pairs where the seeker's message names a movie,
  the share whose movie the parser resolved in that message;
- **typo and genre words**: genres read from the messages, and the words the parser's
  speller corrected, with examples, to check them by eye.

ReDial movies are mapped onto MovieLens ids by title and year (the title with its article
moved back, lower case, punctuation dropped; the year, else one year off); pairs whose movie
has no MovieLens match are left out of recall and counted.

Run (a minute or two; about 4,000 messages against 86,537 titles)::

    python -m eval.experiments.redial_parse
    python -m eval.experiments.redial_parse --show 20   # and print examples of each kind
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from assistant.parsers import make_parser
from assistant.parsers.vocabulary import title_key
from retrieval.catalog import Catalog
from retrieval.loaders.movielens import GENRE_MAP, split_movielens_title
from retrieval.models import Item

__all__ = ["Tally", "load_movies", "main", "seeker_messages"]

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "redial-dev"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/redial-dev")
_MENTION = re.compile(r"@(\d+)")


def load_movies(path: Path) -> Catalog:
    """The MovieLens ``movies.csv`` at ``path`` as a catalog of films (no ratings needed)."""
    items = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            title, year = split_movielens_title(row["title"])
            genres = [GENRE_MAP.get(g.lower(), g.lower()) for g in row["genres"].split("|")]
            items.append(Item(id=row["movieId"], title=title, media_type="movie", year=year,
                              genres=[g for g in genres if g]))
    return Catalog(items)


def _name_key(title: str, year: int | None) -> tuple[str, int | None]:
    return title_key(title), year


def movie_index(catalog: Catalog) -> dict[tuple[str, int | None], list[str]]:
    """(title key, year) -> MovieLens ids; also under the title before a parenthesis (the
    MovieLens list adds original titles in parentheses: "Amelie (Fabuleux destin...)"), and
    under ``"main:"`` + the title before a subtitle."""
    index: dict[tuple[str, int | None], list[str]] = defaultdict(list)
    for item in catalog:
        index[_name_key(item.title, item.year)].append(item.id)
        main = item.title.split(" (")[0]
        if main != item.title:
            index[_name_key(main, item.year)].append(item.id)
        head = re.split(r":| - ", main)[0]
        if head != main:  # "Jumanji: Welcome to the Jungle" under "main:jumanji"
            index[("main:" + title_key(head), item.year)].append(item.id)
    return index


def redial_to_ml(name: str, index: dict[tuple[str, int | None], list[str]]) -> set[str]:
    """The MovieLens ids of a ReDial movie name ("Spider-Man  (2002)"); empty if none.

    By title and year in ``index``, else one year off (release years differ between
    sources), else by the name before a subtitle, with the year ("Jumanji (2017)" is
    MovieLens' "Jumanji: Welcome to the Jungle (2017)")."""
    title, year = split_movielens_title(" ".join(name.split()))
    ids = index.get(_name_key(title, year)) or []
    if not ids and year is not None:
        ids = (index.get(_name_key(title, year - 1)) or []) + (
            index.get(_name_key(title, year + 1)) or [])
    if not ids and year is not None:
        ids = index.get(("main:" + title_key(title), year)) or []
    return set(ids)


def _name_of(names: dict[str, str], m: re.Match[str]) -> str:
    return names.get(m.group(1), m.group(0))


@dataclass
class Message:
    """One seeker message, its text as a replay shows it, and what the dialogue names."""

    text: str
    named: set[str]  # MovieLens ids of the movies this message names
    unmapped: int  # movies this message names that have no MovieLens match
    dialogue: set[str]  # MovieLens ids of every movie the dialogue names


def seeker_messages(path: Path, index: dict[tuple[str, int | None], list[str]]
                    ) -> Iterator[Message]:
    """Every seeker message of the dialogues at ``path``, ``@id`` replaced by the name."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            names = {k: " ".join(v.split()) for k, v in (d.get("movieMentions") or {}).items()
                     if v}
            ml = {k: redial_to_ml(v, index) for k, v in names.items()}
            dialogue = set().union(*ml.values()) if ml else set()
            for msg in d["messages"]:
                if msg["senderWorkerId"] != d["initiatorWorkerId"]:
                    continue
                ids = _MENTION.findall(msg["text"])
                text = _MENTION.sub(partial(_name_of, names), msg["text"])
                named = set().union(*(ml.get(i, set()) for i in ids)) if ids else set()
                unmapped = sum(1 for i in ids if not ml.get(i))
                yield Message(text, named, unmapped, dialogue)


@dataclass
class Tally:
    """What the parser read over all messages."""

    messages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    resolved: int = 0
    resolved_in_dialogue: int = 0
    pairs: int = 0
    pairs_found: int = 0
    unmapped: int = 0
    genres: Counter[str] = field(default_factory=Counter)

    def note(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        self.examples[kind].append(text)

    def share(self, kind: str) -> float:
        return self.counts[kind] / max(1, self.messages)


def tally(messages: Sequence[Message], parser) -> Tally:
    """Parse every message and count what was read."""
    t = Tally()
    for m in messages:
        t.messages += 1
        r = parser.parse(m.text)
        if r.max_minutes is not None or r.min_minutes is not None:
            t.note("duration", f"{m.text!r} -> {r.min_minutes}-{r.max_minutes} min")
        if r.year_min is not None or r.year_max is not None:
            t.note("years", f"{m.text!r} -> {r.year_min}-{r.year_max}")
        if r.count is not None:
            t.note("count", f"{m.text!r} -> {r.count}")
        if "unsupported_language" in r.issues:
            t.note("foreign", repr(m.text))
        if r.exclude_genres:
            t.note("exclude_genres", f"{m.text!r} -> {r.exclude_genres}")
        t.genres.update(r.genres)
        speller = getattr(parser, "speller", None)  # the rules parser's typo corrector
        if speller is not None and (fixed := speller(m.text)[1]):
            t.note("typo", f"{m.text!r}: " + ", ".join(f"{a}->{b}" for a, b in fixed))
        ids = {tr.item_id for tr in r.titles if tr.item_id}
        for tr in r.titles:
            if tr.item_id and tr.item_id not in m.dialogue:
                t.note("wrong_title", f"{m.text!r}: {tr.text!r} -> {tr.item_id}")
        t.resolved += len(ids)
        t.resolved_in_dialogue += len(ids & m.dialogue)
        t.pairs += len(m.named)
        t.pairs_found += len(ids & m.named)
        for missed in m.named - ids:
            t.note("missed_title", f"{m.text!r}: missed {missed}")
        t.unmapped += m.unmapped
    return t


def report(t: Tally, show: int, seconds: float) -> str:
    """The figures of ``t`` as text (with ``show`` examples of each kind)."""
    lines = [
        f"ReDial seeker messages: {t.messages} (parsed in {seconds:.1f} s)",
        f"  with a duration (spurious)      {t.share('duration'):.3f}  ({t.counts['duration']})",
        f"  with a year bound               {t.share('years'):.3f}  ({t.counts['years']})",
        f"  with a count                    {t.share('count'):.3f}  ({t.counts['count']})",
        f"  marked not English (spurious)   {t.share('foreign'):.3f}  ({t.counts['foreign']})",
        f"  with excluded genres            {t.share('exclude_genres'):.3f}  "
        f"({t.counts['exclude_genres']})",
        f"  with a word read as a typo      {t.share('typo'):.3f}  ({t.counts['typo']})",
        f"title precision (resolved ids in the dialogue's mentions)  "
        f"{t.resolved_in_dialogue / max(1, t.resolved):.3f}  "
        f"({t.resolved_in_dialogue}/{t.resolved})",
        f"title recall (named movies resolved in their message)      "
        f"{t.pairs_found / max(1, t.pairs):.3f}  ({t.pairs_found}/{t.pairs}; "
        f"{t.unmapped} named movies not in MovieLens left out)",
        "genres read (top 12): " + ", ".join(f"{g} {n}" for g, n in t.genres.most_common(12)),
    ]
    if show:
        for kind in ("duration", "years", "count", "foreign", "exclude_genres", "typo",
                     "wrong_title", "missed_title"):
            if t.examples[kind]:
                lines.append(f"-- {kind} (first {show} of {len(t.examples[kind])})")
                lines.extend("   " + e for e in t.examples[kind][:show])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA,
                    help="folder with dialogues.jsonl and ml-latest-movies.csv")
    ap.add_argument("--show", type=int, default=0, help="examples to print of each kind")
    ap.add_argument("--limit", type=int, default=0, help="only the first N messages")
    args = ap.parse_args(argv)
    catalog = load_movies(args.data / "ml-latest-movies.csv")
    parser = make_parser("rules", catalog)
    messages = list(seeker_messages(args.data / "dialogues.jsonl", movie_index(catalog)))
    if args.limit:
        messages = messages[:args.limit]
    t0 = time.perf_counter()
    t = tally(messages, parser)
    print(report(t, args.show, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
