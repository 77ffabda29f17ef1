"""The ranker seam: LambdaMART learns and is reproducible, saved models keep their schema
and refuse another, the blend is transparent, training never sees what it predicts, and
cold users and cold items are ranked sensibly."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from retrieval.catalog import Catalog
from retrieval.config import PipelineConfig
from retrieval.errors import DataError
from retrieval.features import (
    FEATURE_SCHEMA,
    FeatureBuilder,
    FeatureMatrix,
    FeatureMismatch,
    ItemTable,
    QueryContext,
)
from retrieval.interactions import Interactions
from retrieval.models import Interaction, Item
from retrieval.ranker import (
    BlendRanker,
    LightGBMRanker,
    RankingSet,
    available_rankers,
    load_ranker,
    make_ranker,
)
from retrieval.request import Request
from retrieval.rerank import Reranker
from retrieval.retriever import Candidate, History
from retrieval.train_ranker import make_training_lists, train_ranker

GENRES = ("comedy", "horror", "western")


class HashEncoder:
    """A deterministic bag-of-words encoder: similar words, similar vectors."""

    dim = 16

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, t in enumerate(texts):
            for w in t.lower().replace(".", " ").replace(",", " ").split():
                out[k] += np.random.default_rng(zlib.crc32(w.encode())).normal(size=self.dim)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def taste_data(n_users: int = 60, per_genre: int = 12, seed: int = 0):
    """Each user likes one genre and watches its films in catalog order from a random start
    (so the next film follows the last), with a popular film now and then."""
    rng = np.random.default_rng(seed)
    items = [Item(id=f"{g[0]}{k}", title=f"{g.title()} story {k}", media_type="movie",
                  year=1980 + k, duration_min=90 + k, genres=[g], tags=[f"{g}-mood"])
             for g in GENRES for k in range(per_genre)]
    rows = []
    for u in range(n_users):
        g = GENRES[u % len(GENRES)]
        start = int(rng.integers(per_genre))
        for t in range(8):
            item = f"{g[0]}{(start + t) % per_genre}"
            if rng.random() < 0.15:
                item = f"{GENRES[(u + 1) % 3][0]}0"  # a popular film of another genre
            rows.append(Interaction(user_id=f"u{u}", item_id=item, timestamp=1000 * u + t,
                                    event="rating", value=float(rng.integers(1, 6))))
    log = Interactions.from_records(rows)
    from eval.protocols import implicit_positives

    return Catalog(items), implicit_positives(log)[0]


@pytest.fixture(scope="module")
def data():
    cat, log = taste_data()
    enc = HashEncoder()
    from retrieval.encoder import item_text

    vecs = enc.encode([item_text(it) for it in cat])
    return cat, log, enc, vecs


CFG = dict(n_candidates=20, collaborative=10, cuts=3, valid_fraction=0.25, seed=3,
           cold_start_fraction=0.3, min_data_in_leaf=5, max_rounds=60, early_stopping=20,
           num_threads=1)


def _config(**flat):  # a PipelineConfig from bare field names
    seed = flat.pop("seed", 0)
    kind = flat.pop("ranker", "lightgbm")
    return PipelineConfig().with_flat(**flat).merged({"training": {"seed": seed},
                                                      "ranker": {"kind": kind}})


@pytest.fixture(scope="module")
def trained(data):
    cat, log, enc, vecs = data
    return train_ranker(log, cat, vecs, encoder=enc, config=_config(**CFG))


def test_registry_names_and_errors() -> None:
    assert available_rankers() == ["lightgbm", "blend"]
    assert isinstance(make_ranker("lambdamart"), LightGBMRanker)
    assert isinstance(make_ranker("blend"), BlendRanker)
    with pytest.raises(ValueError, match="unknown ranker 'svm'; valid names: lightgbm, blend"):
        make_ranker("svm")
    with pytest.raises(ValueError, match="bad parameter for ranker 'lightgbm'"):
        make_ranker("lightgbm", depth=3)
    with pytest.raises(RuntimeError, match="not trained"):
        make_ranker("lightgbm").score(FeatureMatrix(
            np.zeros((1, len(FEATURE_SCHEMA.names)), np.float32), FEATURE_SCHEMA.names))


def test_training_learns_and_reports(trained) -> None:
    rep = trained.report
    assert rep["rounds"] >= 1 and rep["valid_ndcg@10"] > 0.5
    assert rep["counts"]["train queries"] > rep["counts"]["valid queries"] > 0
    imp = rep["importance_gain"]
    assert set(imp) == set(FEATURE_SCHEMA.names) and sum(imp.values()) == pytest.approx(1, abs=1e-3)
    assert 0 < rep["candidate_recall"]["any"] <= 1
    assert rep["counts"]["queries with a synthetic request"] > 0


def test_training_is_reproducible_with_a_seed(data, trained) -> None:
    cat, log, enc, vecs = data
    again = train_ranker(log, cat, vecs, encoder=enc, config=_config(**CFG))
    assert again.ranker.booster.model_to_string() == trained.ranker.booster.model_to_string()


def test_positives_never_leak_into_their_own_features(data) -> None:
    """Each user's last item is one nobody else has: if the training lists' statistics saw
    it, its popularity feature would be above zero."""
    cat, log, enc, vecs = data
    users = sorted({str(u) for u in log.df["user_id"]})
    extra = Catalog([*cat, *(Item(id=f"only-{u}", title=f"Only {u}", media_type="movie",
                                  genres=["comedy"]) for u in users)])
    rows = [Interaction(user_id=u, item_id=f"only-{u}", timestamp=10**6) for u in users]
    log2 = log.concat(Interactions.from_records(rows))
    cfg = _config(**{**CFG, "cuts": 1, "collaborative": 0, "n_candidates": 200,
                                  "request_fraction": 0.0})
    lists, _ = make_training_lists(log2, extra, None, config=cfg)
    both = [lists.train, lists.valid]
    pop = FEATURE_SCHEMA.names.index("popularity")
    for part in both:
        assert part.n_queries > 0
        assert (part.features[part.labels > 0, pop] == 0).all()
        assert (part.features[part.labels == 0, pop] > 0).any()


def test_save_load_round_trip_and_schema_checks(trained, data, tmp_path) -> None:
    cat, log, enc, vecs = data
    trained.save(tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"ranker", "stats", "training.json"}
    manifest = json.loads((tmp_path / "out" / "ranker" / "manifest.json").read_text())
    assert manifest["schema"]["version"] == 2 and manifest["importance_gain"]
    loaded = load_ranker(tmp_path / "out" / "ranker")
    width = len(FEATURE_SCHEMA.names)
    x = FeatureMatrix(np.random.default_rng(0).normal(size=(7, width)).astype(np.float32),
                      FEATURE_SCHEMA.names)
    np.testing.assert_array_equal(loaded.score(x), trained.ranker.score(x))
    # A model of another schema version refuses to load, naming the fix.
    manifest["schema"]["version"] = 0
    (tmp_path / "out" / "ranker" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FeatureMismatch, match="version 0.*encore build"):
        load_ranker(tmp_path / "out" / "ranker")
    # A model of schema version 1 (before the ALS features) still loads: its features are
    # computed as they were, and it reads them by name.
    manifest["schema"]["version"] = 1
    (tmp_path / "out" / "ranker" / "manifest.json").write_text(json.dumps(manifest))
    np.testing.assert_array_equal(load_ranker(tmp_path / "out" / "ranker").score(x),
                                  trained.ranker.score(x))
    # ... and so does one whose features this Encore does not compute.
    manifest["schema"]["version"] = 1
    manifest["schema"]["groups"]["extra"] = ["time_of_day"]
    (tmp_path / "out" / "ranker" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FeatureMismatch, match="time_of_day"):
        load_ranker(tmp_path / "out" / "ranker")
    with pytest.raises(DataError, match="not a ranker folder"):
        load_ranker(tmp_path / "nothing")


def test_damaged_model_file_is_refused(trained, tmp_path) -> None:
    trained.ranker.save(tmp_path / "r")
    (tmp_path / "r" / "model.txt").write_text("tree\n")
    with pytest.raises(DataError, match="checksum"):
        load_ranker(tmp_path / "r")


def test_missing_features_are_named(trained) -> None:
    partial = FeatureMatrix(np.zeros((3, 2), np.float32), ("popularity", "ease_score"))
    with pytest.raises(FeatureMismatch, match=f"lacks {len(FEATURE_SCHEMA.names) - 2} feature"):
        trained.ranker.score(partial)
    # Extra columns are fine: a model of fewer groups reads its own by name.
    r = make_ranker("blend", schema=FEATURE_SCHEMA.without("popularity"))
    assert r.score(FeatureMatrix(np.zeros((2, len(FEATURE_SCHEMA.names)), np.float32),
                                  FEATURE_SCHEMA.names)).shape == (2,)


def test_ablation_trains_on_fewer_groups(data, trained) -> None:
    cat, log, enc, vecs = data
    cfg = _config(**CFG, drop_groups=["collaborative"])
    lists, _ = make_training_lists(log, cat, vecs, encoder=enc, config=_config(**CFG))
    small = train_ranker(log, cat, vecs, encoder=enc, config=cfg, lists=lists)
    assert "ease_score" not in small.ranker.schema.names
    assert "ease_score" not in small.report["importance_gain"]


def test_blend_is_a_readable_weighted_sum() -> None:
    names = FEATURE_SCHEMA.names
    x = np.full((3, len(names)), np.nan, np.float32)
    x[:, names.index("popularity")] = [1.0, 2.0, 3.0]
    x[:, names.index("ease_score")] = [3.0, 1.0, 2.0]
    blend = BlendRanker({"popularity": 1.0, "ease_score": 2.0})
    m = FeatureMatrix(x, names)
    s = blend.score(m)
    z = np.array([-1.0, 0.0, 1.0]) * np.sqrt(1.5)
    np.testing.assert_allclose(s, 1.0 * z + 2.0 * z[[2, 0, 1]], rtol=1e-6)
    np.testing.assert_allclose(blend.contributions(m).sum(1), s)
    with pytest.raises(ValueError, match="unknown features"):
        BlendRanker({"colour": 1.0})
    lists = RankingSet(x, np.array([1, 0, 0], np.float32), [3], FEATURE_SCHEMA)
    assert blend.fit(lists)["rounds"] == 0


def test_lightgbm_learns_a_planted_signal() -> None:
    rng = np.random.default_rng(0)
    names = FEATURE_SCHEMA.names
    n_q, size = 120, 15
    x = rng.normal(size=(n_q * size, len(names))).astype(np.float32)
    y = np.zeros(n_q * size, np.float32)
    j = names.index("knn_recent_max")
    for q in range(n_q):
        block = slice(q * size, (q + 1) * size)
        y[q * size + int(np.argmax(x[block, j]))] = 1.0
    data = RankingSet(x, y, [size] * n_q, FEATURE_SCHEMA)
    r = LightGBMRanker(params={"min_data_in_leaf": 5}, max_rounds=30)
    rep = r.fit(data.subset(np.arange(100)), data.subset(np.arange(100, 120)))
    assert rep["valid_ndcg@10"] > 0.9
    assert next(iter(r.importances())) == "knn_recent_max"
    with pytest.raises(ValueError, match="nothing to learn"):
        r.fit(RankingSet(x[:15], np.zeros(15, np.float32), [15], FEATURE_SCHEMA))


def _reranker(trained, data) -> Reranker:
    cat, log, enc, vecs = data
    builder = FeatureBuilder(ItemTable(cat, vecs), trained.stats)
    return Reranker(builder, trained.ranker, mmr_lambda=1.0)


def test_serving_ranks_the_next_film_first(trained, data) -> None:
    cat, log, enc, vecs = data
    rr = _reranker(trained, data)
    cands = [Candidate(item_id=i, score=0.0, source="collaborative") for i in cat.ids
             if i not in ("c3", "c4", "c5")]
    picks = rr.rank(QueryContext(History(["c3", "c4", "c5"])), cands, k=5)
    assert picks[0].item_id.startswith("c")  # the user's genre first
    assert picks[0].evidence.features and picks[0].evidence.history
    assert picks[0].evidence.history[0].item_id in ("c3", "c4", "c5")


def test_cold_start_ranks_from_the_request_and_popularity(trained, data) -> None:
    cat, log, enc, vecs = data
    rr = _reranker(trained, data)
    cands = [Candidate(item_id=i, score=0.0, source="popular") for i in cat.ids]
    req = Request(query="western", genres=["western"])
    ctx = QueryContext(History([]), request=req, request_vector=enc.encode(["western"])[0])
    picks = rr.rank(ctx, cands, k=5)
    assert len(picks) == 5 and sum(p.item_id.startswith("w") for p in picks) >= 4
    # No request, no history: the most popular films lead.
    plain = rr.rank(QueryContext(History([])), cands, k=3)
    pop = trained.stats.popularity(trained.stats.rows([p.item_id for p in plain]))
    assert pop[0] >= np.median(trained.stats.counts)


def test_cold_item_is_ranked_from_its_text(trained, data) -> None:
    cat, log, enc, vecs = data
    new = Item(id="w-new", title="Western story new", media_type="movie", year=1990,
               genres=["western"], tags=["western-mood"])
    grown = Catalog([*cat, new])
    from retrieval.encoder import item_text

    vecs2 = np.vstack([vecs, enc.encode([item_text(new)])])
    builder = FeatureBuilder(ItemTable(grown, vecs2), trained.stats)
    rr = Reranker(builder, trained.ranker, mmr_lambda=1.0)
    cands = [Candidate(item_id=i, score=0.0, source="dense") for i in ("w-new", "h1", "c1")]
    req = Request(query="western", genres=["western"])
    picks = rr.rank(QueryContext(History(["w1", "w2"]), request=req,
                                 request_vector=enc.encode(["western"])[0]), cands, k=3)
    assert picks[0].item_id == "w-new" and np.isfinite(picks[0].score)


def test_train_ranker_command(tmp_path) -> None:
    from assistant.commands.ranker import register

    cat, log = taste_data(n_users=30)
    folder = tmp_path / "data"
    folder.mkdir()
    with open(folder / "catalog.jsonl", "w") as fh:
        for it in cat:
            fh.write(it.model_dump_json() + "\n")
    log.df.assign(event="play").to_csv(folder / "interactions.csv", index=False)
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:
        pass

    runner = CliRunner()
    out = tmp_path / "model"
    args = ["train-ranker", "--data", str(folder), "--out", str(out), "--encoder", "none",
            "--n-candidates", "20", "--collaborative", "10", "--cuts", "2", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["out"] == str(out) and summary["rounds"] >= 1
    assert (out / "ranker" / "model.txt").is_file() and (out / "stats" / "stats.json").is_file()
    bad = runner.invoke(app, ["train-ranker", "--data", str(tmp_path / "nope"), "--out",
                              str(out), "--encoder", "none"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1
    worse = runner.invoke(app, [*args[:-1], "--ranker", "svm"])
    assert worse.exit_code == 2 and "valid names: lightgbm, blend" in worse.stderr
