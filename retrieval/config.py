"""The typed configuration of the recommendation pipeline, one section per stage.

:class:`PipelineConfig` composes the sections; :class:`~retrieval.pipeline.Pipeline`, the
ranker's training (:func:`~retrieval.train_ranker.train_ranker`), ``encore build`` (which
records it in the bundle's manifest), the serving engine and the evaluation systems all
read the same object. ``assistant.settings.Settings`` carries the same sections, so each
field is also an ``ENCORE_<SECTION>__<FIELD>`` environment variable.

Sections (each rejects unknown fields, so a typo is an error, never a silent default):

- ``retrieval`` (:class:`RetrievalConfig`): the dense query (:class:`RetrieverConfig`) and
  the candidate set handed to the ranker (:class:`CandidateConfig`);
- ``stats`` (:class:`StatsConfig`): the interaction statistics the features read;
- ``features`` (:class:`FeatureConfig`): the ranker's features;
- ``ranker`` (:class:`RankerConfig`): the ranker, its LightGBM parameters and MMR;
- ``training`` (:class:`TrainingListsConfig`): how the ranker's training lists are made.

Example:
    >>> cfg = PipelineConfig(retrieval={"n_candidates": 100}, ranker={"mmr_lambda": 1.0})
    >>> cfg.retrieval.n_candidates, cfg.retrieval.collaborative_quota(), cfg.ranker.kind
    (100, 100, 'lightgbm')
    >>> cfg.with_flat(cuts=3, dislike_rating=1.0).training.cuts
    3
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "DEFAULT_ENCODER",
    "BuildConfig",
    "CandidateConfig",
    "FeatureConfig",
    "PipelineConfig",
    "RankerConfig",
    "RetrievalConfig",
    "RetrieverConfig",
    "StatsConfig",
    "TrainingListsConfig",
]

DEFAULT_ENCODER = "all-MiniLM-L6-v2"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class RetrieverConfig(_Config):
    """The dense query: the request embedding blended with the user's profile."""

    request_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    """Weight of the request embedding in the query vector when there is also a history
    (the profile gets the rest)."""
    dislike_weight: float = Field(default=0.2, ge=0.0, le=5.0)
    """How strongly disliked items push the profile away (0 turns it off; chosen on ml-100k's
    validation split)."""
    dislike_rating: float = 2.0
    """Ratings at or below this count as dislikes in the profile."""
    recency_half_life: float = Field(default=5.0, gt=0)
    """Half-life, in history positions, of the recency weighting of the profile (chosen on
    ml-100k's validation split)."""
    max_history: int = Field(default=200, ge=1)
    """Only the most recent history entries shape the profile."""
    popularity_weight: float = Field(default=0.0, ge=0.0)
    """Weight of the popularity prior added to the cosine: score = cosine + w * log(1 +
    distinct users). 0 (off) is what the ranker's reported figures use; 0.03 raised the dense
    list's Recall@200 on ml-100k from 0.42 to 0.60, but the ranker's candidates are mostly
    collaborative, so it is left off."""


class CandidateConfig(_Config):
    """The candidate set the ranker sees: dense, collaborative (EASE) and popular items."""

    n_candidates: int = Field(default=200, ge=2, le=100_000)
    """How many candidates retrieval hands to the ranker."""
    collaborative: int = Field(default=190, ge=0)
    """Places of the candidates given to EASE's picks for history-only queries (clipped to
    n_candidates; 0 turns collaborative candidates off)."""
    collaborative_with_request: int | None = Field(default=None, ge=0)
    """The same when there is a request, whose dense list then carries what was asked for
    (None: a quarter of n_candidates, at most collaborative)."""

    stated_candidates: int = Field(default=100, ge=0)
    """Items that have every genre, tag and mood a request wants, found by an exact lookup
    over the catalog's labels (most popular first) and added to the candidates when the
    dense and collaborative lists lack them (0 turns the lookup off)."""

    def collaborative_quota(self) -> int:
        """``collaborative`` clipped to ``n_candidates``."""
        return min(self.collaborative, self.n_candidates)

    def request_quota(self) -> int:
        """The quota of a query with a request."""
        q = self.collaborative_with_request
        if q is None:
            return min(self.collaborative_quota(), self.n_candidates // 4)
        return min(q, self.n_candidates)


class RetrievalConfig(RetrieverConfig, CandidateConfig):
    """Section ``retrieval``: the dense query and the candidate set."""


class StatsConfig(_Config):
    """Section ``stats``: the interaction statistics (built with the bundle)."""

    min_rating: float | None = None
    """Ratings below it are neither positives of the training lists nor counted by the
    statistics (None: every rating counts)."""
    recent_days: float = Field(default=30.0, gt=0)
    """Window of the recent-popularity feature and of trending, in days."""
    ease_l2: float = Field(default=300.0, gt=0)
    """EASE's ridge weight (collaborative candidates and features)."""
    knn_neighbours: int = Field(default=200, ge=0)
    """Neighbours kept per item by item-kNN (collaborative features; 0: no item-kNN)."""
    dense_limit: int = Field(default=16_000, ge=0)
    """EASE (a dense item x item matrix) is fitted up to this many consumed items; above,
    its features read as missing and item-kNN and ALS carry the collaborative signal."""
    mf_factors: int = Field(default=64, ge=0)
    """ALS latent factors (the 'factors' features; 0: no ALS)."""
    mf_iterations: int = Field(default=15, ge=1)
    """ALS sweeps."""
    mf_regularization: float = Field(default=10.0, ge=0)
    """ALS's ridge weight (with 64 factors and alpha 5, the best NDCG@10 on ml-100k's
    validation split of a grid 0.05-100 x alpha 2-20 x 32-128 factors)."""
    mf_alpha: float = Field(default=5.0, gt=0)
    """ALS's confidence of a positive."""
    mf_threads: int = Field(default=1, ge=1)
    """OpenMP threads of the ALS fit (1: the same factors on every machine)."""
    mf_index_above: int = Field(default=100_000, ge=0)
    """Above this many items, the ALS candidates come from an inner-product IVF index over
    the item factors (approximate) instead of scoring every item per query."""
    mf_with_ease: bool = False
    """Fit ALS also where EASE is fitted (by default only above the dense limit: on
    ml-100k, EASE + item-kNN scored NDCG@10 0.0822 and all three 0.0783)."""


class FeatureConfig(_Config):
    """Section ``features``: the ranker's features."""

    last_k: int = Field(default=5, ge=1)
    """History items the 'recent' features (recent cosine, item-kNN of the last items) see."""
    dislike_rating: float = 2.0
    """Ratings at or below this count as dislikes in the features."""


class RankerConfig(_Config):
    """Section ``ranker``: the learned ranker and diversification."""

    kind: str = "lightgbm"
    """Ranker implementation: 'lightgbm' (LambdaMART) or 'blend' (untrained weighted blend)."""
    learning_rate: float = Field(default=0.02, gt=0)
    """LightGBM's learning rate."""
    num_leaves: int = Field(default=15, ge=2)
    """LightGBM's leaves per tree."""
    min_data_in_leaf: int = Field(default=50, ge=1)
    """LightGBM's minimum rows per leaf."""
    max_rounds: int = Field(default=1000, ge=1)
    """Boosting rounds at most."""
    early_stopping: int = Field(default=50, ge=1)
    """Rounds without a better validation NDCG@10 before training stops."""
    num_threads: int = Field(default=0, ge=0)
    """Threads LightGBM trains with (0: all cores, OpenMP's default; set 1 for
    byte-identical models across machines)."""
    drop_groups: list[str] = Field(default_factory=list)
    """Feature groups left out of the model (ablations)."""
    mmr_lambda: float = Field(default=0.8, ge=0.0, le=1.0)
    """Relevance weight of maximal-marginal-relevance diversification (1 = no diversity)."""
    mmr_k: int = Field(default=20, ge=1)
    """Places chosen by MMR; the rest of a list follows in the ranker's order."""
    request_first: bool = True
    """Rank the items that meet everything a request wants (genres, tags, moods) before
    those that meet less, whatever the history says; history and collaborative signals
    order items within each tier (False: the ranker alone orders them, an ablation)."""

    @field_validator("drop_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        from retrieval.features import FEATURE_SCHEMA

        FEATURE_SCHEMA.without(*v)  # raises on unknown names, listing the valid ones
        return v

    def lightgbm_params(self) -> dict[str, Any]:
        """The LightGBM parameters this section sets (over the ranker's defaults)."""
        return {"learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_data_in_leaf}


class TrainingListsConfig(_Config):
    """Section ``training``: the ranker's training lists (a time split of each user's log)."""

    cuts: int = Field(default=10, ge=1, le=50)
    """Cut-offs (queries) per user: the last `cuts` consumed items each start one."""
    horizon: int = Field(default=1, ge=1, le=50)
    """Positives per query: the next consumed items."""
    min_history: int = Field(default=2, ge=1)
    """Consumed items needed before a cut."""
    valid_fraction: float = Field(default=0.1, gt=0, lt=1)
    """Share of users held out for early stopping."""
    cold_start_fraction: float = Field(default=0.1, ge=0, le=1)
    """Share of training users who also give a query with their history hidden, so the
    model learns to rank for people without one."""
    request_fraction: float = Field(default=0.3, ge=0, le=1)
    """Share of queries given a synthetic request (genres and tags of the chosen item), so
    the model learns to use the request features."""
    max_users: int | None = Field(default=None, ge=2)
    """Train on at most this many users (seeded)."""
    max_queries: int | None = Field(default=20_000, ge=2)
    """Bound on the lists' size at any log size: when the log's users would give more
    queries than this (``cuts`` each), a seeded sample of ``max_queries // cuts`` users
    gives them, chosen before any list is made (at 100k items / 2M events, every one of
    the 20,000 users' lists took 6.9 GiB). The statistics still see the other users' whole
    logs. None: every user. ml-100k and ml-latest-small stay under the default."""
    seed: int = 0
    """Seed of the user split, the synthetic requests and LightGBM."""


# Flat names (``Encore(cuts=3)``, ``--param ranker=blend``) -> (section, field).
_ALIASES = {"ranker": ("ranker", "kind")}


class PipelineConfig(_Config):
    """Everything that shapes what the pipeline recommends, by section."""

    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    """The dense query and the candidate set."""
    stats: StatsConfig = Field(default_factory=StatsConfig)
    """The interaction statistics the features read."""
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    """The ranker's features."""
    ranker: RankerConfig = Field(default_factory=RankerConfig)
    """The ranker and diversification."""
    training: TrainingListsConfig = Field(default_factory=TrainingListsConfig)
    """The ranker's training lists."""

    def merged(self, overrides: dict[str, dict[str, Any]]) -> PipelineConfig:
        """A copy with ``{section: {field: value}}`` applied over this config.

        Raises:
            pydantic.ValidationError: an unknown section or field, or a bad value.
        """
        data = self.model_dump()
        for section, values in overrides.items():
            if section not in data:
                raise ValueError(f"unknown pipeline section {section!r}; valid: "
                                 f"{', '.join(data)}")
            data[section].update(values)
        return PipelineConfig.model_validate(data)

    def with_flat(self, **values: Any) -> PipelineConfig:
        """A copy with fields given by their bare names (``cuts=3``, ``ranker="blend"``);
        a name that two sections share (``dislike_rating``) sets both.

        Raises:
            ValueError: a name no section has (the valid ones are listed).
        """
        overrides: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            targets = [_ALIASES[name]] if name in _ALIASES else [
                (s, name) for s, f in type(self).model_fields.items()
                if name in f.annotation.model_fields]  # type: ignore[union-attr]
            if not targets:
                raise ValueError(f"unknown pipeline setting {name!r}; valid: "
                                 f"{', '.join(sorted(flat_names()))}")
            for section, field in targets:
                overrides.setdefault(section, {})[field] = value
        return self.merged(overrides)


def flat_names() -> set[str]:
    """Every bare field name :meth:`PipelineConfig.with_flat` accepts."""
    out = set(_ALIASES)
    for f in PipelineConfig.model_fields.values():
        out |= set(f.annotation.model_fields)  # type: ignore[union-attr]
    return out


class BuildConfig(_Config):
    """What ``encore build`` needs besides the data: the encoder, the index and the
    pipeline configuration it records in the bundle's manifest."""

    encoder_model: str = DEFAULT_ENCODER
    """Sentence-transformers model (name or folder) to fine-tune and encode with."""
    encoder_backend: str = "torch"
    """What runs the encoder, for the catalog's vectors and the requests when serving:
    'torch' (the sentence-transformers model; the default: no export step, and the only
    backend for models other than Transformer + mean/CLS pooling), 'onnx' (exported into the
    bundle and run by ONNX Runtime in float32: the same vectors) or 'onnx-int8' (int8
    weights: about 2x the items/s, but its top-200 lists overlap the float ones by about 0.91
    on the demo catalog) or 'static' (token vectors distilled from the model into the bundle,
    run as sentence-transformers' StaticEmbedding: over 100x the items/s of torch, but a
    different vector space of lower quality on item-to-item retrieval; an opt-in for very
    large catalogs). See retrieval.encoder_onnx, retrieval.encoder_static and
    benchmarks/encode_bench.py."""
    index_factory: str | None = None
    """FAISS factory string (None: Flat up to 50k items, HNSW32,Flat above)."""
    seed: int = 0
    """Seed of fine-tuning."""
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    """The pipeline configuration (recorded in the manifest; serving reads it)."""

    @field_validator("encoder_backend")
    @classmethod
    def _backend(cls, v: str) -> str:
        from retrieval.encoder_onnx import check_backend

        return check_backend(v)  # raises on unknown names, listing the valid ones
