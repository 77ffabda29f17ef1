"""`encore build`: catalog + interactions -> a bundle the assistant loads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from retrieval.build_steps import ProgressEvent
    from retrieval.distributed import BuildEngine

EngineOption = Annotated[str, typer.Option(
    "--engine", help="local: one process (default). ray: encoding, index shards and ranker "
                     "lists on a Ray cluster. sharded: the same shards in this process. Both "
                     "sharded engines resume an interrupted build from its finished shards.")]
AddressOption = Annotated[str | None, typer.Option(
    "--address", help="Ray cluster address (host:port of its head; default: start Ray on "
                      "this machine, on 127.0.0.1).")]
MaxSeqOption = Annotated[int, typer.Option(
    "--max-seq-length", min=8, max=512,
    help="The encoder's token limit for items and requests (shorter: faster encoding of "
         "long texts; the bundle records it and serves with it).")]
ObjectStoreOption = Annotated[int, typer.Option(
    "--object-store-mb", min=80, help="Object store of a Ray instance started for the build "
                                      "(MB).")]


def register(app: typer.Typer) -> None:
    @app.command()
    def build(
        data: Annotated[
            str | None,
            typer.Option("--data", "-d",
                         help="Data set: demo, movielens:PATH, or a catalog file / data folder."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out",
                         help="Bundle folder (default: the bundle_dir setting)."),
        ] = None,
        finetune: Annotated[
            bool,
            typer.Option("--finetune/--no-finetune",
                         help="Fine-tune the encoder on the interactions."),
        ] = True,
        epochs: Annotated[
            int,
            typer.Option("--epochs", min=1, max=50,
                         help="Fine-tuning epochs."),
        ] = 1,
        max_pairs: Annotated[
            int | None,
            typer.Option("--max-pairs", min=64,
                         help="Cap on mined training pairs."),
        ] = None,
        ranker: Annotated[
            bool,
            typer.Option("--ranker/--no-ranker",
                         help="Train the learned ranker (without it the bundle serves with "
                              "the untrained blend, and says so in its manifest)."),
        ] = True,
        skip_bad_rows: Annotated[
            bool,
            typer.Option("--skip-bad-rows",
                         help="Load the good rows and report the bad ones."),
        ] = False,
        progress: Annotated[
            bool,
            typer.Option("--progress/--no-progress",
                         help="Show each step's progress, time left, time and peak memory."),
        ] = True,
        as_json: Annotated[
            bool,
            typer.Option("--json",
                         help="Print the manifest summary as JSON on stdout, and progress "
                              "events as JSON lines on stderr."),
        ] = False,
        engine: EngineOption = "local",
        address: AddressOption = None,
        object_store_mb: ObjectStoreOption = 512,
        max_seq_length: MaxSeqOption = 128,
    ) -> None:
        """Build a bundle: fine-tune the encoder, encode the catalog, build the FAISS index
        (a new generation behind the folder's CURRENT pointer; a killed build changes nothing)."""
        runner = _engine(engine, address, object_store_mb)
        _run_build(data, out, finetune=finetune, epochs=epochs, max_pairs=max_pairs,
                   ranker=ranker, skip_bad_rows=skip_bad_rows, progress=progress,
                   as_json=as_json, engine=runner, max_seq_length=max_seq_length)


def _run_build(data: str | None, out: Path | None, *, finetune: bool, epochs: int,
               max_pairs: int | None, ranker: bool, skip_bad_rows: bool, progress: bool,
               as_json: bool, engine: BuildEngine | None = None,
               max_seq_length: int = 128) -> None:
    from assistant.cli import emit_json, settings
    from retrieval.build_steps import BuildClock
    from retrieval.bundle import build_bundle, read_manifest
    from retrieval.bundle_store import resolve
    from retrieval.dataset import load_dataset

    s = settings()
    ref = data or s.data.dataset
    target = out or s.bundle_dir
    clock = BuildClock(_listener(as_json=as_json, lines=progress))
    say = clock.message
    say(f"loading {ref}")
    with clock.step("load"):
        ds = load_dataset(ref, skip_bad_rows=skip_bad_rows or s.data.skip_bad_rows,
                          encoding=s.data.encoding, seed=s.data.seed)
    say(ds.describe())
    if ds.report.skipped:
        say(ds.report.summary())
    # The clock's lines replace the encoder's progress bars (one per chunk otherwise).
    path = _with_engine(engine, say, lambda e: build_bundle(
        ds, target, s, finetune=finetune, epochs=epochs, max_pairs=max_pairs,
        train_ranker=ranker, progress=False, on_step=say, clock=clock, engine=e,
        max_seq_length=max_seq_length))
    manifest = read_manifest(path)
    summary = {"bundle": str(path), "generation": resolve(path).folder.name,
               "dataset": manifest["dataset"],
               "encoder": manifest["encoder"], "index": manifest["index"],
               "build_seconds": manifest["build_seconds"],
               "build_steps": manifest.get("build_steps", [])}
    if as_json:
        emit_json(summary)
    else:
        typer.echo(str(path))


def _engine(name: str, address: str | None, object_store_mb: int) -> BuildEngine | None:
    from retrieval.distributed import make_engine

    try:
        return make_engine(name.strip().lower(), address=address,
                           object_store_mb=object_store_mb)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine") from None


def _with_engine(engine: BuildEngine | None, say: Callable[[str], None],
                 build: Callable[[BuildEngine | None], Path]) -> Path:
    """Run ``build`` with the engine started (and closed afterwards, whatever happens)."""
    if engine is None:
        return build(None)
    engine.start()
    say(f"engine {engine.name}: {engine.describe()}")
    try:
        return build(engine)
    finally:
        engine.close()


def _listener(*, as_json: bool, lines: bool) -> Callable[[ProgressEvent], None] | None:
    """Where the build's progress goes: under ``--json`` one JSON object per line on stderr
    (stdout keeps the one final result), else ``- encode 1,200/9,000 items, 3 min left``
    lines on stderr (step starts and progress only with ``--progress``)."""
    def show(event: ProgressEvent) -> None:
        if as_json:
            typer.echo(json.dumps(event.as_json(), ensure_ascii=False), err=True)
        elif lines or event.kind == "message":
            typer.echo(f"- {event.text()}", err=True)

    return show
