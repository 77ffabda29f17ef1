"""``encore eval``: offline evaluation of Encore and the baselines on any data set.

Examples::

    encore eval --data movielens:~/data/ml-100k --protocol loo \
        --systems pop,itemknn,ease --out runs/ml100k
    encore eval --data movielens:~/data/ml-100k --systems ease --json
    encore eval --data catalog.jsonl --train train.csv --test test.csv --systems pop,ease
    encore eval --data movielens:~/data/ml-100k --valid --on valid --systems ease \
        --param ease.l2=200
    encore eval --conversations eval/data/conversations.jsonl --bundle .encore/bundle
    encore eval --dialogues dialogues.jsonl --bundle /tmp/redial-bundle --novel
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _split_csv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["ease.l2=200", "itemknn.neighbours=50"]`` -> ``{"ease": {"l2": 200}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        system, dot, name = key.strip().partition(".")
        if not sep or not dot or not system or not name:
            raise ValueError(
                f"cannot read --param {item!r}; write SYSTEM.NAME=VALUE, e.g. ease.l2=200"
            )
        value: Any = raw.strip()
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if value in ("true", "false"):
            value = value == "true"
        out.setdefault(system.strip().lower(), {})[name.strip()] = value
    return out


# The command's options, one alias each, so that its signature reads as a list.
_Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="Data set: movielens:PATH, demo, or a path (with --train/--test, "
        "the catalog to rank over).",
    ),
]
_Protocol = Annotated[
    str | None,
    typer.Option(
        "--protocol",
        help="Split: loo (leave-one-out by time), last (last --test-fraction "
        "of each user), time (global --cutoff), random (leave-one-out at random, "
        "for logs without timestamps). Default: loo.",
    ),
]
_Systems = Annotated[
    str,
    typer.Option(
        "--systems",
        help="Comma-separated: random, pop, itemknn, ease, encore-retrieval, encore.",
    ),
]
_Metrics = Annotated[
    str | None,
    typer.Option("--metrics", help="Comma-separated metric names, e.g. ndcg@10,recall@20."),
]
_Train = Annotated[
    Path | None,
    typer.Option(
        "--train", help="Training interactions of a split made elsewhere (CSV/Parquet)."
    ),
]
_Test = Annotated[
    Path | None,
    typer.Option(
        "--test", help="Test interactions of a split made elsewhere (CSV/Parquet)."
    ),
]
_Valid = Annotated[
    bool,
    typer.Option(
        "--valid", help="Hold out a validation part (for tuning) before the test part."
    ),
]
_On = Annotated[
    str,
    typer.Option(
        "--on", help="Evaluate on 'test' (fit on train + valid) or 'valid' (fit on train)."
    ),
]
_TestFraction = Annotated[
    float,
    typer.Option(
        "--test-fraction",
        help="Share of each user's latest interactions held out by 'last'.",
    ),
]
_Cutoff = Annotated[
    str | None,
    typer.Option(
        "--cutoff", help="'time' cut-off: ISO date, Unix seconds, or quantile (0.8)."
    ),
]
_TieBreak = Annotated[
    str,
    typer.Option(
        "--tie-break", help="Order of same-second interactions: item, random, order."
    ),
]
_MinRating = Annotated[
    float | None,
    typer.Option(
        "--min-rating", help="Ratings below this are not positives (default: all are)."
    ),
]
_SampledNegatives = Annotated[
    int | None,
    typer.Option(
        "--sampled-negatives",
        help="Also report accuracy metrics against N sampled "
        "negatives, labelled [sampled:N].",
    ),
]
_Requests = Annotated[
    Path | None,
    typer.Option(
        "--requests",
        help="Request-set JSONL (user_id, request, target_item_ids, "
        "[history_item_ids], [cutoff_ts]) to run through whole turns.",
    ),
]
_GenerateRequests = Annotated[
    int | None,
    typer.Option(
        "--generate-requests",
        help="Write N requests from held-out items' genres and tags "
        "(into --out), and run them.",
    ),
]
_Param = Annotated[
    list[str] | None,
    typer.Option(
        "--param", help="Hyper-parameter, SYSTEM.NAME=VALUE (repeatable), e.g. ease.l2=200."
    ),
]
_Seed = Annotated[int, typer.Option("--seed", help="Seed of every random choice.")]
_BatchSize = Annotated[int, typer.Option("--batch-size", help="Users ranked at once.")]
_SkipBadRows = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows", help="Skip and count bad input rows instead of failing."
    ),
]
_Out = Annotated[
    Path | None,
    typer.Option("--out", help="Folder for metrics.json, report.md and the PNG plots."),
]
_AsJson = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON object on stdout instead of the table."),
]
_Dialogues = Annotated[
    Path | None,
    typer.Option(
        "--dialogues",
        help="Replay dialogues in ReDial's format (JSONL) against --bundle: recall@1/10/50 "
        "of the movies each recommender turn names (systems: encore, popularity, minilm).",
    ),
]
_Bundle = Annotated[
    Path | None,
    typer.Option("--bundle", help="The bundle --conversations or --dialogues runs on."),
]
_Novel = Annotated[
    bool,
    typer.Option("--novel", help="Also show the novel variant (movies not named before)."),
]
_Half = Annotated[
    str,
    typer.Option(
        "--half",
        help="Dialogues replayed: all, first or second half by conversationId "
        "(tune on one, report the other).",
    ),
]
_Progress = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Progress bars on stderr.")
]
_Conversations = Annotated[
    Path | None,
    typer.Option(
        "--conversations",
        help="Conversation suite (JSONL, eval/conversations/README.md) to run through "
        "Assistant.chat on --bundle; prints pass rates per check.",
    ),
]
_Verbose = Annotated[
    bool, typer.Option("--verbose", help="With --conversations: list the failing turns "
                       "(--json always lists them).")
]


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app``."""
    app.command("eval")(eval_command)


def eval_command(
    data: _Data = None,
    protocol: _Protocol = None,
    systems: _Systems = "pop,itemknn,ease",
    metrics: _Metrics = None,
    train: _Train = None,
    test: _Test = None,
    valid: _Valid = False,
    on: _On = "test",
    test_fraction: _TestFraction = 0.2,
    cutoff: _Cutoff = None,
    tie_break: _TieBreak = "item",
    min_rating: _MinRating = None,
    sampled_negatives: _SampledNegatives = None,
    requests: _Requests = None,
    generate_requests: _GenerateRequests = None,
    param: _Param = None,
    seed: _Seed = 0,
    batch_size: _BatchSize = 512,
    skip_bad_rows: _SkipBadRows = False,
    out: _Out = None,
    as_json: _AsJson = False,
    progress: _Progress = True,
    conversations: _Conversations = None,
    dialogues: _Dialogues = None,
    bundle: _Bundle = None,
    verbose: _Verbose = False,
    novel: _Novel = False,
    half: _Half = "all",
) -> None:
    """Evaluate recommenders offline: full ranking, means with standard errors."""
    import json
    import time

    if conversations is not None:
        _conversations(conversations, bundle, out, as_json, verbose, progress)
        return
    if dialogues is not None:
        _dialogue_command(dialogues, bundle, systems, half, novel, out, as_json, progress)
        return
    try:
        from eval.report import summary_json, write_report
        from eval.run import run_eval

        if (train or test) and protocol is not None:
            raise ValueError("give either --protocol or --train FILE --test FILE, not both")
        if generate_requests and requests is not None:
            raise ValueError("give either --requests FILE or --generate-requests N, not both")
        options: dict[str, Any] = {
            "data": data, "protocol": protocol or "loo", "systems": _split_csv(systems) or [],
            "train": train, "test": test, "valid": valid, "on": on,
            "test_fraction": test_fraction, "cutoff": cutoff, "tie_break": tie_break,
            "min_rating": min_rating, "sampled_negatives": sampled_negatives,
            "requests": requests, "generate_requests": generate_requests,
            "params": _parse_params(param), "seed": seed, "batch_size": batch_size,
            "skip_bad_rows": skip_bad_rows, "progress": progress,
        }
        if metrics is not None:
            options["metrics"] = _split_csv(metrics) or []
        config = _eval_config(options)
        started = time.perf_counter()
        result = run_eval(config)
        wall = time.perf_counter() - started
        files = write_report(result, out) if out is not None else {}
    except (ValueError, OSError) as exc:  # DataError is a ValueError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    if as_json:
        typer.echo(json.dumps(summary_json(result), allow_nan=False))
        return
    _print_table(result, wall, files)


def _conversations(suite: Path, bundle: Path | None, out: Path | None, as_json: bool,
                   verbose: bool, progress: bool) -> None:
    """``--conversations``: run the suite on the bundle and print its pass rates."""
    import json

    from assistant.errors import EncoreError
    from eval.conversations import format_report, load_suite, run_suite, write_report

    try:
        if bundle is None:
            raise ValueError("--conversations needs --bundle DIR (a built bundle, e.g. "
                             ".encore/bundle after `encore demo`)")
        report = run_suite(bundle, load_suite(suite), suite_name=suite.name,
                           progress=_tick if progress else None)
        files = write_report(report, out) if out is not None else {}
    except (ValueError, OSError, EncoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.summary(), allow_nan=False))
        return
    typer.echo(format_report(report, verbose=verbose))
    if files:
        typer.echo(f"wrote {', '.join(str(p) for p in files.values())}")


def _tick(done: int, total: int) -> None:
    typer.echo(f"\r{done}/{total} conversations", err=True, nl=done == total)


def _eval_config(options: dict[str, Any]) -> Any:
    """The ``EvalConfig`` of these options; a bad value is a ``ValueError`` naming its flag."""
    from pydantic import ValidationError

    from eval.run import EvalConfig

    if options.get("data") is None:
        raise ValueError("give --data (or --conversations FILE / --dialogues FILE with "
                         "--bundle DIR)")
    try:
        return EvalConfig(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        raise ValueError(
            f"--{where.replace('_', '-')}: "
            f"{err.get('msg', 'invalid value').removeprefix('Value error, ')}"
        ) from None


def _print_table(result: Any, wall: float, files: dict[str, Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    from eval.report import format_cell

    console = Console()
    table = Table(
        title=f"{result.dataset} — {result.description}; {result.on} split, "
        f"{result.users} users, {result.n_items} items (mean ± standard error)"
    )
    # Metrics as rows and systems as columns: a few systems fit an 80-column terminal,
    # while a dozen metric columns would be cut to "ndc…".
    table.add_column("metric", style="bold", no_wrap=True)
    for name in result.systems:
        table.add_column(name, justify="right", no_wrap=True)
    for m in result.metrics:
        table.add_row(m, *[format_cell(sr.metrics.get(m)) for sr in result.systems.values()])
    table.add_row(
        "fit + rank (s)",
        *[f"{sr.fit_seconds:.1f} + {sr.score_seconds:.1f}" for sr in result.systems.values()],
    )
    console.print(table)
    if result.requests is not None:
        suite = result.requests
        names = list(next(iter(suite.results.values())).metrics) if suite.results else []
        rt = Table(
            title=f"Requests: {suite.source} ({suite.cases} cases; baselines ignore the text)"
        )
        rt.add_column("system", style="bold")
        for m in names:
            rt.add_column(m, justify="right")
        for name, r in suite.results.items():
            rt.add_row(name, *[format_cell(r.metrics[m]) for m in names])
        console.print(rt)
        for name, r in suite.results.items():
            for key, val in r.counts.items():
                console.print(f"  {name}: {key}: {val}", soft_wrap=True)
    counts = dict(result.counts)
    for name, sr in result.systems.items():
        counts.update({f"{name}: {k}": v for k, v in sr.counts.items()})
    if result.requests is not None:
        counts.update(result.requests.counts)
    for key, val in counts.items():
        console.print(f"skipped/dropped — {key}: {val}", soft_wrap=True)
    console.print(
        f"wall time {wall:.1f} s"
        + (
            f"; wrote {', '.join(str(p) for p in files.values())}"
            if files
            else "; pass --out DIR to write the report"
        ),
        soft_wrap=True,
    )


def _dialogue_command(dialogues: Path, bundle: Path | None, systems: str, half: str,
                      novel: bool, out: Path | None, as_json: bool, progress: bool) -> None:
    """``--dialogues``: replay ReDial-format dialogues on a bundle (``eval.dialogues``)."""
    import json

    from eval.dialogues.systems import DIALOGUE_SYSTEMS

    try:
        from eval.dialogues.run import DialogueEvalConfig, run_dialogues, write_dialogue_report

        if bundle is None:
            raise ValueError("--dialogues needs --bundle DIR (build one with `encore build`)")
        names = _split_csv(systems) or []
        if names == ["pop", "itemknn", "ease"]:  # the history-only default: not for dialogues
            names = list(DIALOGUE_SYSTEMS)
        if half not in ("all", "first", "second"):
            raise ValueError(f"--half must be all, first or second, got {half!r}")
        config = DialogueEvalConfig(dialogues=dialogues, bundle=bundle, systems=names,
                                    half=half)
        say = (lambda msg: typer.echo(f"- {msg}", err=True)) if progress and not as_json \
            else None
        result = run_dialogues(config, on_step=say)
        written = write_dialogue_report(result, out) if out is not None else None
    except (ValueError, OSError) as exc:  # DataError is a ValueError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), allow_nan=False))
        return
    _print_dialogues(result, novel, written)


def _print_dialogues(result: Any, novel: bool, written: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    c = result.counts
    table = Table(title=f"Dialogues {result.dialogues} ({result.half}): {c['test points']:.0f} "
                        f"recommender turns, {c['pairs']:.0f} (turn, movie) pairs, "
                        f"{c['share of pairs mapped']:.1%} mapped to the catalog")
    table.add_column("metric", style="bold", no_wrap=True)
    for name in result.metrics:
        table.add_column(name, justify="right", no_wrap=True)
    rows = [m for m in next(iter(result.metrics.values())) if novel or not m.startswith("novel")]
    for m in rows:
        table.add_row(m, *[f"{r[m]:.3f}" for r in result.metrics.values()])
    table.add_row("seconds", *[f"{result.seconds[n]:.1f}" for n in result.metrics])
    console.print(table)
    console.print(", ".join(f"{k}: {v:g}" for k, v in c.items()), soft_wrap=True)
    if written is not None:
        console.print(f"wrote {written}", soft_wrap=True)
