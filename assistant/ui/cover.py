"""A generated cover tile for a card: the item's own image when the catalog has one
(``Item.image_url``), otherwise a license-free tile drawn here, an inline SVG with the media
type's icon, the title's first letters and a colour picked by the first genre (the same
genre always gets the same colour).

Example:
    >>> tile = cover_tile("Kind of Blue", "album", ["jazz"])
    >>> tile.startswith('<div class="cover cover-generated"'), "Kind of Blue" in tile
    (True, True)
    >>> cover_tile("X", "movie", [], image_url="https://example.org/x.jpg").count("<img")
    1
"""

from __future__ import annotations

import html
import zlib

__all__ = ["cover_tile", "genre_hue"]

# 24x24 icons, drawn for this project (simple shapes, no third-party artwork).
_ICONS = {
    "movie": "M3 5h18v14H3zM3 9h18M3 15h18M7 5v4M12 5v4M17 5v4M7 15v4M12 15v4M17 15v4",
    "series": "M3 6h18v11H3zM8 21h8M12 17v4",
    "album": "M12 3a9 9 0 1 0 0.01 0M12 9a3 3 0 1 0 0.01 0",
    "music_track": "M9 18V5l11-2v13M9 18a3 3 0 1 1-3-3 3 3 0 0 1 3 3zM20 16a3 3 0 1 1-3-3",
    "podcast": "M12 2a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v4",
    "audiobook": "M4 5a2 2 0 0 1 2-2h14v16H6a2 2 0 0 0-2 2zM4 21a2 2 0 0 1 2-2h14",
}


def genre_hue(genre: str | None) -> int:
    """A stable hue (0-359) for a genre; None or "" gets a neutral blue."""
    if not genre:
        return 215
    return zlib.crc32(genre.lower().encode("utf-8")) % 360


def _initials(title: str) -> str:
    words = [w for w in title.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def cover_tile(title: str, media_type: str, genres: list[str], *,
               image_url: str | None = None) -> str:
    """The cover of a card as HTML (every string escaped; ``title`` is already clean text).

    Args:
        title: the item's title (the tile's text and the image's alt text).
        media_type: picks the icon.
        genres: the first one picks the colour.
        image_url: the catalog's cover image, when it has one (http or https only).
    """
    esc = html.escape(title, quote=True)
    if image_url and image_url.startswith(("https://", "http://")):
        return (f'<div class="cover cover-image"><img src="{html.escape(image_url)}" '
                f'alt="{esc}" loading="lazy"></div>')
    hue = genre_hue(genres[0] if genres else None)
    icon = _ICONS.get(media_type, _ICONS["movie"])
    return (f'<div class="cover cover-generated" title="{esc}" '
            f'style="background:linear-gradient(135deg,hsl({hue},55%,42%),'
            f'hsl({(hue + 40) % 360},60%,28%))">'
            f'<svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="white" '
            f'stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" '
            f'aria-hidden="true"><path d="{icon}"/></svg>'
            f'<span class="initials">{html.escape(_initials(title))}</span>'
            f'<span class="sr-only">{esc}</span></div>')
