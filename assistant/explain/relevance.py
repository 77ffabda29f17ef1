"""When a history item may be named in an explanation: only when it is genuinely close to the
pick.

A liked history item is cited ("like Kind of Blue, which you liked") only when all three hold:

1. it shares a genre or a theme (tag) with the pick;
2. it is of the same media family (video: film, series, episode; music: track, album;
   spoken: podcast, audiobook): a film is never explained by an album;
3. the cosine of their item vectors is at least :data:`CITE_MIN_COSINE`.

Otherwise the explanation speaks from the request and the item's own facts. The ranker's
evidence lists the three history items closest to a pick, whatever they are; this is the
filter between that evidence and what a person reads.

How the threshold was chosen: :func:`pair_cosine_summary` groups every pair of catalog items
the way the rule sees them and gives the quantiles of their cosines. On the demo catalog
(425 items, 90,100 pairs) encoded with all-MiniLM-L6-v2 (a ``--no-finetune`` build of the
demo bundle; the fine-tuned one could not be built in time on this machine)::

    encore build --data demo --out /tmp/demo-base --no-finetune
    PYTHONPATH=. python -c "from retrieval.bundle import Bundle; \\
        from assistant.explain.relevance import pair_cosine_summary as s; \\
        b = Bundle.load('/tmp/demo-base'); \\
        print(s(b.catalog, b.item_ids, b.item_vectors))"

==============================  ======  =====  =====  =====  =====  =====  =========
pairs                            count   p10    p25    p50    p90    p95   >= 0.30
==============================  ======  =====  =====  =====  =====  =====  =========
share a label and a family       17229  0.143  0.199  0.262  0.398  0.439  35 %
same family, no shared label     16221  0.105  0.159  0.220  0.343  0.380  20 %
different families               56650  0.036  0.082  0.133  0.241  0.275   3 %
all pairs (random)               90100  0.054  0.105  0.168  0.314  0.361  12 %
==============================  ======  =====  =====  =====  =====  =====  =========

Sharing a label and a family moves the whole distribution up (median 0.26 against 0.17 for
a random pair), but a shared label alone is weak evidence ("drama", "narrative"): half of
such pairs sit below 0.26, a cosine that one random pair in five reaches. The threshold
asks the content to agree as well: 0.30 is about the 90th percentile of random pairs
(0.314), so a cited item is closer to the pick than nine in ten arbitrary pairs; 35 % of
the pairs that share a label and a family reach it, three times the rate of random pairs
and twelve times that of pairs from different families. Serial and Casefile True Crime
(0.69) pass; jazz albums against the catalog's crime films, series and podcasts range from
-0.08 to 0.40 (median 0.09), and the media-family rule drops them all anyway. Re-measure
when the encoder changes.

Example:
    >>> from retrieval.models import Item
    >>> jazz = Item(id="a", title="Kind of Blue", media_type="album", genres=["jazz"])
    >>> pick = Item(id="b", title="Time Out", media_type="album", genres=["jazz", "cool jazz"])
    >>> crime = Item(id="c", title="Serial", media_type="podcast", genres=["true crime"])
    >>> cite_verdict(pick, jazz, 0.8)
    (['jazz'], '')
    >>> cite_verdict(pick, crime, 0.9)[1]
    'a podcast, not music'
    >>> cite_verdict(pick, jazz, 0.1)[1]
    'not close enough in content'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.models import Item, MediaType

if TYPE_CHECKING:
    from retrieval.catalog import Catalog

__all__ = ["CITE_MIN_COSINE", "MEDIA_FAMILIES", "cite_threshold", "cite_verdict", "media_family",
           "pair_cosine_summary", "shared_labels", "GENERIC_TAGS"]

CITE_MIN_COSINE = 0.30
"""The least item-vector cosine at which a history item may be cited (see the module
docstring for how it was measured); :func:`cite_threshold` raises it for a bundle whose
vectors sit closer together."""

RANDOM_PAIR_QUANTILE = 0.90


def cite_threshold(vectors: np.ndarray | None, *, pairs: int = 20_000, seed: int = 0) -> float:
    """The citation threshold of one set of item vectors: the 90th percentile of the cosine
    of random item pairs (a cited item is closer to the pick than nine arbitrary pairs in
    ten), never below :data:`CITE_MIN_COSINE`.

    Why per bundle: a fixed number does not carry from one encoder to another. On the demo
    bundle's fine-tuned MiniLM every pair of items has a cosine above 0.66 (random pairs:
    median 0.81, 90th percentile 0.92), so 0.30 would let every shared label through; on the
    base MiniLM the same percentile is 0.31.

    Example:
        >>> v = np.eye(4, dtype="float32")
        >>> cite_threshold(v)
        0.3
    """
    if vectors is None or len(vectors) < 2:
        return CITE_MIN_COSINE
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(vectors), size=pairs)
    b = rng.integers(0, len(vectors), size=pairs)
    keep = a != b
    cos = np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]])
    if not len(cos):
        return CITE_MIN_COSINE
    return max(CITE_MIN_COSINE, round(float(np.quantile(cos, RANDOM_PAIR_QUANTILE)), 3))

MEDIA_FAMILIES: dict[str, str] = {
    MediaType.movie: "video", MediaType.series: "video", MediaType.episode: "video",
    MediaType.music_track: "music", MediaType.album: "music",
    MediaType.podcast: "spoken", MediaType.audiobook: "spoken",
}
"""Media type -> family; items of one family can explain each other."""

_FAMILY_WORDS = {"video": "video", "music": "music", "spoken": "spoken word"}
_TYPE_WORDS = {MediaType.movie: "a film", MediaType.series: "a series",
               MediaType.episode: "an episode", MediaType.music_track: "a track",
               MediaType.album: "an album", MediaType.podcast: "a podcast",
               MediaType.audiobook: "an audiobook"}


def media_family(media_type: str) -> str:
    """``"video"``, ``"music"`` or ``"spoken"`` (an unknown type is its own family)."""
    return MEDIA_FAMILIES.get(media_type, str(media_type))


# Tags that say how an item was made or received, not what it is about: sharing one does
# not make two items alike ("based on a book like The Shining" on Paddington 2).
GENERIC_TAGS = frozenset({"award-winning", "debut", "live", "based on a book", "miniseries",
                          "anthology", "interview", "narrative", "storytelling"})


def shared_labels(pick: Item, other: Item) -> list[str]:
    """The genres, then the tags, of ``pick`` that ``other`` also has (in ``pick``'s order),
    leaving out :data:`GENERIC_TAGS`."""
    genres, tags = set(other.genres), set(other.tags) - GENERIC_TAGS
    out = [g for g in pick.genres if g in genres]
    out += [t for t in pick.tags if t in tags and t not in out]
    return out


def cite_verdict(pick: Item, other: Item, cosine: float | None, *,
                 min_cosine: float = CITE_MIN_COSINE) -> tuple[list[str], str]:
    """Whether ``other`` (a history item) may be named to explain ``pick``.

    Args:
        pick: The recommended item.
        other: A liked history item from the ranker's evidence.
        cosine: The cosine of their item vectors (``None``: unknown, never cited).
        min_cosine: The least cosine that counts as close.

    Returns:
        ``(shared labels, reason)``: ``reason`` is empty when it may be cited, else why not,
        in words (kept for developers in ``Grounds.uncited_history``).
    """
    shared = shared_labels(pick, other)
    fam = media_family(pick.media_type)
    if media_family(other.media_type) != fam:
        kind = _TYPE_WORDS.get(other.media_type, str(other.media_type))
        return shared, f"{kind}, not {_FAMILY_WORDS.get(fam, fam)}"
    if not shared:
        return shared, "no genre or theme in common"
    if cosine is None or not cosine >= min_cosine:
        return shared, "not close enough in content"
    return shared, ""


def pair_cosine_summary(catalog: Catalog, item_ids: Sequence[str], vectors: np.ndarray, *,
                        quantiles: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9)
                        ) -> dict[str, dict[str, Any]]:
    """Item-vector cosines of every pair of items, grouped the way :func:`cite_verdict` sees
    them: pairs sharing a label and a family, pairs of one family with no shared label,
    pairs of different families, and all pairs. The measurement behind
    :data:`CITE_MIN_COSINE`.

    Args:
        catalog: The items.
        item_ids: The row order of ``vectors``.
        vectors: ``float[len(item_ids), d]`` item vectors (normalised here).

    Returns:
        Group -> ``{"count": n, "p10": ..., ..., "above": share of pairs at or above
        CITE_MIN_COSINE}``.
    """
    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    items = [catalog[i] for i in item_ids]
    n = len(items)
    iu, ju = np.triu_indices(n, k=1)
    cos = (v @ v.T)[iu, ju]
    fam = np.array([media_family(it.media_type) for it in items])
    same_fam = fam[iu] == fam[ju]
    labels = [set(it.genres) | set(it.tags) for it in items]
    share = np.array([bool(labels[a] & labels[b]) for a, b in zip(iu.tolist(), ju.tolist(),
                                                                    strict=True)], dtype=bool)
    groups = {"share a label and a family": share & same_fam,
              "same family, no shared label": ~share & same_fam,
              "different families": ~same_fam,
              "all pairs": np.ones(len(cos), dtype=bool)}
    out: dict[str, dict[str, Any]] = {}
    for name, mask in groups.items():
        c = cos[mask]
        row: dict[str, Any] = {"count": int(mask.sum())}
        if len(c):
            row.update({f"p{round(q * 100)}": round(float(np.quantile(c, q)), 3)
                        for q in quantiles})
            row["above"] = round(float((c >= CITE_MIN_COSINE).mean()), 3)
        out[name] = row
    return out
