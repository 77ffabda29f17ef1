"""`encore data`: inspect and validate data sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataOpt = Annotated[str | None, typer.Option(
    "--data", "-d", help="Data set: demo, movielens:PATH, or a catalog file / data folder.")]
SkipOpt = Annotated[bool, typer.Option(
    "--skip-bad-rows", help="Load the good rows and report the bad ones.")]
EncodingOpt = Annotated[str | None, typer.Option(
    "--encoding", help="Text encoding of the input files.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(no_args_is_help=True, help="Inspect and validate data sets.")
    app.add_typer(data_app, name="data")

    @data_app.command("info")
    def info(
        data: DataOpt = None,
        catalog: Annotated[str | None, typer.Option(
            "--catalog", help="A catalog file (.jsonl, .csv, .parquet).")] = None,
        interactions: Annotated[str | None, typer.Option(
            "--interactions", help="An interaction file (.csv, .parquet).")] = None,
        skip_bad_rows: SkipOpt = False,
        encoding: EncodingOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Load a data set, validate every row, and summarise it."""
        from assistant.cli import emit_json, settings
        from retrieval.dataset import load_dataset
        from retrieval.loaders import load_files

        s = settings()
        skip = skip_bad_rows or s.data.skip_bad_rows
        enc = encoding or s.data.encoding
        if catalog:
            ds = load_files(catalog, interactions, skip_bad_rows=skip, encoding=enc)
        elif interactions:
            raise ValueError("--interactions needs --catalog (interactions are checked against it)")
        else:
            ds = load_dataset(data or s.data.dataset, skip_bad_rows=skip, encoding=enc,
                              seed=s.data.seed)
        log = ds.interactions
        media_types = dict(ds.catalog.media_type_counts())
        top_genres = dict(ds.catalog.genre_counts().most_common(10))
        events = {k: int(v) for k, v in log.df["event"].value_counts().items() if v}
        summary = {
            "name": ds.name,
            "source": ds.source,
            "synthetic_interactions": ds.synthetic,
            "items": len(ds.catalog),
            "media_types": media_types,
            "top_genres": top_genres,
            "interactions": len(log),
            "users": log.n_users,
            "events": events,
            "has_timestamps": log.has_timestamps,
            "skipped_rows": ds.report.skipped,
            "skipped_examples": [str(b) for b in ds.report.examples],
        }
        if as_json:
            emit_json(summary)
            return
        typer.echo(ds.describe())
        typer.echo("media types: " + ", ".join(f"{k} {v}" for k, v in media_types.items()))
        typer.echo("top genres:  " + ", ".join(f"{k} {v}" for k, v in top_genres.items()))
        if len(log):
            typer.echo("events:      " + ", ".join(f"{k} {v}" for k, v in events.items()))
            typer.echo(f"timestamps:  {'yes' if log.has_timestamps else 'missing on some rows'}")
        if ds.report.skipped:
            typer.echo(ds.report.summary())

    _register_generate(data_app)


def _register_generate(data_app: typer.Typer) -> None:
    @data_app.command("generate")
    def generate(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the data set into.")],
        items: Annotated[int, typer.Option("--items", min=1, help="Catalog items.")] = 1_000_000,
        events: Annotated[int, typer.Option("--events", min=0,
                                            help="Interaction events.")] = 20_000_000,
        users: Annotated[int, typer.Option("--users", min=0,
                                           help="Users (0: one per 100 events).")] = 0,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        clusters: Annotated[int, typer.Option("--clusters", min=0, help=(
            "Planted taste clusters (0: about one per 2,000 items)."))] = 0,
        as_json: JsonOpt = False,
    ) -> None:
        """Write a SYNTHETIC catalog (all media types) and interaction log with power-law
        popularity and planted taste clusters (catalog.parquet, interactions.parquet, and
        the planted truth in truth.npz / truth.json); `encore build --data DIR` reads it."""
        from assistant.cli import emit_json
        from retrieval.synthetic_large import LargeSpec, generate_large

        spec = LargeSpec(items=items, events=events, users=users, seed=seed, clusters=clusters)
        say = (lambda *a: None) if as_json else _progress_line
        report = generate_large(spec, out, on_progress=say)
        summary = {"out": str(out), "items": report.items, "events": report.events,
                   "users": report.users, "clusters": report.clusters,
                   "seconds": round(report.seconds, 1), "files": list(report.files),
                   "synthetic": True}
        if as_json:
            emit_json(summary)
        else:
            typer.echo(f"{out}: {report.items:,} items, {report.events:,} events, "
                       f"{report.users:,} users, {report.clusters} clusters "
                       f"(SYNTHETIC) in {report.seconds:.1f} s")


def _progress_line(what: str, done: int, total: int) -> None:
    typer.echo(f"- {what} {done:,}/{total:,}", err=True)
