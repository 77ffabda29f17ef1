"""Reference systems evaluated in the same harness as Encore: one per file."""

from eval.baselines.ease import EASE
from eval.baselines.itemknn import ItemKNN
from eval.baselines.popularity import Popularity
from eval.baselines.random import RandomRecommender

__all__ = ["EASE", "ItemKNN", "Popularity", "RandomRecommender"]
