"""`encore data`: inspect and validate data sets."""

from __future__ import annotations

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
