"""`encore build`: catalog + interactions -> a bundle the assistant loads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from retrieval.distributed import BuildEngine

EngineOption = Annotated[str, typer.Option(
    "--engine", help="local: one process (default). ray: encoding, index shards and ranker "
                     "lists on a Ray cluster. sharded: the same shards in this process. Both "
                     "sharded engines resume an interrupted build from its finished shards.")]
AddressOption = Annotated[str | None, typer.Option(
    "--address", help="Ray cluster address (host:port of its head; default: start Ray on "
                      "this machine, on 127.0.0.1).")]
ObjectStoreOption = Annotated[int, typer.Option(
    "--object-store-mb", min=80, help="Object store of a Ray instance started for the build "
                                      "(MB).")]


def _engine(name: str, address: str | None, object_store_mb: int) -> BuildEngine | None:
    from retrieval.distributed import make_engine

    try:
        return make_engine(name.strip().lower(), address=address,
                           object_store_mb=object_store_mb)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--engine") from None


def _summary(path: Path) -> dict[str, object]:
    """What ``encore build`` prints (``--json``) about the bundle it built."""
    from retrieval.bundle import read_manifest
    from retrieval.bundle_store import resolve

    manifest = read_manifest(path)
    return {"bundle": str(path), "generation": resolve(path).folder.name,
            "dataset": manifest["dataset"], "encoder": manifest["encoder"],
            "index": manifest["index"], "build_seconds": manifest["build_seconds"]}


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
                         help="Show progress bars."),
        ] = True,
        as_json: Annotated[
            bool,
            typer.Option("--json",
                         help="Print the manifest summary as JSON."),
        ] = False,
        engine: EngineOption = "local",
        address: AddressOption = None,
        object_store_mb: ObjectStoreOption = 512,
    ) -> None:
        """Build a bundle: fine-tune the encoder, encode the catalog, build the FAISS index
        (a new generation behind the folder's CURRENT pointer; a killed build changes nothing)."""
        from assistant.cli import emit_json, settings
        from retrieval.bundle import build_bundle
        from retrieval.dataset import load_dataset

        runner = _engine(engine, address, object_store_mb)
        s = settings()
        ref = data or s.data.dataset
        target = out or s.bundle_dir
        say = (lambda msg: None) if as_json else (lambda msg: typer.echo(f"- {msg}", err=True))
        say(f"loading {ref}")
        ds = load_dataset(ref, skip_bad_rows=skip_bad_rows or s.data.skip_bad_rows,
                          encoding=s.data.encoding, seed=s.data.seed)
        say(ds.describe())
        if ds.report.skipped:
            say(ds.report.summary())
        path = _with_engine(runner, say, lambda e: build_bundle(
            ds, target, s, finetune=finetune, epochs=epochs, max_pairs=max_pairs,
            train_ranker=ranker, progress=progress and not as_json, on_step=say, engine=e))
        summary = _summary(path)
        if as_json:
            emit_json(summary)
        else:
            typer.echo(str(path))
