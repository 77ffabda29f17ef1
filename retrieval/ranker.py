"""The ranker seam: orders one query's candidates from their features.

- :class:`LightGBMRanker` (``"lightgbm"``, the default): LambdaMART (LightGBM's
  ``lambdarank`` objective) trained on query groups, early-stopped on validation NDCG@10.
- :class:`BlendRanker` (``"blend"``): a transparent weighted sum of features standardised
  within the list; serves when no model has been trained.

Both read a :class:`~retrieval.features.FeatureMatrix` by feature *name*, so a model only
runs on matrices that carry the features it was trained on; a saved model records its
:class:`~retrieval.features.FeatureSchema`, and loading it where another schema is
computed fails with a message that names the difference.

Example:
    >>> import numpy as np
    >>> from retrieval.features import FEATURE_SCHEMA, FeatureMatrix
    >>> x = np.zeros((3, len(FEATURE_SCHEMA.names)), dtype="float32")
    >>> x[:, FEATURE_SCHEMA.names.index("request_cosine")] = [0.1, 0.9, 0.5]
    >>> ranker = make_ranker("blend")
    >>> np.argsort(-ranker.score(FeatureMatrix(x, FEATURE_SCHEMA.names))).tolist()
    [1, 2, 0]
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from retrieval.errors import DataError
from retrieval.features import FEATURE_SCHEMA, FeatureMatrix, FeatureMismatch, FeatureSchema
from retrieval.io import atomic_dir

__all__ = [
    "DEFAULT_BLEND_WEIGHTS",
    "RANKER_FORMAT",
    "BlendRanker",
    "LightGBMRanker",
    "Ranker",
    "RankingSet",
    "available_rankers",
    "load_ranker",
    "make_ranker",
]

RANKER_FORMAT = "encore-ranker/1"
log = logging.getLogger(__name__)
# Scoring reads one query's few hundred rows: threads cost more than they save there.
_PREDICT_THREADS = 1
_PROGRESS_EVERY = 50  # boosting rounds between progress messages


@dataclass
class RankingSet:
    """Training lists: candidates of many queries, grouped, with relevance labels.

    Attributes:
        features: ``float32[n_rows, n_features]``, rows of one query contiguous.
        labels: ``float32[n_rows]`` relevance (1 for the item chosen, 0 otherwise).
        groups: ``int64[n_queries]`` rows per query, in order.
        schema: Names of the feature columns.
        query_ids: One id per query (for reports and splits).
    """

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    schema: FeatureSchema
    query_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.groups = np.asarray(self.groups, dtype=np.int64)
        if self.features.shape[0] != self.labels.shape[0] or self.groups.sum() != len(self.labels):
            raise ValueError(f"ranking set is inconsistent: {self.features.shape[0]} feature "
                             f"rows, {len(self.labels)} labels, groups summing to "
                             f"{int(self.groups.sum())}")
        if self.features.shape[1] != len(self.schema.names):
            raise FeatureMismatch(f"ranking set has {self.features.shape[1]} feature columns "
                                  f"but its schema names {len(self.schema.names)}")

    @property
    def n_queries(self) -> int:
        return len(self.groups)

    def select(self, schema: FeatureSchema) -> RankingSet:
        """The same lists with only ``schema``'s columns (an ablation drops groups)."""
        if schema.names == self.schema.names:
            return self
        x = FeatureMatrix(self.features, self.schema.names).select(schema)
        return RankingSet(x, self.labels, self.groups, schema, list(self.query_ids))

    def subset(self, queries: np.ndarray) -> RankingSet:
        """The lists of the queries at positions ``queries`` (sorted)."""
        q = np.sort(np.asarray(queries, dtype=np.int64))
        starts = np.concatenate([[0], np.cumsum(self.groups)[:-1]])
        rows = np.concatenate([np.arange(starts[i], starts[i] + self.groups[i]) for i in q]) \
            if len(q) else np.zeros(0, dtype=np.int64)
        return RankingSet(self.features[rows], self.labels[rows], self.groups[q], self.schema,
                          [self.query_ids[i] for i in q] if self.query_ids else [])


@runtime_checkable
class Ranker(Protocol):
    """Scores one query's candidates; higher is better.

    ``score`` and ``contributions`` read their features by name from the matrix (extra
    columns are ignored; missing ones raise :class:`~retrieval.features.FeatureMismatch`).
    """

    schema: FeatureSchema

    def fit(self, train: RankingSet, valid: RankingSet | None = None) -> dict[str, Any]:
        """Learn from training lists (early stopping on ``valid``); returns a report."""
        ...

    def score(self, features: FeatureMatrix) -> np.ndarray:
        """``float64[n_candidates]`` scores."""
        ...

    def contributions(self, features: FeatureMatrix) -> np.ndarray:
        """``float64[n_candidates, len(schema.names)]``: how much each feature added to each
        score (SHAP values for trees, weight x value for the blend)."""
        ...

    def save(self, folder: str | Path, *, extra: Mapping[str, Any] | None = None) -> Path:
        """Write the model and its feature schema into ``folder`` (a bundle ships it)."""
        ...


# -- LightGBM LambdaMART -----------------------------------------------------------------------

DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "learning_rate": 0.02,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "lambdarank_truncation_level": 20,
    "max_bin": 255,
}


class LightGBMRanker:
    """LambdaMART over the features: LightGBM's ``lambdarank`` objective, NDCG@10 on the
    validation lists for early stopping.

    Training is deterministic for a given seed and thread count (``deterministic=True``):
    the same lists give the same model, byte for byte. Progress (every 50 rounds, with the
    validation NDCG@10) goes to :attr:`progress`, by default the ``retrieval.ranker`` logger
    at INFO.

    Args:
        schema: The features it reads (default: all of them).
        seed: Seed of bagging and feature sampling.
        max_rounds: Boosting rounds at most.
        early_stopping: Rounds without a better validation NDCG@10 before stopping.
        num_threads: Threads for training (0: all cores, OpenMP's default); scoring one
            query's list uses one.
        params: LightGBM parameters over :data:`DEFAULT_LGBM_PARAMS`.

    Example:
        >>> r = LightGBMRanker(seed=7)          # fit(train_lists, valid_lists) to train
        >>> r.schema.version
        2
    """

    name = "lightgbm"

    def __init__(
        self,
        schema: FeatureSchema | None = None,
        *,
        seed: int = 0,
        max_rounds: int = 1000,
        early_stopping: int = 50,
        num_threads: int = 0,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if max_rounds < 1 or early_stopping < 1 or num_threads < 0:
            raise ValueError("max_rounds and early_stopping must be positive and num_threads "
                             f">= 0 (0: all cores), got {max_rounds}, {early_stopping}, "
                             f"{num_threads}")
        self.schema = schema or FEATURE_SCHEMA
        self.seed = int(seed)
        self.max_rounds = int(max_rounds)
        self.early_stopping = int(early_stopping)
        self.num_threads = int(num_threads)
        self.params = {**DEFAULT_LGBM_PARAMS, **dict(params or {})}
        self.booster: Any = None
        self.report: dict[str, Any] = {}
        self.progress: Callable[[str], None] = lambda msg: log.info("%s", msg)

    def _lgb_params(self) -> dict[str, Any]:
        return {
            **self.params,
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "verbose": -1,
        }

    def fit(self, train: RankingSet, valid: RankingSet | None = None) -> dict[str, Any]:
        """Train on ``train``; with ``valid``, keep the round of best validation NDCG@10.

        Raises:
            ValueError: no list holds both a chosen and an unchosen candidate.
            FeatureMismatch: the lists lack features of this ranker's schema.
        """
        lgb = _lightgbm()
        train = train.select(self.schema)
        if not _has_pairs(train):
            raise ValueError("no training list holds both a chosen and an unchosen candidate; "
                             "LambdaMART has nothing to learn from (more users or candidates "
                             "are needed)")
        names = list(self.schema.names)
        dtrain = lgb.Dataset(train.features, label=train.labels, group=train.groups,
                             feature_name=names, free_raw_data=True,
                             params={"max_bin": self.params["max_bin"], "verbose": -1})
        sets, set_names = [], []
        callbacks: list[Any] = [self._progress_callback()]
        evals: dict[str, Any] = {}
        if valid is not None and valid.n_queries:
            valid = valid.select(self.schema)
            dvalid = lgb.Dataset(valid.features, label=valid.labels, group=valid.groups,
                                 reference=dtrain, feature_name=names)
            sets, set_names = [dvalid], ["valid"]
            callbacks += [lgb.early_stopping(self.early_stopping, first_metric_only=True,
                                             verbose=False),
                          lgb.record_evaluation(evals)]
        self.progress(f"lightgbm: {train.n_queries} training lists, "
                      f"{valid.n_queries if valid is not None else 0} validation lists, "
                      f"at most {self.max_rounds} rounds, "
                      f"{self.num_threads or 'all'} thread(s)")
        booster = lgb.train(self._lgb_params(), dtrain, num_boost_round=self.max_rounds,
                            valid_sets=sets, valid_names=set_names, callbacks=callbacks)
        best = booster.best_iteration or booster.current_iteration()
        # Keep only the trees up to the best round, so the saved model is what was chosen.
        self.booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        curve = evals.get("valid", {}).get("ndcg@10", [])
        self.report = {
            "rounds": int(best),
            "valid_ndcg@10": float(curve[best - 1]) if curve else None,
            "train_queries": int(train.n_queries),
            "valid_queries": int(valid.n_queries) if valid is not None else 0,
            "importance_gain": self.importances(),
        }
        return self.report

    def _progress_callback(self) -> Callable[[Any], None]:
        say = self.progress

        def callback(env: Any) -> None:
            done = env.iteration + 1
            if done % _PROGRESS_EVERY and done != env.end_iteration:
                return
            scores = ", ".join(f"{name} {metric} {value:.4f}"
                               for name, metric, value, *_ in env.evaluation_result_list)
            say(f"lightgbm: round {done} of at most {env.end_iteration}"
                + (f" ({scores})" if scores else ""))

        return callback

    def _check_fitted(self) -> None:
        if self.booster is None:
            raise RuntimeError("LightGBMRanker is not trained; call fit(train, valid) or "
                               "load one with load_ranker(folder)")

    def score(self, features: FeatureMatrix) -> np.ndarray:
        self._check_fitted()
        x = features.select(self.schema)
        if not len(x):
            return np.zeros(0)
        return np.asarray(self.booster.predict(x, num_threads=_PREDICT_THREADS), dtype=np.float64)

    def contributions(self, features: FeatureMatrix) -> np.ndarray:
        self._check_fitted()
        x = features.select(self.schema)
        if not len(x):
            return np.zeros((0, len(self.schema.names)))
        c = self.booster.predict(x, pred_contrib=True, num_threads=_PREDICT_THREADS)
        return np.asarray(c, dtype=np.float64)[:, : len(self.schema.names)]

    def importances(self) -> dict[str, float]:
        """Share of the total split gain per feature, largest first."""
        self._check_fitted()
        gain = np.asarray(self.booster.feature_importance("gain"), dtype=np.float64)
        total = gain.sum() or 1.0
        pairs = sorted(zip(self.schema.names, gain / total, strict=True), key=lambda p: -p[1])
        return {n: round(float(g), 6) for n, g in pairs}

    # -- files -----------------------------------------------------------------------------

    def save(self, folder: str | Path, *, extra: Mapping[str, Any] | None = None) -> Path:
        """Write ``model.txt`` and ``manifest.json`` (schema, parameters, feature
        importances, training report) into ``folder``, replaced whole."""
        self._check_fitted()
        text = self.booster.model_to_string().encode("utf-8")
        manifest = {
            "format": RANKER_FORMAT,
            "kind": self.name,
            "schema": self.schema.model_dump(mode="json"),
            "schema_fingerprint": self.schema.fingerprint,
            "seed": self.seed,
            "max_rounds": self.max_rounds,
            "early_stopping": self.early_stopping,
            "num_threads": self.num_threads,
            "params": self.params,
            "importance_gain": self.importances(),
            "report": self.report,
            "model_sha256": hashlib.sha256(text).hexdigest(),
            **dict(extra or {}),
        }
        with atomic_dir(Path(folder)) as tmp:
            (tmp / "model.txt").write_bytes(text)
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        return Path(folder)

    @classmethod
    def _from_manifest(cls, folder: Path, manifest: dict[str, Any], schema: FeatureSchema
                       ) -> LightGBMRanker:
        lgb = _lightgbm()
        path = folder / "model.txt"
        if not path.is_file():
            raise DataError("the ranker folder has no model.txt", path=folder,
                            fix="retrain the ranker (encore train-ranker)")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.get("model_sha256"):
            raise DataError("model.txt does not match the checksum in manifest.json (a "
                            "partial copy or a damaged file)", path=path,
                            fix="copy the whole ranker folder again, or retrain it")
        ranker = cls(schema, seed=manifest.get("seed", 0),
                     max_rounds=manifest.get("max_rounds", 1000),
                     early_stopping=manifest.get("early_stopping", 50),
                     num_threads=manifest.get("num_threads", 1),
                     params=manifest.get("params"))
        try:
            ranker.booster = lgb.Booster(model_str=data.decode("utf-8"))
        except Exception as exc:  # noqa: BLE001 — LightGBM raises its own error type
            raise DataError(f"LightGBM cannot read the model ({exc})", path=path,
                            fix="retrain the ranker (encore train-ranker)") from None
        model_names = list(ranker.booster.feature_name())
        if model_names != list(schema.names):
            raise FeatureMismatch(
                f"{path}: the model's features ({', '.join(model_names[:5])}…) differ from "
                "the schema in its manifest.json; the folder mixes files of two models. "
                "Fix: retrain the ranker (encore train-ranker)")
        ranker.report = manifest.get("report", {})
        return ranker


# -- the transparent blend ---------------------------------------------------------------------

DEFAULT_BLEND_WEIGHTS: dict[str, float] = {
    # what the request asks for
    "request_cosine": 2.0,
    "genre_request": 1.0,
    "tag_request": 1.0,
    "year_fit": 0.5,
    "duration_fit": 0.5,
    "media_match": 1.0,
    # what the history says
    "ease_score": 1.0,
    "knn_recent_max": 0.5,
    "profile_cosine": 0.4,
    "recent_max_cosine": 0.2,
    "genre_profile": 0.2,
    "tag_profile": 0.2,
    "dislike_max_cosine": -0.3,
    "retrieval_score": 0.3,
    # what everyone does
    "popularity": 0.4,
    "recent_popularity": 0.3,
}


class BlendRanker:
    """``score = Σ weight[f] · z[f]`` where ``z[f]`` is feature ``f`` standardised within
    the list (mean 0, standard deviation 1; missing values and constant features give 0).

    Nothing is learned: it is the ranker that serves before a model is trained, and every
    score can be read off its weights. Features of the schema without a weight count 0.

    Args:
        weights: Feature name -> weight (default :data:`DEFAULT_BLEND_WEIGHTS`).
        schema: The features it reads (default: all).

    Raises:
        ValueError: a weight names a feature that is not in the schema.
    """

    name = "blend"

    def __init__(self, weights: Mapping[str, float] | None = None,
                 schema: FeatureSchema | None = None) -> None:
        self.schema = schema or FEATURE_SCHEMA
        w = dict(DEFAULT_BLEND_WEIGHTS if weights is None else weights)
        unknown = [n for n in w if n not in self.schema.names]
        if unknown and weights is not None:
            raise ValueError(f"blend weights name unknown features {unknown}; valid: "
                             f"{', '.join(self.schema.names)}")
        self.weights = {n: float(v) for n, v in w.items() if n in self.schema.names}
        self._w = np.array([self.weights.get(n, 0.0) for n in self.schema.names])
        self.report: dict[str, Any] = {}

    def fit(self, train: RankingSet, valid: RankingSet | None = None) -> dict[str, Any]:
        """Nothing to learn; checks that the lists carry the blend's features."""
        train.select(self.schema)
        self.report = {"rounds": 0, "note": "the blend is not trained; its weights are fixed"}
        return self.report

    def _z(self, features: FeatureMatrix) -> np.ndarray:
        x = features.select(self.schema).astype(np.float64)
        present = ~np.isnan(x)
        n = present.sum(axis=0)
        filled = np.where(present, x, 0.0)
        mean = filled.sum(axis=0) / np.maximum(n, 1)
        var = np.where(present, (x - mean) ** 2, 0.0).sum(axis=0) / np.maximum(n, 1)
        std = np.sqrt(var)
        z = np.where(present, (filled - mean) / np.where(std > 1e-9, std, np.inf), 0.0)
        return z

    def score(self, features: FeatureMatrix) -> np.ndarray:
        if not len(features.values):
            return np.zeros(0)
        return self._z(features) @ self._w

    def contributions(self, features: FeatureMatrix) -> np.ndarray:
        if not len(features.values):
            return np.zeros((0, len(self.schema.names)))
        return self._z(features) * self._w

    def save(self, folder: str | Path, *, extra: Mapping[str, Any] | None = None) -> Path:
        manifest = {"format": RANKER_FORMAT, "kind": self.name,
                    "schema": self.schema.model_dump(mode="json"),
                    "schema_fingerprint": self.schema.fingerprint,
                    "weights": self.weights, **dict(extra or {})}
        with atomic_dir(Path(folder)) as tmp:
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        return Path(folder)

    @classmethod
    def _from_manifest(cls, folder: Path, manifest: dict[str, Any], schema: FeatureSchema
                       ) -> BlendRanker:
        return cls(manifest.get("weights"), schema)


# -- registry ----------------------------------------------------------------------------------

_REGISTRY: dict[str, type[LightGBMRanker] | type[BlendRanker]] = {
    "lightgbm": LightGBMRanker, "blend": BlendRanker}
_ALIASES = {"lambdamart": "lightgbm", "lgbm": "lightgbm", "weighted": "blend"}


def available_rankers() -> list[str]:
    return list(_REGISTRY)


def make_ranker(name: str, **params: Any) -> Ranker:
    """A fresh ranker by name (the ``ranker.kind`` setting).

    Raises:
        ValueError: an unknown name (the valid ones are listed) or a bad parameter.
    """
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _REGISTRY:
        raise ValueError(f"unknown ranker {name!r}; valid names: {', '.join(_REGISTRY)}. "
                         "Fix: set ranker.kind (ENCORE_RANKER__KIND) to one of them")
    try:
        return _REGISTRY[key](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameter for ranker {key!r}: {exc}") from None


def load_ranker(folder: str | Path, *, schema: FeatureSchema | None = None) -> Ranker:
    """Load a ranker saved with ``save(folder)``.

    Args:
        folder: The ranker folder.
        schema: The features this Encore computes (default: the current schema); the saved
            model must read a subset of it, of the same version.

    Raises:
        DataError: a missing or damaged folder.
        FeatureMismatch: the model was trained on another feature schema.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    fix = "train one with `encore train-ranker --out FOLDER`"
    if not path.is_file():
        raise DataError("not a ranker folder (manifest.json is missing)", path=folder, fix=fix)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"manifest.json is not valid JSON ({exc})", path=path, fix=fix) from None
    if manifest.get("format") != RANKER_FORMAT:
        raise DataError(f"ranker format {manifest.get('format')!r}; this Encore reads "
                        f"{RANKER_FORMAT!r}", path=path, fix=fix)
    kind = manifest.get("kind")
    if kind not in _REGISTRY:
        raise DataError(f"unknown ranker kind {kind!r}", path=path, field="kind",
                        fix=f"use one of {', '.join(_REGISTRY)}")
    try:
        saved = FeatureSchema.model_validate(manifest["schema"])
    except Exception as exc:  # noqa: BLE001 — pydantic or KeyError: one clear message
        raise DataError(f"the feature schema in manifest.json cannot be read ({exc})",
                        path=path, field="schema", fix=fix) from None
    saved.check_readable_by(schema or FEATURE_SCHEMA, what=f"the ranker in {folder}")
    return _REGISTRY[kind]._from_manifest(folder, manifest, saved)


def _has_pairs(data: RankingSet) -> bool:
    starts = np.concatenate([[0], np.cumsum(data.groups)[:-1]])
    for s, g in zip(starts, data.groups, strict=True):
        lab = data.labels[s:s + g]
        if lab.size and lab.max() > lab.min():
            return True
    return False


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise ImportError("the LightGBM ranker needs the package lightgbm, a dependency of "
                          "Encore: pip install 'lightgbm>=4.3' (or use ranker kind 'blend')"
                          ) from None
    return lightgbm


def top_contributions(contrib: np.ndarray, values: np.ndarray, names: Sequence[str], n: int = 3
                      ) -> list[tuple[str, float, float]]:
    """The ``n`` features that raised one candidate's score most: ``(name, value,
    contribution)``, positive contributions only, largest first."""
    order = np.argsort(-contrib, kind="stable")[:n]
    return [(names[j], float(values[j]), float(contrib[j])) for j in order if contrib[j] > 0]
