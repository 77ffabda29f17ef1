"""Collaborative models over the interaction log (EASE, item-kNN): the candidate generator
and the ranker's features use them, and :mod:`eval.baselines` evaluates them as baselines."""

from retrieval.collaborative.ease import EASE
from retrieval.collaborative.itemknn import ItemKNN

__all__ = ["EASE", "ItemKNN"]
