"""The ranker's feature schema (named columns in groups, with a version) and the feature
matrix that carries them; :mod:`retrieval.features` computes the values and re-exports
these names.

Example:
    >>> FEATURE_SCHEMA.without("popularity").names[:3]
    ('retrieval_score', 'retrieval_rank', 'from_dense')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FEATURE_GROUPS", "FEATURE_SCHEMA", "READABLE_VERSIONS", "SCHEMA_VERSION",
           "FeatureMatrix", "FeatureMismatch", "FeatureSchema"]

SCHEMA_VERSION = 2
# Versions whose rankers this one still reads: each version only added features and
# computes the old ones as before (version 2 added the ``factors`` group; item-kNN moved
# to a sparse table with the same weights).
READABLE_VERSIONS = (1, 2)

FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "retrieval": ("retrieval_score", "retrieval_rank", "from_dense"),
    "request": ("request_cosine",),
    "profile": ("profile_cosine", "year_gap_history", "history_length"),
    "recent": ("recent_max_cosine", "recent_mean_cosine"),
    "dislike": ("dislike_max_cosine",),
    "popularity": ("popularity", "recent_popularity"),
    "collaborative": ("ease_score", "ease_relative", "knn_score", "knn_recent_max",
                      "knn_recent_mean"),
    "factors": ("mf_score", "mf_relative"),
    "genre_tag": ("genre_request", "tag_request", "genre_profile", "tag_profile"),
    "fit": ("year_fit", "duration_fit"),
    "media": ("media_match", "media_history_share"),
}


class FeatureMismatch(ValueError):
    """Features that a ranker needs are not in what it was given (or the reverse)."""


class FeatureSchema(BaseModel):
    """The columns of a feature matrix: names in order, their groups, and a version.

    Example:
        >>> s = FeatureSchema.default().without("fit", "media")
        >>> "year_fit" in s.names, s.version
        (False, 2)
    """

    model_config = ConfigDict(frozen=True)

    version: int = Field(default=SCHEMA_VERSION, description="Version of the feature code.")
    groups: dict[str, tuple[str, ...]] = Field(description="Group name -> feature names.")

    @classmethod
    def default(cls) -> FeatureSchema:
        return cls(version=SCHEMA_VERSION, groups=dict(FEATURE_GROUPS))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for names in self.groups.values() for n in names)

    @property
    def fingerprint(self) -> str:
        text = f"{self.version}:" + ",".join(f"{g}={'|'.join(n)}" for g, n in self.groups.items())
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def without(self, *groups: str) -> FeatureSchema:
        """The schema minus whole groups (for ablations).

        Raises:
            ValueError: an unknown group name (the valid ones are listed).
        """
        unknown = [g for g in groups if g not in self.groups]
        if unknown:
            raise ValueError(f"unknown feature group(s) {unknown}; valid: {', '.join(self.groups)}")
        return FeatureSchema(version=self.version,
                             groups={g: n for g, n in self.groups.items() if g not in groups})

    def group_of(self, name: str) -> str:
        for g, names in self.groups.items():
            if name in names:
                return g
        raise KeyError(name)

    def check_readable_by(self, available: FeatureSchema, *, what: str = "the ranker") -> None:
        """Raise :class:`FeatureMismatch` unless every feature of this schema can be read
        from matrices of ``available`` (the same version, or an older one it still reads
        (:data:`READABLE_VERSIONS`), and every name present).
        """
        fix = ("rebuild the bundle (encore build) or retrain the ranker with this version of "
               "Encore (encore train-ranker), or install the version it was trained with")
        readable = self.version == available.version or (
            available.version == SCHEMA_VERSION and self.version in READABLE_VERSIONS)
        if not readable:
            raise FeatureMismatch(
                f"{what} was trained on feature schema version {self.version}, but this Encore "
                f"computes version {available.version}. Fix: {fix}")
        missing = [n for n in self.names if n not in set(available.names)]
        if missing:
            raise FeatureMismatch(
                f"{what} needs features that are not computed here: {', '.join(missing)}. "
                f"Fix: {fix}")


FEATURE_SCHEMA = FeatureSchema.default()


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature values of one query's candidates: ``values[i, j]`` is feature ``names[j]``
    of candidate ``i``."""

    values: np.ndarray
    names: tuple[str, ...]
    item_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise FeatureMismatch(f"feature matrix of shape {self.values.shape} does not match "
                                  f"its {len(self.names)} feature names")

    def select(self, schema: FeatureSchema) -> np.ndarray:
        """The columns of ``schema``, in its order.

        Raises:
            FeatureMismatch: a feature of ``schema`` is not in this matrix.
        """
        index = {n: j for j, n in enumerate(self.names)}
        missing = [n for n in schema.names if n not in index]
        if missing:
            raise FeatureMismatch(
                f"the feature matrix lacks {len(missing)} feature(s) the ranker needs: "
                f"{', '.join(missing)} (it has {len(self.names)}: {', '.join(self.names[:6])}"
                f"{'…' if len(self.names) > 6 else ''}). Fix: compute features with the "
                "FeatureBuilder of the schema the ranker was trained on")
        cols = [index[n] for n in schema.names]
        if cols == list(range(len(self.names))):
            return self.values
        return self.values[:, cols]

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]
