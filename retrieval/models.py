"""Typed records that flow between Encore's stages: catalog items and interactions.

Example:
    >>> item = Item(id="movie-arrival-2016", title="Arrival", media_type="movie", year=2016,
    ...             duration_min=116, genres=["Science Fiction", "drama"])
    >>> item.genres
    ['science fiction', 'drama']
    >>> Interaction(user_id="u1", item_id=item.id, timestamp=1700000000, event="like").value
    1.0
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

__all__ = ["MEDIA_TYPES", "EVENTS", "MediaType", "Event", "Item", "Interaction"]


class MediaType(StrEnum):
    """Kinds of audio and video an item can be."""

    movie = "movie"
    series = "series"
    episode = "episode"
    music_track = "music_track"
    album = "album"
    podcast = "podcast"
    audiobook = "audiobook"


class Event(StrEnum):
    """What a person did with an item."""

    play = "play"
    like = "like"
    dislike = "dislike"
    rating = "rating"
    skip = "skip"


MEDIA_TYPES: tuple[str, ...] = tuple(m.value for m in MediaType)
EVENTS: tuple[str, ...] = tuple(e.value for e in Event)

# Default strength of each event when no explicit value is given.
DEFAULT_EVENT_VALUE: dict[str, float] = {
    "play": 1.0,
    "like": 1.0,
    "dislike": -1.0,
    "rating": float("nan"),  # a rating must carry its value
    "skip": -0.5,
}


def id_to_str(value: Any) -> Any:
    """Integer ids (and integral floats, as pandas reads them) become strings; anything else
    is left for validation to judge. Booleans are not ids."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _split_list(value: Any) -> Any:
    """Accept lists, tuples, numpy arrays, or '|'/';'-separated strings for list fields."""
    if value is None:
        return []
    if isinstance(value, float) and value != value:  # NaN from pandas
        return []
    if isinstance(value, str):
        sep = "|" if "|" in value else ";"
        return [part for part in (p.strip() for p in value.split(sep)) if part]
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    return value


def _clean_labels(values: list[str]) -> list[str]:
    """Lower-case, strip and de-duplicate genre/tag labels, keeping their order."""
    seen: dict[str, None] = {}
    for v in values:
        label = " ".join(str(v).strip().lower().split())
        if label:
            seen.setdefault(label, None)
    return list(seen)


LabelList = Annotated[list[str], BeforeValidator(_split_list)]


class Item(BaseModel):
    """One entry of the catalog: a film, a series, an episode, a track, an album, a podcast
    or an audiobook.

    Genres and tags are normalised to lower case; list fields accept lists or
    ``|``-separated strings (the CSV convention).

    Example:
        >>> item = Item(id="pod-1", title="Radiolab", media_type="podcast",
        ...             genres="science|culture")
        >>> item.genres
        ['science', 'culture']
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200, description="Stable unique id of the item.")
    title: str = Field(min_length=1, max_length=500, description="Display title, without the year.")
    media_type: MediaType = Field(description="One of: " + ", ".join(MEDIA_TYPES) + ".")
    year: int | None = Field(default=None, ge=1800, le=2100, description="Year of release.")
    duration_min: float | None = Field(
        default=None, gt=0, le=100_000,
        description="Running time in minutes (per episode for series and podcasts).",
    )
    genres: LabelList = Field(default_factory=list, description="Genre labels, lower case.")
    tags: LabelList = Field(default_factory=list,
                            description="Free tags (themes, moods), lower case.")
    description: str = Field(default="", max_length=5000,
                             description="One or two factual sentences.")
    creators: LabelList = Field(default_factory=list,
                                description="Directors, artists, hosts, authors.")
    language: str | None = Field(default=None, max_length=20,
                                 description="Language code, e.g. 'en'.")
    image_url: str | None = Field(default=None, max_length=2000,
                                  description="Optional cover image (http or https URL); "
                                              "front ends draw a tile when there is none.")

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, v: Any) -> Any:
        return id_to_str(v)

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
            return None
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    @field_validator("image_url", mode="after")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("https://", "http://")):
            raise ValueError(f"image_url must be an http(s) URL, got {v[:60]!r}. Fix: give a "
                             "full https:// address, or leave the field out")
        return v

    @field_validator("duration_min", "language", "image_url", mode="before")
    @classmethod
    def _blank_to_none(cls, v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
            return None
        return v

    @field_validator("description", mode="before")
    @classmethod
    def _none_to_empty(cls, v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        return v

    @field_validator("genres", "tags")
    @classmethod
    def _normalise_labels(cls, v: list[str]) -> list[str]:
        return _clean_labels(v)

    @field_validator("creators")
    @classmethod
    def _strip_creators(cls, v: list[str]) -> list[str]:
        return [c for c in (" ".join(str(x).split()) for x in v) if c]


def _to_epoch(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(float(text))
        except ValueError:
            pass
        try:
            return _to_epoch(datetime.fromisoformat(text))
        except ValueError:
            return value  # let pydantic report it
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class Interaction(BaseModel):
    """One thing a person did with one item.

    ``timestamp`` is Unix seconds (ISO-8601 strings and datetimes are converted) and may be
    missing for data sets that carry none. ``value`` defaults per event: 1 for play and like,
    -1 for dislike, -0.5 for skip; a rating must carry its value.

    Example:
        >>> Interaction(user_id=7, item_id=42, timestamp="2024-01-01T00:00:00+00:00",
        ...             event="rating", value=4).timestamp
        1704067200
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1, description="Who acted.")
    item_id: str = Field(min_length=1, description="Which catalog item.")
    timestamp: Annotated[int | None, BeforeValidator(_to_epoch)] = Field(
        default=None, description="When, in Unix seconds; None when the data set has no times."
    )
    event: Event = Field(default=Event.play, description="One of: " + ", ".join(EVENTS) + ".")
    value: float = Field(default=float("nan"),
                         description="Strength: a rating, or the event default.")

    @field_validator("user_id", "item_id", mode="before")
    @classmethod
    def _ids_to_str(cls, v: Any) -> Any:
        return id_to_str(v)

    def model_post_init(self, __context: Any) -> None:
        if self.value != self.value:  # NaN: fill the event's default
            default = DEFAULT_EVENT_VALUE[self.event.value]
            if default != default:
                raise ValueError("a 'rating' event needs a numeric value (the rating itself)")
            object.__setattr__(self, "value", default)
