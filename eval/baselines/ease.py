"""EASE as an evaluation baseline: the collaborative model of :mod:`retrieval.collaborative`
(the ranker's features use the same code), listed here beside the other baselines."""

from retrieval.collaborative.ease import EASE

__all__ = ["EASE"]
