"""`encore train-encoder`: fine-tune the encoder on a data set's interactions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Defaults of retrieval.finetune.MiningConfig / TrainingConfig, repeated here so that
# `encore --help` does not import pandas (a test keeps them equal).
DEFAULT_MAX_PAIRS = 12_000
DEFAULT_EPOCHS = 1
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 2e-4
DEFAULT_MAX_SEQ_LENGTH = 64


# The command's options, one alias each, so that its signature reads as a list.
_Out = Annotated[Path, typer.Option(
    "--out", "-o", help="Folder to write the fine-tuned model to (replaced whole).")]
_Data = Annotated[str | None, typer.Option(
    "--data", "-d", help="Data set: demo, movielens:PATH, or a data folder.")]
_Base = Annotated[str | None, typer.Option(
    "--base", help="Model to start from (default: the retrieval.encoder_model "
                   "setting).")]
_Holdout = Annotated[str, typer.Option(
    "--holdout", help="'none', or 'leave-one-out' to keep each user's last "
                      "interaction out of training (for evaluation).")]
_Cutoff = Annotated[str | None, typer.Option(
    "--cutoff", help="Evaluation cut-off (Unix seconds or ISO date): nothing after "
                     "it is trained on.")]
_Requests = Annotated[Path | None, typer.Option(
    "--requests", help="Request set (JSON Lines: request, targets) for "
                       "request->item pairs.")]
_MaxPairs = Annotated[int, typer.Option(
    "--max-pairs", min=64, help="Training pairs to mine (sets the training "
                                "time).")]
_Epochs = Annotated[int, typer.Option("--epochs", min=1, help="Passes over the pairs.")]
_BatchSize = Annotated[int, typer.Option(
    "--batch-size", min=2, help="Pairs per step (in-batch "
                                "negatives).")]
_LearningRate = Annotated[float, typer.Option("--lr", min=1e-7, help="Peak learning rate.")]
_MaxSeqLength = Annotated[int, typer.Option(
    "--max-seq-length", min=8,
    help="Token limit per text.")]
_Seed = Annotated[int | None, typer.Option(
    "--seed", help="Seed (default: the data.seed setting).")]
_Progress = Annotated[bool, typer.Option(
    "--progress/--no-progress", help="Show a progress bar.")]
_AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def register(app: typer.Typer) -> None:
    """Add ``train-encoder`` to ``app``."""
    app.command("train-encoder")(train_encoder)


def train_encoder(
    out: _Out,
    data: _Data = None,
    base: _Base = None,
    holdout: _Holdout = "none",
    cutoff: _Cutoff = None,
    requests: _Requests = None,
    max_pairs: _MaxPairs = DEFAULT_MAX_PAIRS,
    epochs: _Epochs = DEFAULT_EPOCHS,
    batch_size: _BatchSize = DEFAULT_BATCH_SIZE,
    learning_rate: _LearningRate = DEFAULT_LEARNING_RATE,
    max_seq_length: _MaxSeqLength = DEFAULT_MAX_SEQ_LENGTH,
    seed: _Seed = None,
    progress: _Progress = True,
    as_json: _AsJson = False,
) -> None:
    """Fine-tune the encoder with in-batch-negative contrastive loss on pairs mined from
    interactions (history -> next item, item -> item, request -> item)."""
    import logging

    from assistant.cli import emit_json, settings
    from retrieval.dataset import load_dataset
    from retrieval.finetune import (
        HOLDOUTS,
        MiningConfig,
        TrainingConfig,
        finetune_encoder,
        parse_cutoff,
        read_request_set,
    )

    if holdout not in HOLDOUTS:
        raise ValueError(f"--holdout must be one of {', '.join(HOLDOUTS)}, got {holdout!r}")
    s = settings()
    ds = load_dataset(data or s.data.dataset, skip_bad_rows=s.data.skip_bad_rows,
                      encoding=s.data.encoding, seed=s.data.seed)
    examples = read_request_set(requests) if requests is not None else []
    if not as_json:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        logging.getLogger("retrieval.finetune").setLevel(logging.INFO)
    result = finetune_encoder(
        ds, out,
        base_model=base or s.retrieval.encoder_model,
        holdout=holdout,  # type: ignore[arg-type]
        cutoff=parse_cutoff(cutoff) if cutoff is not None else None,
        requests=examples,
        mining=MiningConfig(max_pairs=max_pairs),
        training=TrainingConfig(epochs=epochs, batch_size=batch_size,
                                learning_rate=learning_rate, max_seq_length=max_seq_length,
                                seed=s.data.seed if seed is None else seed),
        progress=progress and not as_json,
    )
    summary = {
        "output_dir": str(result.output_dir),
        "base_model": result.metadata["base_model"],
        "data": result.metadata["data"],
        "holdout": holdout,
        "cutoff": result.metadata["cutoff"],
        "pairs": result.pair_counts,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "first_loss": result.losses[0][1] if result.losses else None,
        "final_loss": result.losses[-1][1] if result.losses else None,
    }
    if as_json:
        emit_json(summary)
        return
    pairs = ", ".join(f"{n} {k}" for k, n in result.pair_counts.items() if n)
    typer.echo(f"fine-tuned {summary['base_model']} on {ds.name}: {pairs} pairs, "
               f"{result.steps} steps in {result.seconds:.0f} s; loss "
               f"{summary['first_loss']} -> {summary['final_loss']}")
    if ds.synthetic:
        typer.echo("note: the demo's interactions are SYNTHETIC")
    typer.echo(f"saved to {result.output_dir} (load it with --base or "
               "retrieval.encoder_model; what it was trained on is in encore_training.json)")
