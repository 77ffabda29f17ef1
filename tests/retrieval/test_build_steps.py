"""Each build step's time, peak memory and time left: the clock, `encore build`'s progress
lines and `--json` events, and the manifest's `build_steps`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.build_steps import BuildClock, ProgressEvent, format_left
from retrieval.bundle_store import resolve


def _fake_clock(times):
    it = iter(times)
    return lambda: next(it)


def test_the_clock_times_steps_and_estimates_the_time_left() -> None:
    events: list[ProgressEvent] = []
    clock = BuildClock(events.append, interval=10.0,
                       clock=_fake_clock([0, 1, 1, 2, 5, 61, 121, 122]))
    with clock.step("encode"):
        clock.progress("encode", 0, 120_000)        # t=1: the first report goes out
        clock.progress("encode", 10, 120_000)       # t=2: within the interval, held back
        clock.progress("encode", 20, 120_000)       # t=5: still held back
        clock.progress("encode", 60_000, 120_000)   # t=61: 1,000 items/s, 60 s left
        clock.progress("encode", 120_000, 120_000)  # t=121: the last always goes out
    kinds = [(e.kind, e.done) for e in events]
    assert kinds == [("start", 0), ("progress", 0), ("progress", 60_000),
                     ("progress", 120_000), ("end", 120_000)]
    mid = events[2]
    assert mid.per_s == pytest.approx(1000.0) and mid.left_s == pytest.approx(60.0)
    assert mid.text() == "encode 60,000/120,000 items, 60 s left"
    assert events[3].left_s is None and events[3].text() == "encode 120,000/120,000 items"
    end = events[-1]
    assert end.seconds == pytest.approx(121.0) and end.peak_rss_mb and end.peak_rss_mb > 0
    assert end.text().startswith("encode done in 121.0 s, peak ")
    (rec,) = clock.records()
    assert rec["step"] == "encode" and rec["seconds"] == pytest.approx(121.0)
    assert rec["peak_rss_mb"] > 0 and rec["rss_mb"] > 0 and rec["done"] == 120_000
    assert rec["unit"] == "items"


def test_json_events_and_time_left_words() -> None:
    ev = ProgressEvent("progress", "encode", 5, 10, "items", elapsed_s=3.0, left_s=200.0,
                       per_s=0.025, rss_mb=100.0)
    body = ev.as_json()
    assert body["event"] == "progress" and body["step"] == "encode" and body["left_s"] == 200.0
    assert json.loads(json.dumps(body)) == body
    assert ProgressEvent("start", "index").as_json()["event"] == "step_start"
    assert [format_left(s) for s in (None, 40, 200, 7200)] == ["", "40 s left", "3 min left",
                                                               "2.0 h left"]


def test_a_forwarded_callback_still_gets_every_report() -> None:
    got = []
    clock = BuildClock(interval=1e9)
    report = clock.forward(lambda *a: got.append(a))
    report("finetune", 1, 3)
    report("finetune", 2, 3)
    assert got == [("finetune", 1, 3), ("finetune", 2, 3)] and clock.listening


@pytest.fixture()
def tiny_data(tmp_path: Path) -> Path:
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["data", "generate", "--items", "120", "--events", "900",
                                      "--users", "40", "--seed", "3", "--out",
                                      str(tmp_path / "data"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["items"] == 120 and summary["events"] == 900 and summary["synthetic"]
    return tmp_path / "data"


def test_build_json_progress_events_end_with_the_result(tiny_data, tmp_path,
                                                        tiny_model_path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["build", "--data", str(tiny_data), "--out",
                                      str(tmp_path / "b"), "--no-finetune", "--no-ranker",
                                      "--json"],
                                env={"ENCORE_RETRIEVAL__ENCODER_MODEL": str(tiny_model_path)})
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    names = [(e["event"], e.get("step")) for e in events]
    for step in ("load", "save data", "encoder", "encode", "index", "ranker", "manifest"):
        assert ("step_start", step) in names and ("step_end", step) in names
    assert names[-1] == ("step_end", "manifest")
    encode = [e for e in events if e["event"] == "progress" and e["step"] == "encode"]
    assert encode[-1]["done"] == encode[-1]["total"] == 120
    summary = json.loads(result.stdout)  # stdout is still the one final result
    assert summary["dataset"]["items"] == 120 and summary["index"]["count"] == 120
    steps = {s["step"]: s for s in summary["build_steps"]}
    manifest = json.loads((resolve(tmp_path / "b").folder / "manifest.json").read_text())
    assert manifest["build_steps"] == summary["build_steps"]
    assert list(steps) == ["load", "save data", "encoder", "encode", "index", "ranker",
                           "manifest"]
    assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in steps.values())
    assert steps["encode"]["done"] == 120 and steps["encode"]["unit"] == "items"


def test_build_shows_progress_lines_in_the_terminal(tiny_data, tmp_path,
                                                    tiny_model_path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    result = CliRunner().invoke(app, ["build", "--data", str(tiny_data), "--out",
                                      str(tmp_path / "b"), "--no-finetune", "--no-ranker"],
                                env={"ENCORE_RETRIEVAL__ENCODER_MODEL": str(tiny_model_path)})
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "- encode 120/120 items" in lines
    assert any(line.startswith("- encode done in ") and "MiB" in line for line in lines)
    assert result.stdout.strip().endswith("b")


def test_the_api_build_records_its_steps_without_a_listener(tiny_data, tmp_path,
                                                            tiny_model_path) -> None:
    from retrieval.bundle import build_bundle, read_manifest
    from retrieval.dataset import load_dataset
    from retrieval.encoder import load_encoder

    ds = load_dataset(str(tiny_data))
    out = build_bundle(ds, tmp_path / "b", encoder=load_encoder(str(tiny_model_path)),
                       train_ranker=False, progress=False)
    steps = [s["step"] for s in read_manifest(out)["build_steps"]]
    assert steps == ["save data", "encoder", "encode", "index", "ranker", "manifest"]
