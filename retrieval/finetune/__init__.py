"""Fine-tuning the encoder on interactions: contrastive pairs mined from who consumed what,
trained with sentence-transformers' ``MultipleNegativesRankingLoss``.

Three kinds of pairs teach the encoder collaborative signal that item texts alone lack:

- ``history``: the text of a user's recent history -> the text of the next item they
  consumed (the query a history-only request makes);
- ``item``: an item -> an item the same user consumed close in time (what the user
  profile, a mean of item vectors, relies on);
- ``request``: a request text -> an item that answered it, where request sets exist.

Each batch holds no text twice (sentence-transformers' ``NoDuplicatesBatchSampler``), so
every other positive in the batch is a true negative for an anchor. Training never sees an
interaction after ``cutoff``, and with ``holdout="leave-one-out"`` each user's last
interaction is removed before mining, so it appears in no pair, as target or in a history.

Example (not run by the tests: it needs ml-100k and trains for minutes):
    >>> from retrieval.dataset import load_dataset                      # doctest: +SKIP
    >>> ds = load_dataset("movielens:/data/ml-100k")                    # doctest: +SKIP
    >>> result = finetune_encoder(ds, "models/ml100k-encoder",
    ...                           holdout="leave-one-out")              # doctest: +SKIP
    >>> result.pair_counts                                              # doctest: +SKIP
    {'history': 6000, 'item': 6000, 'request': 0}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from retrieval.encoder import DEFAULT_MODEL
from retrieval.errors import DataError
from retrieval.finetune.pairs import (
    PAIR_KINDS,
    MiningConfig,
    RequestExample,
    TrainingPair,
    apply_cutoff,
    leave_one_out,
    mine_pairs,
    parse_cutoff,
    positive_mask,
    read_request_set,
)
from retrieval.finetune.training import (
    TRAINING_METADATA_FILE,
    TrainingConfig,
    TrainingResult,
    train_on_pairs,
)

if TYPE_CHECKING:
    from retrieval.dataset import Dataset

__all__ = [
    "PAIR_KINDS",
    "TRAINING_METADATA_FILE",
    "TrainingPair",
    "RequestExample",
    "MiningConfig",
    "TrainingConfig",
    "TrainingResult",
    "positive_mask",
    "leave_one_out",
    "apply_cutoff",
    "parse_cutoff",
    "mine_pairs",
    "train_on_pairs",
    "finetune_encoder",
    "read_request_set",
]

Holdout = Literal["none", "leave-one-out"]
HOLDOUTS = ("none", "leave-one-out")


def finetune_encoder(
    dataset: Dataset,
    output_dir: str | Path,
    *,
    base_model: str | Path = DEFAULT_MODEL,
    holdout: Holdout = "leave-one-out",
    cutoff: int | None = None,
    requests: Sequence[RequestExample] = (),
    mining: MiningConfig = MiningConfig(),  # noqa: B008 (frozen, so safe to share)
    training: TrainingConfig = TrainingConfig(),  # noqa: B008 (frozen, so safe to share)
    progress: bool = True,
    offline: bool = True,
    on_step: Callable[[int, int], None] | None = None,
) -> TrainingResult:
    """Mine pairs from a data set and fine-tune the encoder on them (``encore train-encoder``).

    Args:
        dataset: Catalog and interactions.
        output_dir: Where the model folder goes.
        base_model: Model to start from (default: the packaged all-MiniLM-L6-v2).
        holdout: ``"leave-one-out"`` removes each user's last interaction first (the
            evaluation protocol's test item), ``"none"`` trains on everything up to ``cutoff``.
        cutoff: Evaluation cut-off in Unix seconds: nothing after it is trained on.
        requests: Request examples for ``request`` pairs.
        mining: Pair mining settings.
        training: Optimisation settings (its ``seed`` also seeds the mining).
        progress: Show a progress bar.
        offline: Never contact the Hugging Face Hub.
        on_step: Called with (steps done, total steps) after each training step.
    """
    if holdout not in HOLDOUTS:
        raise ValueError(f"unknown holdout {holdout!r}; valid: {', '.join(HOLDOUTS)}")
    log_ = apply_cutoff(dataset.interactions, cutoff)
    if holdout == "leave-one-out":
        log_, test = leave_one_out(log_)
        held_out = len(test)
    else:
        held_out = 0
    if len(log_) == 0 and not requests:
        raise DataError("there are no interactions to train on", path=dataset.source or None,
                        fix="load a data set with interactions (or pass a request set)")
    pairs = mine_pairs(dataset.catalog, log_, config=mining, requests=requests, cutoff=cutoff,
                       seed=training.seed)
    ts = log_.df["timestamp"]
    meta = {
        "data": dataset.source or dataset.name,
        "data_name": dataset.name,
        "synthetic_interactions": dataset.synthetic,
        "holdout": holdout,
        "held_out_interactions": held_out,
        "cutoff": cutoff,
        "trained_interactions": len(log_),
        "trained_users": log_.n_users,
        "last_trained_timestamp": None if ts.isna().all() else int(ts.max()),
        "request_examples": len(requests),
        "mining": asdict(mining),
    }
    return train_on_pairs(pairs, output_dir, base_model=base_model, config=training,
                          metadata=meta, progress=progress, offline=offline,
                          on_step=on_step)
