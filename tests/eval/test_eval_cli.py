"""``encore eval`` through typer's CliRunner, on a throwaway app (the lead wires
``register`` into ``assistant.cli``)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from assistant.commands.eval import _parse_params, register

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so that `eval` is a sub-command as in `encore`
        pass

    return app


def run(app, *args: str):
    return runner.invoke(app, ["eval", *args, "--no-progress"])


def test_json_output_shape_and_reproducibility(app, data_dir, tmp_path) -> None:
    args = [
        "--data",
        str(data_dir),
        "--protocol",
        "loo",
        "--systems",
        "random,pop,itemknn,ease",
        "--metrics",
        "ndcg@10,recall@10,mrr@5",
        "--json",
    ]
    first = run(app, *args, "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert list(out) == ["dataset", "protocol", "users", "systems"]
    assert out["protocol"] == "loo" and out["users"] == 30
    assert list(out["systems"]) == ["random", "pop", "itemknn", "ease"]
    assert set(out["systems"]["ease"]) == {"ndcg@10", "recall@10", "mrr@5"}
    second = run(app, *args)
    assert json.loads(second.stdout) == out
    assert (tmp_path / "a" / "metrics.json").is_file() and (tmp_path / "a" / "report.md").is_file()
    assert (tmp_path / "a" / "recall_at_k.png").is_file() and (
        tmp_path / "a" / "bars.png"
    ).is_file()


def test_table_output(app, data_dir) -> None:
    result = run(app, "--data", str(data_dir), "--systems", "pop", "--metrics", "ndcg@10")
    assert result.exit_code == 0, result.output
    assert "pop" in result.stdout and "±" in result.stdout and "pass --out DIR" in result.stdout


def test_train_and_test_files(app, data_dir, tmp_path) -> None:
    import pandas as pd

    frame = pd.read_csv(data_dir / "interactions.csv")
    frame = frame.sort_values(["user_id", "timestamp"])
    last = frame.groupby("user_id").tail(1)
    frame.drop(last.index).to_csv(tmp_path / "train.csv", index=False)
    last.to_csv(tmp_path / "test.csv", index=False)
    result = run(
        app,
        "--data",
        str(data_dir / "catalog.jsonl"),
        "--train",
        str(tmp_path / "train.csv"),
        "--test",
        str(tmp_path / "test.csv"),
        "--systems",
        "pop",
        "--metrics",
        "recall@10",
        "--json",
    )
    assert result.exit_code == 0, result.output
    external = json.loads(result.stdout)
    assert external["protocol"] == "external" and external["users"] == 30
    loo = json.loads(
        run(
            app, "--data", str(data_dir), "--systems", "pop", "--metrics", "recall@10", "--json"
        ).stdout
    )
    assert external["systems"] == loo["systems"]


def test_generated_requests_are_written_and_run(app, data_dir, tmp_path) -> None:
    result = run(
        app,
        "--data",
        str(data_dir),
        "--systems",
        "pop",
        "--metrics",
        "ndcg@10",
        "--generate-requests",
        "10",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "o" / "requests.jsonl").read_text().splitlines()) == 10
    data = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert data["requests"]["cases"] == 10 and "pop" in data["requests"]["systems"]
    again = run(
        app,
        "--data",
        str(data_dir),
        "--systems",
        "pop",
        "--metrics",
        "ndcg@10",
        "--requests",
        str(tmp_path / "o" / "requests.jsonl"),
        "--json",
    )
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--systems", "pop,encore", "--param", "encore.bogus=1"],
         "bad parameter for system 'encore'"),
        (["--systems", "bpr"], "valid names: random, pop"),
        (
            ["--metrics", "ndcg@21"],
            "K larger than the catalog: ndcg@21 but the catalog has 20 items",
        ),
        (["--metrics", "ndcgg@10"], "unknown metric"),
        (["--protocol", "kfold"], "valid names: loo, last, time"),
        (["--tie-break", "coin"], "--tie-break"),
        (["--param", "ease"], "SYSTEM.NAME=VALUE"),
        (["--param", "itemknn.neighbours=5"], "not evaluated"),
        (["--on", "valid"], "no validation part"),
        (["--train", "x.csv"], "both --train FILE and --test FILE"),
        (["--protocol", "time", "--cutoff", "2999-01-01"], "leaves no interaction for testing"),
    ],
)
def test_bad_settings_are_one_line_and_exit_code_2(app, data_dir, extra, message) -> None:
    result = run(app, "--data", str(data_dir), "--systems", "pop", *extra)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_request_file_with_unknown_ids(app, data_dir, tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps({"user_id": "1", "request": "x", "target_item_ids": ["404"]})
        + "\n"
        + json.dumps({"user_id": "1", "request": "x", "target_item_ids": ["3"]})
        + "\n"
    )
    result = run(app, "--data", str(data_dir), "--systems", "pop", "--requests", str(path))
    assert result.exit_code == 2
    assert (
        "line 1, field 'target_item_ids'" in result.stderr and "not in the catalog" in result.stderr
    )
    skipped = run(
        app,
        "--data",
        str(data_dir),
        "--systems",
        "pop",
        "--requests",
        str(path),
        "--skip-bad-rows",
        "--out",
        str(tmp_path / "o"),
    )
    assert skipped.exit_code == 0, skipped.output
    data = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert data["requests"]["counts"] == {"bad request lines skipped": 1}


def test_data_without_timestamps(app, data_dir) -> None:
    import pandas as pd

    frame = pd.read_csv(data_dir / "interactions.csv")
    frame["timestamp"] = ""
    frame.to_csv(data_dir / "interactions.csv", index=False)
    result = run(app, "--data", str(data_dir), "--systems", "pop")
    assert result.exit_code == 2
    assert "needs a timestamp on every interaction" in result.stderr


def test_single_interaction_users_are_reported(app, data_dir, tmp_path) -> None:
    with (data_dir / "interactions.csv").open("a") as fh:
        fh.write("solo,1,1000,play,1.0\n")
    result = run(app, "--data", str(data_dir), "--systems", "pop", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "users with a single interaction (kept in training, not evaluated): 1" in result.stdout
    assert "users with a single interaction" in (tmp_path / "o" / "report.md").read_text()


def test_parse_params() -> None:
    assert _parse_params(
        ["ease.l2=200", "itemknn.neighbours=5", "itemknn.shrink=0.5", "x.mode=fast"]
    ) == {"ease": {"l2": 200}, "itemknn": {"neighbours": 5, "shrink": 0.5}, "x": {"mode": "fast"}}
