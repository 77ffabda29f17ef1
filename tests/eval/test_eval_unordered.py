"""Evaluation on a log without timestamps: the time protocols refuse it and name the
random one; ``random`` holds out a seeded random item per user; a split made elsewhere
with an untimed training log validates at random; the report counts the unordered
users."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from assistant.commands.eval import register
from eval.protocols import external_split, leave_one_out, make_split, random_holdout
from retrieval.errors import DataError
from retrieval.interactions import Interactions
from retrieval.models import Interaction

FLAG = "training users without timestamps (histories treated as unordered)"


def untimed_log(n_users: int = 30, per_user: int = 8, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    return Interactions.from_records(
        Interaction(user_id=f"u{u}", item_id=str(i + 1))
        for u in range(n_users)
        for i in np.sort(rng.choice(20, size=per_user, replace=False)))


def test_time_protocols_refuse_an_untimed_log_and_name_random() -> None:
    with pytest.raises(DataError, match="--protocol random"):
        leave_one_out(untimed_log())


def test_random_holdout_picks_a_seeded_random_item_per_user() -> None:
    log = untimed_log()
    split = make_split("random", log, valid=True, seed=2)
    assert split.protocol == "random" and split.counts[FLAG] == 30
    assert len(split.test) == len(split.valid) == 30
    assert len(split.train) + 60 == len(log)
    highest = log.df.groupby("user_id", observed=True)["item_id"].agg(
        lambda s: s.astype(int).max())
    test = split.test.df
    by_id = (test["item_id"].astype(int).to_numpy()
             == highest[test["user_id"].astype(str)].to_numpy()).sum()
    assert by_id < 10                                   # not the highest id (about 1 in 8)
    again = random_holdout(log, valid=True, seed=2)
    assert again.test.df.equals(split.test.df)
    other = random_holdout(log, valid=True, seed=3)
    assert not other.test.df.equals(split.test.df)


def test_random_holdout_ignores_timestamps_and_counts_no_flag_when_timed() -> None:
    log = Interactions.from_records(
        Interaction(user_id="u", item_id=str(i), timestamp=i) for i in range(1, 40))
    picks = {random_holdout(log, seed=s).test.df["item_id"].iloc[0] for s in range(6)}
    assert len(picks) > 1 and FLAG not in random_holdout(log).counts


def test_a_split_made_elsewhere_with_an_untimed_train_validates_at_random() -> None:
    log = untimed_log()
    test = Interactions(log.df.iloc[:30].reset_index(drop=True))
    split = external_split(log, test, valid=True, seed=0)
    assert len(split.valid) == 30 and "at random" in split.description
    assert split.counts[FLAG] == 30


@pytest.fixture()
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so that `eval` is a sub-command
        pass

    return app


def test_cli_random_protocol_on_an_untimed_folder_reports_the_flag(app, tmp_path) -> None:
    from tests.eval.conftest import make_catalog

    folder = tmp_path / "untimed"
    folder.mkdir()
    (folder / "catalog.jsonl").write_text(
        "\n".join(json.dumps(it.model_dump(mode="json")) for it in make_catalog(20)) + "\n",
        encoding="utf-8")
    untimed_log().df.drop(columns=["timestamp"]).astype(str).to_csv(
        folder / "interactions.csv", index=False)
    refused = CliRunner().invoke(app, ["eval", "--data", str(folder), "--no-progress"])
    assert refused.exit_code == 2 and "--protocol random" in refused.output
    done = CliRunner().invoke(app, ["eval", "--data", str(folder), "--protocol", "random",
                                    "--systems", "pop,ease", "--out", str(tmp_path / "out"),
                                    "--no-progress"])
    assert done.exit_code == 0, done.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["counts"][FLAG] == 30
    assert FLAG in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
