"""One evaluation from start to finish: load, split, fit, rank, score, and optionally the
conversational suite. ``encore eval`` builds an :class:`EvalConfig` and calls
:func:`run_eval`; so can anyone from Python.

Example:
    >>> cfg = EvalConfig(data="movielens:/data/ml-100k", systems=["pop", "ease"])
    >>> cfg.protocol, cfg.metrics[0], cfg.tie_break
    ('loo', 'ndcg@10', 'item')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eval.harness import DEFAULT_CURVE_KS, DEFAULT_METRICS, EvalResult, evaluate
from eval.metrics import ACCURACY, parse_metric, parse_metrics
from eval.protocols import (
    PROTOCOLS,
    TIE_BREAKS,
    Split,
    external_split,
    implicit_positives,
    make_split,
)
from eval.systems import Recommender, canonical_name, make_system
from retrieval.errors import DataError

__all__ = ["EvalConfig", "build_split", "build_systems", "run_eval"]


class EvalConfig(BaseModel):
    """Everything that decides an evaluation's numbers."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(
        description="Data set reference: movielens:PATH, demo, or a path "
        "(with --train/--test: the catalog to rank over)."
    )
    protocol: str = Field(default="loo", description="Split: " + ", ".join(PROTOCOLS) + ".")
    systems: list[str] = Field(
        default_factory=lambda: ["pop", "itemknn", "ease"],
        description="System names, see eval.systems.",
    )
    metrics: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METRICS), description="Metric names such as ndcg@10."
    )
    curve_ks: list[int] = Field(
        default_factory=lambda: list(DEFAULT_CURVE_KS), description="Cut-offs of the Recall@K plot."
    )
    train: Path | None = Field(default=None, description="Training log of a split made elsewhere.")
    test: Path | None = Field(default=None, description="Test log of a split made elsewhere.")
    valid: bool = Field(default=False, description="Hold out a validation part for tuning.")
    on: str = Field(default="test", description="Evaluate on 'test' or on 'valid' (tuning).")
    test_fraction: float = Field(default=0.2, gt=0, lt=1, description="Share held out by 'last'.")
    cutoff: str | None = Field(
        default=None, description="'time' cut-off: date, Unix seconds or quantile (default 0.8)."
    )
    tie_break: str = Field(
        default="item",
        description="Order of simultaneous interactions: " + ", ".join(TIE_BREAKS) + ".",
    )
    min_rating: float | None = Field(
        default=None, description="Ratings below it are not positives."
    )
    sampled_negatives: int | None = Field(
        default=None,
        ge=1,
        description="Also report every accuracy metric against N sampled negatives, labelled.",
    )
    requests: Path | None = Field(default=None, description="Request-set JSONL to run.")
    generate_requests: int | None = Field(
        default=None,
        ge=1,
        description="Write and run this many requests from held-out items' genres and tags.",
    )
    params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Hyper-parameters per system."
    )
    seed: int = Field(default=0, description="Seed of every random choice.")
    batch_size: int = Field(default=512, ge=1, description="Users ranked at once.")
    skip_bad_rows: bool = Field(default=False, description="Skip and count bad input rows.")
    progress: bool = Field(default=True, description="Show progress bars on stderr.")

    @field_validator("systems")
    @classmethod
    def _systems(cls, v: list[str]) -> list[str]:
        names = [canonical_name(s) for s in v if s.strip()]
        if not names:
            raise ValueError("name at least one system, e.g. pop,itemknn,ease")
        return list(dict.fromkeys(names))

    @field_validator("on")
    @classmethod
    def _on(cls, v: str) -> str:
        if v not in ("test", "valid"):
            raise ValueError(f"evaluate on 'test' or 'valid', got {v!r}")
        return v

    @field_validator("tie_break")
    @classmethod
    def _tie(cls, v: str) -> str:
        if v not in TIE_BREAKS:
            raise ValueError(f"unknown tie-break {v!r}; valid values: {', '.join(TIE_BREAKS)}")
        return v


def build_systems(config: EvalConfig) -> dict[str, Recommender]:
    """Every requested system, unfitted; errors (unknown or unavailable) come before any
    long computation."""
    out = {}
    for name in config.systems:
        params = dict(config.params.get(name, {}))
        if name == "random":
            params.setdefault("seed", config.seed)
        out[name] = make_system(name, **params)
    unknown = set(config.params) - set(config.systems)
    if unknown:
        raise ValueError(
            f"parameters given for systems that are not evaluated: "
            f"{', '.join(sorted(unknown))}; evaluated: {', '.join(config.systems)}"
        )
    return out


def build_split(config: EvalConfig, dataset: Any) -> tuple[Split, dict[str, int]]:
    """The split the config asks for, and the counts of what preparing it dropped."""
    from retrieval.errors import LoadReport
    from retrieval.loaders import load_interactions

    counts: dict[str, int] = {}
    if (config.train is None) != (config.test is None):
        raise ValueError("a split made elsewhere needs both --train FILE and --test FILE")
    if config.train is not None and config.test is not None:
        report = LoadReport()
        logs = []
        for path in (config.train, config.test):
            log = load_interactions(
                path,
                item_ids=dataset.catalog.ids,
                skip_bad_rows=config.skip_bad_rows,
                report=report,
            )
            log, dropped = implicit_positives(log, min_value=config.min_rating)
            for k, v in dropped.items():
                counts[f"{Path(path).name}: {k}"] = v
            logs.append(log)
        if report.skipped:
            counts["bad rows skipped in --train/--test"] = report.skipped
        return external_split(
            logs[0], logs[1], valid=config.valid, tie_break=config.tie_break, seed=config.seed
        ), counts
    log = dataset.interactions
    if len(log) == 0:
        raise DataError(
            f"the data set {config.data!r} has no interactions to split",
            fix="load a data set with interactions, or give --train FILE --test FILE",
        )
    log, dropped = implicit_positives(log, min_value=config.min_rating)
    counts.update(dropped)
    options: dict[str, Any] = {"valid": config.valid}
    key = config.protocol.strip().lower()
    if key in ("loo", "leave-one-out", "last", "last-fraction"):
        options.update(tie_break=config.tie_break, seed=config.seed)
    if key in ("random", "random-holdout", "loo-random"):
        options["seed"] = config.seed
    if key in ("last", "last-fraction"):
        options["fraction"] = config.test_fraction
    if key in ("time", "cutoff", "time-cutoff", "global-time") and config.cutoff is not None:
        options["cutoff"] = config.cutoff
    return make_split(config.protocol, log, **options), counts


def run_eval(config: EvalConfig) -> EvalResult:
    """Run the evaluation ``config`` describes.

    Raises:
        DataError: for bad input data (named file, line, field and fix).
        ValueError: for bad settings (unknown names, K larger than the catalog, …).
    """
    from retrieval.dataset import load_dataset

    specs = parse_metrics(config.metrics)
    if config.sampled_negatives:
        specs += [
            parse_metric(f"{s.name}@{s.k}[sampled:{config.sampled_negatives}]")
            for s in specs
            if s.name in ACCURACY and s.sampled is None
        ]
    if config.protocol.strip().lower() not in (
        *PROTOCOLS,
        "random-holdout",
        "loo-random",
        "leave-one-out",
        "last-fraction",
        "cutoff",
        "time-cutoff",
        "global-time",
    ):
        raise ValueError(
            f"unknown protocol {config.protocol!r}; valid names: "
            f"{', '.join(PROTOCOLS)} (or --train FILE --test FILE)"
        )
    systems = build_systems(config)
    dataset = load_dataset(config.data, skip_bad_rows=config.skip_bad_rows, seed=config.seed)
    split, prep_counts = build_split(config, dataset)
    result = evaluate(
        split,
        dataset.catalog,
        systems,
        specs,
        on=config.on,
        curve_ks=config.curve_ks,
        batch_size=config.batch_size,
        seed=config.seed,
        dataset=dataset.name + (" [SYNTHETIC interactions]" if dataset.synthetic else ""),
        progress=config.progress,
    )
    counts = dict(prep_counts)
    counts.update(result.counts)
    if dataset.report.skipped:
        counts["bad rows skipped while loading the data set"] = dataset.report.skipped
    result.counts = counts
    result.settings.update(
        {
            "tie_break": config.tie_break,
            "min_rating": config.min_rating,
            "params": {n: _hyper_parameters(s) for n, s in systems.items()},
        }
    )
    if config.requests is not None or config.generate_requests:
        result.requests = _run_requests(config, dataset, split, systems)
    return result


def _hyper_parameters(system: Recommender) -> dict[str, Any]:
    """The constructor arguments a system was built with, read back from its attributes."""
    import inspect

    out: dict[str, Any] = {}
    for name in list(inspect.signature(type(system).__init__).parameters)[1:]:
        value = getattr(system, name, None)
        if isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def _run_requests(
    config: EvalConfig, dataset: Any, split: Split, systems: dict[str, Recommender]
) -> Any:
    from eval.conversational import (
        RequestSuite,
        as_turn,
        generate_requests,
        history_lookup,
        load_requests,
        run_requests,
    )

    fit_log = split.fit_data(config.on)
    counts: dict[str, int] = {}
    if config.requests is not None:
        req = load_requests(config.requests, dataset.catalog, skip_bad_rows=config.skip_bad_rows)
        cases, source = req.cases, str(config.requests)
        if req.report.skipped:
            counts["bad request lines skipped"] = req.report.skipped
    else:
        gen = generate_requests(
            fit_log,
            split.target(config.on),
            dataset.catalog,
            n=config.generate_requests,
            seed=config.seed,
        )
        cases, source = (
            gen.cases,
            f"generated from held-out items' genres and tags (seed {config.seed})",
        )
        counts.update(gen.counts)
        if not cases:
            raise DataError(
                "no request could be generated: the held-out items have no genres or tags",
                fix="use a catalog with genres or tags, or give --requests FILE",
            )
    history = history_lookup(fit_log)
    suite = RequestSuite(
        source=source,
        cases=len(cases),
        counts=counts,
        generated=None if config.requests is not None else cases,
    )
    for name, system in systems.items():  # fitted by the history-only run
        suite.results[name] = run_requests(
            cases,
            as_turn(system, dataset.catalog),
            dataset.catalog,
            history=history,
            name=name,
            progress=config.progress,
        )
    return suite
