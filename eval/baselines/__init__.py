"""Reference systems evaluated in the same harness as Encore: one per file."""

from eval.baselines.popularity import Popularity
from eval.baselines.random import RandomRecommender
from eval.baselines.request_blend import RequestPopularityBlend
from retrieval.collaborative.ease import EASE
from retrieval.collaborative.itemknn import ItemKNN

__all__ = ["EASE", "ItemKNN", "Popularity", "RandomRecommender", "RequestPopularityBlend"]
