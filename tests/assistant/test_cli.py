"""The `encore` command through typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0 and result.stdout.strip()


def test_data_info_json(ml100k_dir) -> None:
    result = runner.invoke(app, ["data", "info", "--data", f"movielens:{ml100k_dir}", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["items"] == 4 and info["interactions"] == 6 and info["users"] == 3
    assert info["has_timestamps"] and not info["synthetic_interactions"]


def test_data_info_on_files_and_skip_bad_rows(tmp_path) -> None:
    (tmp_path / "c.csv").write_text("id,title,media_type\na,Alpha,movie\nb,Beta,cassette\n")
    result = runner.invoke(app, ["data", "info", "--catalog", str(tmp_path / "c.csv")])
    assert result.exit_code == 2
    assert "line 3, field 'media_type'" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["data", "info", "--catalog", str(tmp_path / "c.csv"),
                                 "--skip-bad-rows", "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["items"] == 1 and info["skipped_rows"] == 1
    assert "line 3" in info["skipped_examples"][0]


def test_errors_are_one_line_with_exit_code_2(tmp_path) -> None:
    result = runner.invoke(app, ["data", "info", "--data", f"movielens:{tmp_path / 'missing'}"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_bad_settings_file_is_one_line(tmp_path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[retrieval]\nn_candidatez = 1\n")
    result = runner.invoke(app, ["--config", str(cfg), "data", "info"])
    assert result.exit_code == 2 and "retrieval.n_candidatez" in result.stderr
