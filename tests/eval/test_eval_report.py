"""Reports: metrics.json, report.md and the PNG plots."""

from __future__ import annotations

import json

import pytest

from eval.harness import evaluate
from eval.protocols import leave_one_out
from eval.report import markdown, summary_json, to_json, write_report
from eval.systems import make_system


@pytest.fixture()
def result(make_catalog, random_log):
    catalog = make_catalog(30)
    split = leave_one_out(random_log(40, 30, 6, seed=2))
    return evaluate(
        split,
        catalog,
        {n: make_system(n) for n in ("pop", "ease")},
        ["ndcg@10", "recall@10", "coverage@10", "recall@5[sampled:9]"],
        dataset="toy",
        progress=False,
    )


def test_write_report_writes_every_file(result, tmp_path) -> None:
    files = write_report(result, tmp_path / "out")
    assert sorted(files) == ["bars.png", "metrics.json", "recall_at_k.png", "report.md"]
    for path in files.values():
        assert path.is_file() and path.stat().st_size > 0
    assert (tmp_path / "out" / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert data["users"] == 40 and data["protocol"] == "loo"
    pop = data["systems"]["pop"]
    assert set(pop["metrics"]) == {"ndcg@10", "recall@10", "coverage@10", "recall@5[sampled:9]"}
    assert pop["metrics"]["coverage@10"]["se"] is None and pop["metrics"]["ndcg@10"]["se"] > 0
    assert list(pop["recall_curve"]) == ["1", "5", "10", "20"]
    assert "sampled" in data["ranking"]


def test_summary_json_has_the_documented_shape(result) -> None:
    out = summary_json(result)
    assert list(out) == ["dataset", "protocol", "users", "systems"]
    assert list(out["systems"]) == ["pop", "ease"]
    assert list(out["systems"]["ease"]) == result.metrics
    json.dumps(out, allow_nan=False)


def test_markdown_has_the_table_and_counts(result) -> None:
    result.counts["users with a single interaction (kept in training, not evaluated)"] = 3
    text = markdown(result)
    assert "| system | ndcg@10 | recall@10 | coverage@10 | recall@5[sampled:9] |" in text
    assert "| pop | " in text and " ± " in text
    assert "- users with a single interaction (kept in training, not evaluated): 3" in text
    assert to_json(result)["counts"] == result.counts
