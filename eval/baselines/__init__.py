"""Reference systems evaluated in the same harness as Encore: one per file."""

from retrieval.collaborative.ease import EASE
from retrieval.collaborative.itemknn import ItemKNN
from eval.baselines.popularity import Popularity
from eval.baselines.random import RandomRecommender

__all__ = ["EASE", "ItemKNN", "Popularity", "RandomRecommender"]
