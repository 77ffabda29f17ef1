"""Reports of an evaluation: ``metrics.json`` (everything, machine-readable),
``report.md`` (tables for people), and PNG plots (Recall@K over K; a bar per system).

Example:
    >>> from eval.harness import EvalResult, MetricSummary, SystemResult
    >>> pop = SystemResult("pop", {"ndcg@10": MetricSummary(0.5, 0.1, 2)})
    >>> res = EvalResult(dataset="toy", protocol="loo", description="leave-one-out", on="test",
    ...                  users=2, n_items=3, metrics=["ndcg@10"], curve_ks=[], systems={"pop": pop})
    >>> summary_json(res)
    {'dataset': 'toy', 'protocol': 'loo', 'users': 2, 'systems': {'pop': {'ndcg@10': 0.5}}}
    >>> format_cell(MetricSummary(0.04061, 0.00512, 943))
    '0.0406 ± 0.0051'
"""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any

from eval.harness import EvalResult, MetricSummary

__all__ = ["format_cell", "markdown", "plot", "summary_json", "to_json", "write_report"]

PLOT_FILES = ("recall_at_k.png", "bars.png")


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(x)


def format_cell(m: MetricSummary | None, digits: int = 4) -> str:
    """``mean ± se`` (just the mean for run-level numbers such as coverage)."""
    if m is None or m.n == 0 or math.isnan(m.mean):
        return "n/a"
    if m.se is None:
        return f"{m.mean:.{digits}f}"
    return f"{m.mean:.{digits}f} ± {m.se:.{digits}f}"


def summary_json(result: EvalResult) -> dict[str, Any]:
    """The one-object summary printed by ``encore eval --json``: the mean of every
    requested metric per system (standard errors and the rest are in ``metrics.json``)."""
    return {
        "dataset": result.dataset,
        "protocol": result.protocol,
        "users": result.users,
        "systems": {
            name: {m: _num(sr.metrics[m].mean) for m in result.metrics}
            for name, sr in result.systems.items()
        },
    }


def _versions() -> dict[str, str]:
    import numpy
    import scipy

    out = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }
    from importlib.metadata import PackageNotFoundError, version

    try:
        out["encore"] = version("encore-rec")
    except PackageNotFoundError:  # run from a source tree that was never installed
        pass
    return out


def to_json(result: EvalResult) -> dict[str, Any]:
    """Everything in ``metrics.json``: settings, counts, per-system means, standard errors,
    user counts, the Recall@K curve, timings, and the conversational suite if run."""
    systems = {}
    for name, sr in result.systems.items():
        systems[name] = {
            "metrics": {
                m: {"mean": _num(s.mean), "se": _num(s.se), "n": s.n}
                for m, s in sr.metrics.items()
                if m in result.metrics
            },
            "recall_curve": {
                str(k): _num(sr.metrics[f"recall@{k}"].mean)
                for k in result.curve_ks
                if f"recall@{k}" in sr.metrics
            },
            "fit_seconds": round(sr.fit_seconds, 3),
            "score_seconds": round(sr.score_seconds, 3),
            "counts": dict(sr.counts),
        }
    out: dict[str, Any] = {
        "dataset": result.dataset,
        "protocol": result.protocol,
        "description": result.description,
        "evaluated_on": result.on,
        "users": result.users,
        "items": result.n_items,
        "metrics": list(result.metrics),
        "ranking": "full catalog, each user's known items excluded"
        + (
            "; metrics marked [sampled:N] rank the held-out items against N sampled "
            "unseen items instead"
            if any("[sampled:" in m for m in result.metrics)
            else ""
        ),
        "settings": dict(result.settings),
        "counts": dict(result.counts),
        "systems": systems,
        "versions": _versions(),
    }
    if result.requests is not None:
        suite = result.requests
        out["requests"] = {
            "source": suite.source,
            "cases": suite.cases,
            "counts": dict(suite.counts),
            "systems": {
                name: {
                    "metrics": {
                        m: {"mean": _num(s.mean), "se": _num(s.se), "n": s.n}
                        for m, s in r.metrics.items()
                    },
                    "cases": r.cases,
                    "counts": dict(r.counts),
                    "first_error": r.first_error,
                    "seconds": round(r.seconds, 3),
                }
                for name, r in suite.results.items()
            },
        }
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(result: EvalResult, plots: list[str] | None = None) -> str:
    """``report.md``: what was run, the table of means ± standard errors, what was skipped."""
    lines = [f"# Evaluation: {result.dataset or 'data set'}", ""]
    lines += [
        f"- Protocol: {result.protocol} — {result.description}",
        f"- Evaluated on: the {result.on} split; {result.users} users, {result.n_items} items",
        "- Ranking: full catalog, each user's known items excluded"
        + (
            "; `[sampled:N]` metrics rank held-out items against N sampled unseen items"
            if any("[sampled:" in m for m in result.metrics)
            else ""
        ),
        "- Cells: mean ± standard error over users (coverage is one number for the run)",
    ]
    for key, val in result.settings.items():
        lines.append(f"- {key.replace('_', ' ').capitalize()}: {val}")
    lines += ["", "## Results", ""]
    rows = [
        [name] + [format_cell(sr.metrics.get(m)) for m in result.metrics]
        for name, sr in result.systems.items()
    ]
    lines.append(_md_table(["system"] + list(result.metrics), rows))
    if result.curve_ks:
        lines += ["", "## Recall@K", ""]
        rows = [
            [name] + [format_cell(sr.metrics.get(f"recall@{k}")) for k in result.curve_ks]
            for name, sr in result.systems.items()
        ]
        lines.append(_md_table(["system"] + [f"K={k}" for k in result.curve_ks], rows))
    lines += ["", "## Time", ""]
    lines.append(
        _md_table(
            ["system", "fit (s)", "rank all users (s)"],
            [
                [n, f"{sr.fit_seconds:.2f}", f"{sr.score_seconds:.2f}"]
                for n, sr in result.systems.items()
            ],
        )
    )
    if result.requests is not None:
        suite = result.requests
        lines += [
            "",
            "## Conversational requests",
            "",
            f"Source: {suite.source}; {suite.cases} cases. Systems without a request stage "
            "(the baselines) rank from the history alone.",
            "",
        ]
        names = list(next(iter(suite.results.values())).metrics) if suite.results else []
        lines.append(
            _md_table(
                ["system", "cases"] + names,
                [
                    [n, str(r.cases)] + [format_cell(r.metrics[m]) for m in names]
                    for n, r in suite.results.items()
                ],
            )
        )
        for n, r in suite.results.items():
            for key, val in r.counts.items():
                lines.append(f"- {n}: {key}: {val}")
            if r.first_error:
                lines.append(f"- {n}: first error: `{r.first_error}`")
        for key, val in suite.counts.items():
            lines.append(f"- {key}: {val}")
    counts = dict(result.counts)
    for name, sr in result.systems.items():
        counts.update({f"{name}: {k}": v for k, v in sr.counts.items()})
    lines += ["", "## Skipped and dropped", ""]
    lines += [f"- {k}: {v}" for k, v in counts.items()] or ["- nothing"]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def plot(result: EvalResult, out_dir: str | Path) -> list[Path]:
    """Write ``recall_at_k.png`` (Recall@K over K, one line per system) and ``bars.png``
    (a bar per system for each requested accuracy metric, with standard-error whiskers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if result.curve_ks:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for name, sr in result.systems.items():
            ys = [sr.metrics[f"recall@{k}"].mean for k in result.curve_ks]
            ax.plot(result.curve_ks, ys, marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xticks(result.curve_ks, [str(k) for k in result.curve_ks])
        ax.set_xlabel("K")
        ax.set_ylabel("Recall@K")
        ax.set_title(f"Recall@K — {result.dataset}, {result.protocol} ({result.users} users)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out_dir / "recall_at_k.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    shown = [m for m in result.metrics if not m.startswith(("coverage", "novelty", "diversity"))][
        :6
    ]
    if shown and result.systems:
        cols = min(3, len(shown))
        rows = (len(shown) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
        names = list(result.systems)
        for ax, metric in zip(axes.ravel(), shown, strict=False):
            means = [result.systems[n].metrics[metric].mean for n in names]
            errs = [result.systems[n].metrics[metric].se or 0.0 for n in names]
            ax.bar(names, means, yerr=errs, capsize=4, color=[f"C{i}" for i in range(len(names))])
            ax.set_title(metric)
            ax.tick_params(axis="x", rotation=30)
            ax.grid(axis="y", alpha=0.3)
        for ax in axes.ravel()[len(shown) :]:
            ax.axis("off")
        fig.suptitle(f"{result.dataset}, {result.protocol}: mean ± standard error")
        fig.tight_layout()
        path = out_dir / "bars.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def write_report(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md`` and the plots into ``out_dir`` (and
    ``requests.jsonl`` when the request set was generated)."""
    from retrieval.io import atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = plot(result, out_dir)
    files = {"metrics.json": out_dir / "metrics.json", "report.md": out_dir / "report.md"}
    atomic_write_text(
        files["metrics.json"], json.dumps(to_json(result), indent=2, allow_nan=False) + "\n"
    )
    atomic_write_text(files["report.md"], markdown(result, [p.name for p in plots]))
    files.update({p.name: p for p in plots})
    if result.requests is not None and result.requests.generated:
        from eval.conversational import save_requests

        files["requests.jsonl"] = save_requests(
            result.requests.generated, out_dir / "requests.jsonl"
        )
    return files
