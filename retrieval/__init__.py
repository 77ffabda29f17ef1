"""Catalog and interaction data, loaders, encoders, the vector index and the ranker."""

from retrieval.errors import BadRow, DataError, LoadReport
from retrieval.models import EVENTS, MEDIA_TYPES, Event, Interaction, Item, MediaType

__all__ = [
    "BadRow",
    "DataError",
    "LoadReport",
    "EVENTS",
    "MEDIA_TYPES",
    "Event",
    "Interaction",
    "Item",
    "MediaType",
]
