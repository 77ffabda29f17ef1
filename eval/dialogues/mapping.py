"""ReDial movies to catalog items, by normalised title and year.

ReDial names a movie ``"Spider-Man  (2002)"`` (sometimes with a double space, sometimes
without a year); MovieLens writes ``"Usual Suspects, The (1995)"``, which the MovieLens
loader (:func:`retrieval.loaders.movielens.split_movielens_title`) turns into the catalog's
``title="The Usual Suspects", year=1995``. Both sides go through the same split and
:func:`title_key`; a catalog title's alternative names in parentheses
(``"The City of Lost Children (Cité des enfants perdus, La)"``, ``"(a.k.a. ...)"``) are
keys too. A name maps to the item with the same key and year; failing that, the same key
one year off (release years differ by country); failing that, an item of that year (or one
off) whose title starts or ends with the name's words ("Borat (2006)" is "Borat: Cultural
Learnings of America...", "Diary of a Mad Black Woman" is "Tyler Perry's Diary of a Mad
Black Woman"); failing that, the same key up to three years off. A name without a year
maps to the most rated item with its key.

Example:
    >>> from retrieval.catalog import Catalog
    >>> from retrieval.models import Item
    >>> cat = Catalog([Item(id="1", title="The Usual Suspects", media_type="movie", year=1995),
    ...                Item(id="2", title="Cocoon", media_type="movie", year=1985),
    ...                Item(id="3", title="Cocoon", media_type="movie", year=2012)])
    >>> m = TitleMatcher(cat)
    >>> m.match("Usual Suspects  (1995)"), m.match("Cocoon (1985)"), m.match("Cocoon (1986)")
    ('1', '2', '2')
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from urllib.parse import unquote

from retrieval.catalog import Catalog
from retrieval.loaders.movielens import split_movielens_title

__all__ = ["TitleMatcher", "map_mentions", "title_key"]

_ARTICLES = ("the ", "a ", "an ")
_AKA = re.compile(r"^(?:a\.k\.a\.|aka)\s+", re.IGNORECASE)


def title_key(title: str) -> str:
    """Lower case, accents and punctuation dropped, ``&`` as ``and``, a leading English
    article dropped, spaces collapsed.

    Example:
        >>> title_key("The Lord of the Rings: The Fellowship of the Ring")
        'lord of the rings the fellowship of the ring'
        >>> title_key("Amélie"), title_key("Fast & Furious")
        ('amelie', 'fast and furious')
    """
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"\bvolume\b", "vol", text)
    for art in _ARTICLES:
        if text.startswith(art):
            text = text[len(art):]
            break
    return text


def _aliases(title: str) -> list[str]:
    """The catalog title and its alternative names in parentheses."""
    out = [title]
    main, sep, rest = title.partition(" (")
    if sep:
        out.append(main)
        for part in re.findall(r"\(([^()]+)\)", title):
            part = _AKA.sub("", part.strip())
            # "(Cité des enfants perdus, La)": MovieLens' trailing article, moved back.
            name, _ = split_movielens_title(part)
            out.append(name)
    return out


class TitleMatcher:
    """Finds a catalog item for a ``"Name (year)"`` string.

    Args:
        catalog: The items (titles and years as the MovieLens loader writes them).
        popularity: Optional ``{item_id: count}`` used to break ties among same-key items.
    """

    def __init__(self, catalog: Catalog, popularity: Mapping[str, float] | None = None) -> None:
        # Keys without spaces, so that "Chain Saw" meets "Chainsaw" and "Old Boy" "Oldboy".
        self._by_key: dict[str, list[tuple[int | None, str]]] = defaultdict(list)
        self._by_year: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self._pop = dict(popularity or {})
        for item in catalog:
            for alias in dict.fromkeys(title_key(a) for a in _aliases(item.title)):
                if alias:
                    self._by_key[alias.replace(" ", "")].append((item.year, item.id))
                    if item.year is not None:
                        self._by_year[item.year].append((f" {alias} ", item.id))

    def match(self, name: str) -> str | None:
        """The catalog id of ``name`` (``"Title (year)"``, year optional), or ``None``."""
        # ReDial keeps a few names URL-encoded ("What About Bob%3F (1991)").
        title, year = split_movielens_title(" ".join(unquote(name).split()))
        key = title_key(title)
        found = self._by_key.get(key.replace(" ", ""), []) if key else []
        if year is None:
            return self._best([i for _, i in found]) if found else None
        for delta in (0, 1, -1):
            same = [i for y, i in found if y == year + delta]
            if same:
                return self._best(same)
        if len(key) >= 4:  # "It" must not start every title of its year
            for delta in (0, 1, -1):
                part = [i for t, i in self._by_year.get(year + delta, [])
                        if t.startswith(f" {key} ") or t.endswith(f" {key} ")]
                if part:
                    return self._best(part)
        near = [i for y, i in found if y is not None and abs(y - year) <= 3]
        return self._best(near) if near else None

    def _best(self, ids: list[str]) -> str:
        return max(ids, key=lambda i: self._pop.get(i, 0.0)) if len(ids) > 1 else ids[0]


def map_mentions(names: Mapping[str, str | None], matcher: TitleMatcher) -> dict[str, str]:
    """``{redial_id: catalog_id}`` for the names that match (the others are left out)."""
    out = {}
    for rid, name in names.items():
        if name:
            got = matcher.match(name)
            if got is not None:
                out[rid] = got
    return out
