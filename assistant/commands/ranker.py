"""``encore train-ranker``: train the learned ranker on a data set's interactions.

Examples::

    encore train-ranker --data movielens:~/data/ml-100k --out .encore/ranker
    encore train-ranker --data demo --out .encore/ranker --encoder path/to/fine-tuned --json

The output folder holds ``ranker/`` (the LightGBM model, its feature schema and feature
importances), ``stats/`` (the statistics the features read at serving time) and
``training.json`` (settings and report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``train-ranker`` command to ``app``."""

    @app.command("train-ranker")
    def train_ranker_command(
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (replaced whole).")],
        data: Annotated[str | None, typer.Option(
            "--data", "-d", help="Data set: demo, movielens:PATH, or a data folder "
                                 "(default: the data.dataset setting).")] = None,
        encoder: Annotated[str | None, typer.Option(
            "--encoder", help="Encoder for item texts: a name or a fine-tuned folder (default: "
                              "the retrieval.encoder_model setting); 'none' trains without "
                              "text features.")] = None,
        ranker: Annotated[str | None, typer.Option(
            "--ranker", help="lightgbm (LambdaMART) or blend (default: ranker.kind).")] = None,
        n_candidates: Annotated[int | None, typer.Option(
            "--n-candidates", min=2, help="Candidates per query (default: "
                                          "retrieval.n_candidates).")] = None,
        collaborative: Annotated[int | None, typer.Option(
            "--collaborative", min=0, help="Places of the candidates given to EASE "
                                           "(history-only queries; default: "
                                           "retrieval.collaborative).")] = None,
        cuts: Annotated[int | None, typer.Option(
            "--cuts", min=1, help="Queries per user: the last CUTS items are positives "
                                  "(default: training.cuts).")] = None,
        valid_fraction: Annotated[float | None, typer.Option(
            "--valid-fraction", min=0.01, max=0.9,
            help="Share of users held out for early stopping (default: "
                 "training.valid_fraction).")] = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", help="Seed (default: the data.seed setting).")] = None,
        cache_dir: Annotated[Path | None, typer.Option(
            "--cache-dir", help="Embedding cache folder.")] = Path(".encore/cache/embeddings"),
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print one JSON object on stdout.")] = False,
    ) -> None:
        """Train the LambdaMART ranker: query groups from a time split of each user's
        interactions, early stopping on validation NDCG@10, saved with its feature schema."""
        import json

        from retrieval.features import FeatureMismatch

        try:
            summary = _train(out=out, data=data, encoder=encoder, ranker=ranker,
                             n_candidates=n_candidates, collaborative=collaborative, cuts=cuts,
                             valid_fraction=valid_fraction, seed=seed, cache_dir=cache_dir,
                             progress=not as_json)
        except (ValueError, OSError, KeyError, FeatureMismatch) as exc:
            typer.echo(f"error: {str(exc).strip(chr(39))}", err=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps(summary, default=float))
            return
        typer.echo(
            f"trained a {summary['ranker']} ranker on {summary['data']}: "
            f"{summary['train_queries']} training and {summary['valid_queries']} validation "
            f"queries, {summary['rounds']} rounds, validation NDCG@10 "
            f"{summary['valid_ndcg@10']:.4f}; candidate recall "
            f"{summary['candidate_recall']:.3f}; {summary['seconds']:.0f} s")
        top = ", ".join(f"{k} {v:.2f}" for k, v in list(summary["importance_gain"].items())[:5])
        typer.echo(f"top features by gain: {top}")
        typer.echo(f"wrote {out}")


def _train(*, out: Path, data: str | None, encoder: str | None, ranker: str | None,
           n_candidates: int | None, collaborative: int | None, cuts: int | None,
           valid_fraction: float | None, seed: int | None, cache_dir: Path | None,
           progress: bool) -> dict:
    import sys
    import time

    from assistant.cli import settings
    from retrieval.dataset import load_dataset
    from retrieval.train_ranker import train_ranker

    started = time.perf_counter()
    s = settings()
    ds = load_dataset(data or s.data.dataset, skip_bad_rows=s.data.skip_bad_rows,
                      encoding=s.data.encoding, seed=s.data.seed)
    if len(ds.interactions) == 0:
        raise ValueError(f"the data set {ds.name!r} has no interactions to learn from; load one "
                         "with an interactions file")
    # The options given on the command line replace the settings' pipeline sections.
    flags: dict[str, dict[str, Any]] = {
        "retrieval": {"n_candidates": n_candidates, "collaborative": collaborative},
        "ranker": {"kind": ranker},
        "training": {"cuts": cuts, "seed": seed, "valid_fraction": valid_fraction}}
    config = s.pipeline_config().merged(
        {sec: {k: v for k, v in vals.items() if v is not None} for sec, vals in flags.items()})
    ref = encoder or s.retrieval.encoder_model
    enc = vecs = None
    if ref.strip().lower() != "none":
        from retrieval.encoder import item_text, load_encoder

        if progress:
            print(f"encoding {len(ds.catalog)} item texts with {ref}…", file=sys.stderr)
        enc = load_encoder(ref)
        texts = [item_text(it) for it in ds.catalog]
        if cache_dir is not None:
            from retrieval.embedding_cache import EmbeddingCache

            vecs = EmbeddingCache(cache_dir).encode(enc, texts, model_key=enc.model_key)
        else:
            vecs = enc.encode(texts)
    log = ds.interactions  # dislikes and skips stay: the dislike features read them
    if progress:
        print(f"training on {ds.describe()}…", file=sys.stderr)
    say = (lambda msg: print(msg, file=sys.stderr)) if progress else (lambda msg: None)
    trained = train_ranker(log, ds.catalog, vecs, encoder=enc, config=config, progress=say)
    trained.save(out)
    rep = trained.report
    return {
        "out": str(out),
        "data": ds.name + (" [SYNTHETIC interactions]"
                           if ds.synthetic and "SYNTHETIC" not in ds.name else ""),
        "ranker": config.ranker.kind,
        "encoder": None if enc is None else ref,
        "train_queries": rep["counts"].get("train queries", 0),
        "valid_queries": rep["counts"].get("valid queries", 0),
        "candidate_recall": rep["candidate_recall"].get("any", 0.0),
        "rounds": rep.get("rounds", 0),
        "valid_ndcg@10": rep.get("valid_ndcg@10") or 0.0,
        "importance_gain": rep.get("importance_gain", {}),
        "counts": rep["counts"],
        "seconds": round(time.perf_counter() - started, 1),
    }
