"""Item-kNN as an evaluation baseline: the collaborative model of
:mod:`retrieval.collaborative` (the ranker's features use the same code)."""

from retrieval.collaborative.itemknn import ItemKNN

__all__ = ["ItemKNN"]
