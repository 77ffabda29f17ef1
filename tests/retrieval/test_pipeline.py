"""The one pipeline: serving and evaluation give the same lists, every setting of its
configuration changes what comes out, the bundle records the configuration and serving
reads it back (explicit settings win), and the manifest holds no secret."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from assistant.engine import Engine
from assistant.parsers import make_parser
from assistant.settings import Settings
from eval.encore import Encore
from retrieval.bundle import Bundle, build_bundle, read_manifest
from retrieval.bundle_store import resolve
from retrieval.catalog import Catalog
from retrieval.config import PipelineConfig
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.pipeline import Pipeline
from retrieval.request import Request
from retrieval.retriever import History
from retrieval.train_ranker import make_training_lists, stats_from_config, train_ranker
from tests.bundles import demo_ranker_config

TEXTS = ["space films", "something funny", "a podcast about space", "no horror, before 2000", ""]


@pytest.fixture(scope="module")
def bundle(demo_bundle_path):
    return Bundle.load(demo_bundle_path)


@pytest.fixture(scope="module")
def parser(bundle):
    return make_parser("rules", bundle.catalog)


# -- a small data set with a taste signal (ratings, timestamps) ---------------------------------

GENRES = ("comedy", "horror", "western")


class HashEncoder:
    """A deterministic bag-of-words encoder: shared words, close vectors."""

    dim = 16
    model_key = "hash-encoder-16"

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, t in enumerate(texts):
            for w in t.lower().replace(",", " ").split():
                out[k] += np.random.default_rng(zlib.crc32(w.encode())).normal(size=self.dim)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def taste_data(n_users: int = 60, per_genre: int = 12):
    rng = np.random.default_rng(0)
    items = [Item(id=f"{g[0]}{k}", title=f"{g.title()} story {k}", media_type="movie",
                  year=1980 + k, duration_min=80 + 5 * k, genres=[g], tags=[f"{g}-mood"])
             for g in GENRES for k in range(per_genre)]
    rows = []
    for u in range(n_users):
        g = GENRES[u % len(GENRES)]
        start = int(rng.integers(per_genre))
        for t in range(9):
            item = f"{g[0]}{(start + t) % per_genre}"
            if rng.random() < 0.15:
                item = f"{GENRES[(u + 1) % 3][0]}0"
            rows.append(Interaction(user_id=f"u{u}", item_id=item,
                                    timestamp=86_400 * (u % 20) + t, event="rating",
                                    value=float(rng.integers(1, 6))))
    return Catalog(items), Interactions.from_records(rows)


@pytest.fixture(scope="module")
def taste():
    from retrieval.encoder import item_text

    cat, log = taste_data()
    enc = HashEncoder()
    return cat, log, enc, enc.encode([item_text(it) for it in cat])


QUICK = PipelineConfig().with_flat(
    n_candidates=20, collaborative=10, cuts=3, valid_fraction=0.25, cold_start_fraction=0.3,
    min_data_in_leaf=5, max_rounds=40, early_stopping=20, num_threads=1)


# -- (a) serving and evaluation: the same lists --------------------------------------------------


def test_engine_and_evaluation_adapter_give_identical_lists(bundle, parser) -> None:
    engine = Engine.from_bundle(bundle, Settings())
    system = Encore.from_bundle(bundle)
    assert system.config == engine.config == bundle.pipeline_config
    users = engine.known_users()[:4] + ["a-newcomer"]
    for user in users:
        hist = engine.base_history(user)
        for text in TEXTS:
            served = engine.recommend(hist, parser.parse(text), k=10)
            measured = system.respond(user, text, list(hist.item_ids), 10)
            assert [p.item_id for p in served] == measured, (user, text)
    # The conversational adapter now holds the hard constraints through the filter.
    got = system.respond(users[0], "no horror, before 2000", [], 10)
    assert got and all(bundle.catalog[i].year is not None and bundle.catalog[i].year <= 2000
                       and "horror" not in bundle.catalog[i].genres for i in got)


def test_a_fitted_adapter_serves_through_the_engine_unchanged(taste) -> None:
    cat, log, enc, vecs = taste
    system = Encore(enc, config=QUICK, cache_dir=None)
    system.fit(log, cat)
    engine = Engine(cat, system.pipeline.items.vectors, enc, log, Settings(),
                    stats=system.trained.stats, ranker=system.trained.ranker, config=QUICK)
    parse = make_parser("rules", cat)
    for user in ("u0", "u1", "u2", "nobody"):
        hist = engine.base_history(user)
        for text in ("a western", "comedy but no horror", "before 1985", ""):
            served = [p.item_id for p in engine.recommend(hist, parse.parse(text), k=5)]
            assert served == system.respond(user, text, list(hist.item_ids), 5), (user, text)


def test_rank_lists_and_recommend_agree(taste) -> None:
    cat, log, enc, vecs = taste
    trained = train_ranker(log, cat, vecs, encoder=enc, config=QUICK)
    pipe = Pipeline(cat, vecs, enc, trained.stats, ranker=trained.ranker,
                    config=QUICK.merged({"ranker": {"mmr_lambda": 0.5, "mmr_k": 5}}))
    hists = [History([f"c{k}" for k in range(4)]), History(["h1", "h2"]), History([])]
    lists = pipe.rank_lists(hists, nows=[5, 6, None])
    for h, rows, now in zip(hists, lists, [5, 6, None], strict=True):
        picks = pipe.recommend(h, None, k=8, now=now, evidence=False)
        assert [cat.ids[r] for r in rows[:8]] == [p.item_id for p in picks]
    req = Request(query="western", exclude_genres=["comedy"])
    rows = pipe.rank_lists(hists, requests=[req] * 3, filters=[pipe.filter(req)] * 3)
    assert all(not any(cat.ids[r].startswith("c") for r in rr) for rr in rows)


def test_one_filter_per_call_and_no_per_item_predicate(bundle, parser, monkeypatch) -> None:
    import retrieval.diversify as diversify
    from retrieval.filter import FilterBuilder

    engine = Engine.from_bundle(bundle, Settings())
    calls = []
    real = FilterBuilder.build
    monkeypatch.setattr(FilterBuilder, "build",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))

    def forbidden(*a, **k):
        raise AssertionError("the per-item predicate ran in the serving path")

    monkeypatch.setattr(diversify, "satisfies", forbidden)
    req = parser.parse("a podcast about space, no horror")
    picks = engine.recommend(engine.base_history(engine.known_users()[0]), req, k=10,
                             exclude=["nope"])
    assert picks and len(calls) == 1
    assert all(bundle.catalog[p.item_id].media_type.value == "podcast" for p in picks)


def test_nothing_to_retrieve_is_a_typed_check(bundle) -> None:
    from retrieval.retriever import NothingToRetrieve

    pipe = Engine.from_bundle(bundle, Settings()).pipeline
    with pytest.raises(NothingToRetrieve):
        pipe.retriever.query_vector(None, History(["not-in-the-catalog"]))
    # The pipeline checks instead of catching: a stranger gets popular candidates.
    cl = pipe.generator.generate_list(History(["not-in-the-catalog"]))
    assert len(cl.rows) == pipe.generator.n and not cl.from_dense.any()


# -- (b) every setting takes effect ----------------------------------------------------------


def _engine_picks(bundle, parser, settings: Settings, histories=None) -> list[tuple[str, ...]]:
    engine = Engine.from_bundle(bundle, settings)
    # the first users, and the first with a dislike too (so that every setting can act)
    known = engine.known_users()
    users = list(dict.fromkeys(known[:3] + [u for u in known
                                            if "dislike" in engine.base_history(u).events][:3]))
    hists = histories or [engine.base_history(u) for u in users] + [History([])]
    return [tuple(p.item_id for p in engine.recommend(h, parser.parse(t) if t else None, k=10))
            for h in hists for t in TEXTS]


SERVING = [  # (section, field, a, b): the served picks of the test bundle differ
    ("retrieval", "request_weight", 0.0, 1.0),
    ("retrieval", "popularity_weight", 0.0, 5.0),
    ("retrieval", "dislike_weight", 0.0, 5.0),
    ("retrieval", "recency_half_life", 0.5, 100.0),
    ("retrieval", "max_history", 1, 200),
    ("retrieval", "n_candidates", 10, 50),
    ("retrieval", "collaborative", 0, 40),
    ("retrieval", "collaborative_with_request", 0, 40),
    ("ranker", "mmr_lambda", 0.3, 1.0),
    ("ranker", "mmr_k", 1, 20),
    ("retrieval", "stated_candidates", 0, 100),
]


@pytest.mark.parametrize(("section", "field", "a", "b"), SERVING,
                         ids=[f"{s}.{f}" for s, f, *_ in SERVING])
def test_serving_setting_changes_the_picks(bundle, parser, section, field, a, b) -> None:
    first = _engine_picks(bundle, parser, Settings(**{section: {field: a}}))
    second = _engine_picks(bundle, parser, Settings(**{section: {field: b}}))
    assert first != second


def test_the_same_settings_give_the_same_picks(bundle, parser) -> None:
    """The control of the effect tests: picks are deterministic."""
    s = Settings(retrieval={"request_weight": 0.6})
    assert _engine_picks(bundle, parser, s) == _engine_picks(bundle, parser, Settings())


def test_retrieval_dislike_rating_changes_the_picks(bundle, parser) -> None:
    """The demo log has no ratings: a rated history shows it (rated 3: liked at 2, disliked
    at 4, so the profile flips)."""
    # one clear taste (horror films): a mixed handful of films (the first of the catalog's
    # order) changed no list at all once the catalog grew
    cat = bundle.catalog
    films = [i for i in cat.ids if i.startswith("mv-") and "horror" in cat[i].genres][:10]
    mixed = [i for i in bundle.catalog.ids if not i.startswith("mv-")][::25][:10]
    rated = [History(ids, ["rating"] * len(ids), [3.0] * len(ids)) for ids in (films, mixed)]
    low = _engine_picks(bundle, parser, Settings(retrieval={"dislike_rating": 2.0}), rated)
    high = _engine_picks(bundle, parser, Settings(retrieval={"dislike_rating": 4.0}), rated)
    assert low != high


def _blend_order(taste, config: PipelineConfig, histories=None) -> list[list[int]]:
    cat, log, enc, vecs = taste
    stats = stats_from_config(log, cat, config.stats)
    pipe = Pipeline(cat, vecs, enc, stats, config=config)
    hists = histories or [History([f"{g}{k}" for k in range(j, j + 6)],
                                  ["rating"] * 6, [5, 3, 4, 3, 5, 3])
                          for g in "chw" for j in (0, 3)]
    return [r.tolist() for r in pipe.rank_lists(hists, nows=[86_400 * 19] * len(hists))]


LISTS = [  # (section, field, a, b): the ranked lists of a blend pipeline differ
    ("features", "last_k", 1, 6),
    ("features", "dislike_rating", 2.0, 4.0),
    ("stats", "min_rating", None, 4.0),
    ("stats", "recent_days", 0.5, 30.0),
    ("stats", "ease_l2", 0.1, 1000.0),
    ("stats", "knn_neighbours", 1, 200),
    ("stats", "dense_limit", 0, 16_000),
]


@pytest.mark.parametrize(("section", "field", "a", "b"), LISTS,
                         ids=[f"{s}.{f}" for s, f, *_ in LISTS])
def test_feature_and_statistics_setting_changes_the_ranking(taste, section, field, a, b) -> None:
    base = PipelineConfig(retrieval={"n_candidates": 30, "collaborative": 20})
    first = _blend_order(taste, base.merged({section: {field: a}}))
    second = _blend_order(taste, base.merged({section: {field: b}}))
    assert first != second


def _lists_signature(taste, config: PipelineConfig) -> tuple:
    cat, log, enc, vecs = taste
    lists, _ = make_training_lists(log, cat, vecs, encoder=enc, config=config)
    return (tuple(lists.train.query_ids), tuple(lists.valid.query_ids),
            tuple(lists.train.groups.tolist()), float(lists.train.labels.sum()),
            float(np.nansum(lists.train.features)))


FACTORS = [  # (field, a, b): the ALS features of the training lists differ
    ("mf_factors", 0, 8), ("mf_iterations", 1, 4), ("mf_regularization", 0.01, 10.0),
    ("mf_alpha", 1.0, 40.0), ("mf_with_ease", False, True),
]


@pytest.mark.parametrize(("field", "a", "b"), FACTORS, ids=[f for f, *_ in FACTORS])
def test_factor_setting_changes_the_lists(taste, field, a, b) -> None:
    base = PipelineConfig(retrieval={"n_candidates": 30, "collaborative": 20},
                          stats={"mf_with_ease": True})  # the taste data fits EASE
    assert _lists_signature(taste, base.merged({"stats": {field: a}})) != \
        _lists_signature(taste, base.merged({"stats": {field: b}}))


TRAINING = [  # (field, a, b): the training lists differ
    ("cuts", 1, 3), ("horizon", 1, 3), ("min_history", 1, 7), ("valid_fraction", 0.1, 0.5),
    ("cold_start_fraction", 0.0, 0.5), ("request_fraction", 0.0, 0.5), ("max_users", 5, None),
    ("max_queries", 30, None), ("seed", 0, 1),
]


@pytest.mark.parametrize(("field", "a", "b"), TRAINING, ids=[f for f, *_ in TRAINING])
def test_training_setting_changes_the_lists(taste, field, a, b) -> None:
    first = _lists_signature(taste, QUICK.merged({"training": {field: a}}))
    second = _lists_signature(taste, QUICK.merged({"training": {field: b}}))
    assert first != second


@pytest.fixture(scope="module")
def quick_lists(taste):
    cat, log, enc, vecs = taste
    return make_training_lists(log, cat, vecs, encoder=enc, config=QUICK)[0]


def _model_scores(taste, lists, config: PipelineConfig) -> np.ndarray:
    cat, log, enc, vecs = taste
    trained = train_ranker(log, cat, vecs, encoder=enc, config=config, lists=lists)
    from retrieval.features import FeatureMatrix

    return trained.ranker.score(FeatureMatrix(lists.valid.features, lists.valid.schema.names))


MODEL = [  # (field, a, b): the trained ranker scores the validation lists differently
    ("kind", "lightgbm", "blend"), ("learning_rate", 0.02, 0.3), ("num_leaves", 2, 15),
    ("min_data_in_leaf", 5, 60), ("max_rounds", 2, 40), ("early_stopping", 1, 40),
    ("drop_groups", [], ["collaborative", "popularity"]),
]


@pytest.mark.parametrize(("field", "a", "b"), MODEL, ids=[f for f, *_ in MODEL])
def test_ranker_setting_changes_the_model(taste, quick_lists, field, a, b) -> None:
    first = _model_scores(taste, quick_lists, QUICK.merged({"ranker": {field: a}}))
    second = _model_scores(taste, quick_lists, QUICK.merged({"ranker": {field: b}}))
    assert not np.allclose(first, second)


def test_num_threads_reaches_lightgbm_and_defaults_to_all_cores() -> None:
    from retrieval.train_ranker import make_ranker_from_config

    assert PipelineConfig().ranker.num_threads == 0  # LightGBM's 0: OpenMP's default, all cores
    for n in (0, 3):
        ranker = make_ranker_from_config(PipelineConfig(ranker={"num_threads": n}).ranker)
        assert ranker._lgb_params()["num_threads"] == n  # type: ignore[attr-defined]


def test_every_setting_has_an_effect_test() -> None:
    tested = ({(s, f) for s, f, *_ in SERVING + LISTS} | {("retrieval", "dislike_rating")}
              | {("training", f) for f, *_ in TRAINING} | {("ranker", f) for f, *_ in MODEL}
              | {("ranker", "num_threads")}
              | {("stats", f) for f, *_ in FACTORS} | {("stats", "mf_threads")}  # speed only
              | {("stats", "mf_index_above")}  # tests/retrieval/test_large_bounds.py
              | {("ranker", "request_first")})  # tests/retrieval/test_request_first.py
    every = {(s, f) for s, field in PipelineConfig.model_fields.items()
             for f in field.annotation.model_fields}  # type: ignore[union-attr]
    assert every == tested, sorted(every ^ tested)


def test_fitting_reports_progress(taste, caplog) -> None:
    import logging

    cat, log, enc, vecs = taste
    lines: list[str] = []
    every_round = QUICK.with_flat(early_stopping=40)  # the last round is always reported
    train_ranker(log, cat, vecs, encoder=enc, config=every_round, progress=lines.append)
    assert any(x.startswith("training lists:") and "queries" in x for x in lines)
    assert any(x.startswith("lightgbm: round") for x in lines)
    with caplog.at_level(logging.INFO):
        train_ranker(log, cat, vecs, encoder=enc, config=every_round)
    assert any("lightgbm: round" in r.getMessage() for r in caplog.records)


# -- (c) the bundle records the configuration; serving reads it ------------------------------


def test_the_bundle_records_its_pipeline_and_serving_reads_it(bundle, monkeypatch) -> None:
    recorded = read_manifest(bundle.path)["pipeline"]
    assert PipelineConfig.model_validate(recorded) == demo_ranker_config()
    engine = Engine.from_bundle(bundle, Settings())
    # The bundle's 50 candidates, not the settings' default 200.
    assert engine.pipeline.generator.n == 50 and engine.config == bundle.pipeline_config
    # A field set explicitly wins; the others stay the bundle's.
    engine = Engine.from_bundle(bundle, Settings(retrieval={"n_candidates": 30}))
    assert engine.pipeline.generator.n == 30 and engine.config.retrieval.collaborative == 40
    monkeypatch.setenv("ENCORE_RANKER__MMR_LAMBDA", "0.5")
    engine = Engine.from_bundle(bundle, Settings())
    assert engine.pipeline.reranker.mmr_lambda == 0.5
    assert engine.config.ranker.max_rounds == demo_ranker_config().ranker.max_rounds


# -- (d) no secret in the manifest -------------------------------------------------------------


def test_the_manifest_holds_no_secret(tmp_path, tiny_model_path) -> None:
    from retrieval.dataset import load_dataset
    from retrieval.encoder import load_encoder

    settings = Settings(llm={"api_key": "sk-very-secret", "base_url": "http://10.1.2.3:8000/v1"},
                        ui={"auth": "admin:hunter2"},
                        store={"url": "postgresql://me:pw123@db/encore"},
                        retrieval={"n_candidates": 30})
    out = build_bundle(load_dataset("demo:20"), tmp_path / "b", settings,
                       encoder=load_encoder(tiny_model_path), progress=False, train_ranker=False)
    text = (resolve(out).folder / "manifest.json").read_text()
    for secret in ("sk-very-secret", "10.1.2.3", "hunter2", "pw123", "api_key"):
        assert secret not in text
    manifest = json.loads(text)
    assert "settings" not in manifest and "llm" not in manifest
    assert set(manifest["pipeline"]) == set(PipelineConfig.model_fields)
    assert manifest["pipeline"]["retrieval"]["n_candidates"] == 30


def test_a_bundle_from_before_the_manifest_recorded_it_reads_its_training_settings() -> None:
    from retrieval.bundle import _legacy_pipeline

    old = {"ranker": "lightgbm", "ranker_params": {"max_rounds": 40}, "drop_groups": [],
           "n_candidates": 50, "collaborative": 40, "cuts": 3, "horizon": 1, "min_history": 2,
           "valid_fraction": 0.1, "seed": 0, "min_rating": None, "recent_days": 30.0,
           "ease_l2": 300.0, "knn_neighbours": 200, "last_k": 5, "dislike_rating": 2.0,
           "retriever": {"request_weight": 0.7}}
    cfg = _legacy_pipeline(old)
    assert (cfg.retrieval.n_candidates, cfg.retrieval.collaborative, cfg.training.cuts,
            cfg.retrieval.request_weight) == (50, 40, 3, 0.7)
    assert _legacy_pipeline({}) == PipelineConfig()
