"""The baselines against brute-force versions of their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from eval.baselines import EASE, ItemKNN, Popularity, RandomRecommender
from eval.systems import Recommender
from retrieval.collaborative.base import training_matrix
from retrieval.encoding import user_item_matrix


@pytest.fixture()
def fitted_data(make_catalog, random_log):
    catalog = make_catalog(25)
    log = random_log(40, 25, 7, seed=4)
    return catalog, log


def _history(log, catalog, users):
    return user_item_matrix(log, users, catalog)


@pytest.mark.parametrize("cls", [RandomRecommender, Popularity, ItemKNN, EASE])
def test_every_baseline_is_a_recommender(cls) -> None:
    assert isinstance(cls(), Recommender)


@pytest.mark.parametrize("cls", [RandomRecommender, Popularity, ItemKNN, EASE])
def test_scoring_before_fit_is_a_clear_error(cls) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        cls().score(["u"], sparse.csr_matrix((1, 3)))


def test_history_shape_is_checked(fitted_data) -> None:
    catalog, log = fitted_data
    ease = EASE()
    ease.fit(log, catalog)
    with pytest.raises(ValueError, match="expected \\(2, 25\\)"):
        ease.score(["1", "2"], sparse.csr_matrix((2, 24)))


def test_popularity_counts_distinct_users(fitted_data) -> None:
    catalog, log = fitted_data
    pop = Popularity()
    pop.fit(log, catalog)
    x = training_matrix(log, catalog).toarray()
    scores = pop.score(["1", "new"], _history(log, catalog, ["1", "new"]))
    np.testing.assert_array_equal(scores, np.vstack([x.sum(axis=0)] * 2))


def test_random_is_seeded_per_user_and_independent_of_batches(fitted_data) -> None:
    catalog, log = fitted_data
    a, b = RandomRecommender(seed=3), RandomRecommender(seed=4)
    a.fit(log, catalog)
    b.fit(log, catalog)
    users = ["1", "2", "3"]
    h = _history(log, catalog, users)
    together = a.score(users, h)
    alone = np.vstack([a.score([u], h[i]) for i, u in enumerate(users)])
    np.testing.assert_array_equal(together, alone)
    assert not np.array_equal(together, b.score(users, h))


def test_itemknn_matches_brute_force_cosine(fitted_data) -> None:
    catalog, log = fitted_data
    x = training_matrix(log, catalog).toarray().astype(float)
    n_items = x.shape[1]
    sim = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            if i != j:
                den = np.sqrt(x[:, i].sum() * x[:, j].sum()) + 5.0
                sim[i, j] = (x[:, i] @ x[:, j]) / den if den else 0.0
    # Keep, for each target item j, its 4 most similar items i.
    pruned = np.zeros_like(sim)
    for j in range(n_items):
        keep = np.argsort(-sim[:, j], kind="stable")[:4]
        pruned[keep, j] = sim[keep, j]
    knn = ItemKNN(neighbours=4, shrink=5.0)
    knn.fit(log, catalog)
    users = ["1", "7"]
    h = _history(log, catalog, users)
    np.testing.assert_allclose(knn.score(users, h), h.toarray() @ pruned, rtol=1e-5, atol=1e-6)


def test_ease_satisfies_its_optimality_conditions(fitted_data) -> None:
    catalog, log = fitted_data
    lam = 7.0
    ease = EASE(l2=lam)
    ease.fit(log, catalog)
    b = ease.weights.astype(float)
    x = training_matrix(log, catalog).toarray().astype(float)
    g = x.T @ x
    # min ||X - XB||² + λ||B||² s.t. diag(B) = 0  <=>  (G + λI) B - G is diagonal.
    resid = (g + lam * np.eye(len(g))) @ b - g
    off = resid - np.diag(np.diag(resid))
    assert np.abs(np.diag(b)).max() == 0.0
    assert np.abs(off).max() < 1e-3


def test_ease_and_itemknn_validate_parameters() -> None:
    with pytest.raises(ValueError, match="positive"):
        EASE(l2=0)
    with pytest.raises(ValueError, match="neighbours"):
        ItemKNN(neighbours=-1)
    with pytest.raises(ValueError, match="shrink"):
        ItemKNN(shrink=-1)


# -- the request + popularity blend -------------------------------------------------------------


class _GenreEncoder:
    """Texts -> one axis per genre word they contain (a stand-in for a sentence encoder)."""

    dim = 3
    words = ("comedy", "horror", "drama")

    def encode(self, texts):
        out = np.array([[float(w in t.lower()) for w in self.words] for t in texts],
                       dtype=np.float32)
        out[out.sum(axis=1) == 0] = 1.0
        return out


def _genre_world():
    from retrieval.catalog import Catalog
    from retrieval.interactions import Interactions
    from retrieval.models import Interaction, Item

    genres = ["comedy", "horror", "drama"]
    cat = Catalog([Item(id=f"{g}{k}", title=f"Title {g[0]}{k}", media_type="movie", genres=[g])
                   for g in genres for k in range(5)])
    rows = [Interaction(user_id=f"u{u}", item_id=f"{genres[u % 3]}{(u + t) % 5}",
                        timestamp=10 * u + t) for u in range(30) for t in range(4)]
    rows += [Interaction(user_id=f"u{u}", item_id="drama0", timestamp=10 * u + 9)
             for u in range(0, 30, 2)]  # drama0 is the most popular item
    return cat, Interactions.from_records(rows)


def test_the_blend_scores_cosine_and_popularity_as_its_formula_says() -> None:
    from eval.baselines import RequestPopularityBlend

    cat, log = _genre_world()
    blend = RequestPopularityBlend(_GenreEncoder(), weight=0.7, cache_dir=None)
    blend.fit(log, cat)
    pop = np.log1p(training_matrix(log, cat).toarray().sum(axis=0))
    pop /= pop.max()
    vecs = _GenreEncoder().encode([f"{it.title} {' '.join(it.genres)}" for it in cat])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    cos = vecs @ np.array([0.0, 1.0, 0.0])
    expected = [cat.ids[j] for j in np.argsort(-(0.7 * cos + 0.3 * pop), kind="stable")[:4]]
    assert blend.respond("x", "a horror film", [], 4) == expected
    assert all(i.startswith("horror") for i in expected)
    assert blend.respond("x", "a horror film", ["horror0"], 4)[0] != "horror0"


def test_the_blend_tunes_its_weight_on_validation_requests() -> None:
    from eval.baselines import RequestPopularityBlend

    cat, log = _genre_world()
    blend = RequestPopularityBlend(_GenreEncoder(), cache_dir=None, n_valid=30)
    blend.fit(log, cat)
    assert set(blend.tuning) == {round(w, 2) for w in np.linspace(0, 1, 11)}
    assert blend.weight == max(blend.tuning, key=lambda w: (blend.tuning[w], -w))
    assert blend.tuning[blend.weight] > blend.tuning[0.0]  # the request helps
    with pytest.raises(RuntimeError, match="not fitted"):
        RequestPopularityBlend(_GenreEncoder()).respond("x", "comedy", [], 3)
