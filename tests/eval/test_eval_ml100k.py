"""The real ml-100k (from ../shared/data, never copied into the repository): the
baselines land where published leave-one-out figures put them, fast, and reproducibly."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ml100k_result(ml100k_path):
    from eval.run import EvalConfig, run_eval

    started = time.perf_counter()
    result = run_eval(
        EvalConfig(
            data=f"movielens:{ml100k_path}",
            systems=["random", "pop", "itemknn", "ease"],
            progress=False,
        )
    )
    return result, time.perf_counter() - started


def test_all_users_every_baseline_under_a_minute(ml100k_result) -> None:
    result, seconds = ml100k_result
    assert result.users == 943 and result.n_items == 1682
    assert seconds < 60


def test_baselines_land_near_the_reference_figures(ml100k_result) -> None:
    result, _ = ml100k_result
    m = {n: {k: v.mean for k, v in s.metrics.items()} for n, s in result.systems.items()}
    # Reference: popularity 0.025; EASE 0.0406 / 0.0859; item-kNN 0.0379 / 0.0785.
    assert m["pop"]["ndcg@10"] == pytest.approx(0.025, abs=0.003)
    assert m["ease"]["ndcg@10"] == pytest.approx(0.0406, abs=0.004)
    assert m["ease"]["recall@10"] == pytest.approx(0.0859, abs=0.008)
    assert m["itemknn"]["ndcg@10"] == pytest.approx(0.0379, abs=0.004)
    assert m["itemknn"]["recall@10"] == pytest.approx(0.0785, abs=0.008)
    assert m["random"]["ndcg@10"] < 0.005
    assert m["ease"]["ndcg@10"] > m["pop"]["ndcg@10"] > m["random"]["ndcg@10"]


def test_ease_with_the_papers_lambda_reproduces_the_reference_exactly(ml100k_path) -> None:
    from eval.run import EvalConfig, run_eval

    result = run_eval(
        EvalConfig(
            data=f"movielens:{ml100k_path}",
            systems=["ease"],
            metrics=["ndcg@10", "recall@10"],
            params={"ease": {"l2": 500}},
            progress=False,
        )
    )
    ease = result.systems["ease"].metrics
    assert round(ease["ndcg@10"].mean, 4) == 0.0406 and round(ease["recall@10"].mean, 4) == 0.0859


def test_real_rankings_agree_with_ranx(ml100k_result) -> None:
    ranx = pytest.importorskip("ranx")
    from eval.metrics import Relevance, evaluate_ranking

    result, _ = ml100k_result
    ranked = result.systems["ease"].ranked[:, :20]
    rng = np.random.default_rng(0)
    rel = [rng.choice(1682, size=3, replace=False).tolist() + [int(r[0])] for r in ranked]
    qrels = ranx.Qrels({f"u{u:04d}": {f"i{i}": 1 for i in r} for u, r in enumerate(rel)})
    run = ranx.Run(
        {
            f"u{u:04d}": {f"i{i}": float(20 - p) for p, i in enumerate(row)}
            for u, row in enumerate(ranked)
        }
    )
    names = ["ndcg@10", "recall@20", "map@10", "mrr@10"]
    theirs = ranx.evaluate(qrels, run, names, make_comparable=True)
    ours = evaluate_ranking(ranked, Relevance.from_lists(rel), names)
    for name in names:
        assert ours[name].mean() == pytest.approx(theirs[name], rel=1e-9)


def test_command_reruns_give_the_same_numbers(ml100k_path) -> None:
    import typer
    from typer.testing import CliRunner

    from assistant.commands.eval import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    args = [
        "eval",
        "--data",
        f"movielens:{ml100k_path}",
        "--protocol",
        "loo",
        "--systems",
        "random,pop,ease",
        "--json",
        "--no-progress",
    ]
    first, second = CliRunner().invoke(app, args), CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert json.loads(first.stdout)["users"] == 943
