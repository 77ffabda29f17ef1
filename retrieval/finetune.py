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

Example:
    >>> from retrieval.dataset import load_dataset                      # doctest: +SKIP
    >>> ds = load_dataset("movielens:/data/ml-100k")                    # doctest: +SKIP
    >>> result = finetune_encoder(ds, "models/ml100k-encoder",
    ...                           holdout="leave-one-out")              # doctest: +SKIP
    >>> result.pair_counts                                              # doctest: +SKIP
    {'history': 6000, 'item': 6000, 'request': 0}
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from retrieval.catalog import Catalog
from retrieval.encoder import DEFAULT_MODEL, history_text, item_text
from retrieval.errors import DataError
from retrieval.interactions import Interactions
from retrieval.io import atomic_dir, atomic_write_text

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

log = logging.getLogger(__name__)

PAIR_KINDS = ("history", "item", "request")
TRAINING_METADATA_FILE = "encore_training.json"
Holdout = Literal["none", "leave-one-out"]
HOLDOUTS = ("none", "leave-one-out")


@dataclass(frozen=True)
class TrainingPair:
    """One (anchor, positive) text pair and where it came from.

    Attributes:
        anchor: Anchor text (history text, item text or request).
        positive: Text of the target item.
        kind: ``history``, ``item`` or ``request``.
        target_id: Catalog id of the target item.
        source_ids: Catalog ids named in the anchor (empty for requests).
        user_id: The user whose interactions produced the pair, if any.
    """

    anchor: str
    positive: str
    kind: str
    target_id: str
    source_ids: tuple[str, ...] = ()
    user_id: str | None = None


@dataclass(frozen=True)
class RequestExample:
    """A request and the items that answered it (one line of a request set)."""

    request: str
    targets: tuple[str, ...]
    user_id: str | None = None
    timestamp: int | None = None


@dataclass(frozen=True)
class MiningConfig:
    """How pairs are mined from interactions.

    Attributes:
        max_pairs: Pairs mined in all (request pairs included); fixes the training cost.
        history_share: Share of the interaction pairs that are ``history`` pairs; the rest
            are ``item`` pairs.
        request_share: At most this share of ``max_pairs`` are ``request`` pairs.
        history_items: Items named in a history text (most recent first).
        min_history: A ``history`` pair needs at least this many earlier items.
        item_window: An ``item`` pair joins items at most this many positions apart in a
            user's time-ordered history.
        max_gap_seconds: ...and at most this far apart in time (``None``: no limit).
        dislike_rating: Ratings at or below this are dislikes and mined from nowhere.
    """

    max_pairs: int = 12_000
    history_share: float = 0.5
    request_share: float = 0.25
    history_items: int = 3
    min_history: int = 3
    item_window: int = 5
    max_gap_seconds: int | None = 30 * 86_400
    dislike_rating: float = 2.0

    def __post_init__(self) -> None:
        if self.max_pairs < 1:
            raise ValueError(f"max_pairs must be positive, got {self.max_pairs}")
        for name in ("history_share", "request_share"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {v}")
        for name in ("history_items", "min_history", "item_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings.

    Attributes:
        epochs: Passes over the pairs.
        batch_size: Pairs per step; each anchor sees ``batch_size - 1`` in-batch negatives.
        learning_rate: Peak AdamW learning rate (linear warm-up, then linear decay).
        warmup_ratio: Share of the steps spent warming up.
        weight_decay: AdamW weight decay.
        max_seq_length: Token limit per text during training (item texts are short).
        scale: The loss's similarity scale (inverse temperature).
        symmetric: Also rank anchors for each positive (the loss's ``doc_to_query``
            direction): twice the signal from the same forward pass.
        max_grad_norm: Gradient clipping.
        seed: Seeds pair sampling, batching, dropout and initialisation.
        log_every: Log the running loss every this many steps.
        device: ``None`` picks what sentence-transformers picks (CPU here).
        bf16: Run forward passes under bfloat16 autocast (weights and optimiser stay in
            float32). ``None``: on when the device supports it fast (CUDA with bf16, or a
            CPU with AVX512-BF16 / AMX), where it roughly halves the step time.
        num_threads: CPU threads for torch during training (``None``: torch's default, one
            per core). On a CPU shared with other jobs, fewer threads than cores avoids
            oversubscription (see also ``OMP_WAIT_POLICY=PASSIVE``).
    """

    epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_seq_length: int = 64
    scale: float = 20.0
    symmetric: bool = True
    max_grad_norm: float = 1.0
    seed: int = 0
    log_every: int = 20
    device: str | None = None
    bf16: bool | None = None
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (in-batch negatives), "
                             f"got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.max_seq_length < 8:
            raise ValueError(f"max_seq_length must be at least 8, got {self.max_seq_length}")


@dataclass
class TrainingResult:
    """What a fine-tuning run produced."""

    output_dir: Path
    steps: int
    seconds: float
    pair_counts: dict[str, int]
    losses: list[tuple[int, float]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


# -- splitting and filtering -----------------------------------------------------------------


def positive_mask(df: pd.DataFrame, dislike_rating: float = 2.0) -> np.ndarray:
    """Rows that say the user consumed and did not dislike the item: plays, likes and
    ratings above ``dislike_rating`` (dislikes and skips are not positives)."""
    event = df["event"].astype(str).to_numpy()
    value = df["value"].to_numpy(dtype=float)
    return ((event == "play") | (event == "like")
            | ((event == "rating") & (value > dislike_rating)))


def _sorted_frame(interactions: Interactions) -> pd.DataFrame:
    """Rows ordered by user, then time, simultaneous interactions by item id: the order
    ``eval.protocols`` holds out by, so "the last item" means the same thing there."""
    from retrieval.stats import sequence_order

    df = interactions.df
    if not len(df):
        return df.reset_index(drop=True)
    return df.iloc[sequence_order(df)].reset_index(drop=True)


def leave_one_out(interactions: Interactions) -> tuple[Interactions, pd.DataFrame]:
    """Hold out each user's last interaction by timestamp (simultaneous ones ordered by
    item id, as ``eval.protocols.leave_one_out`` does by default).

    Users with a single interaction keep it in training and have no test row.

    Returns:
        ``(train, test)``: the training log, and one test row per user as a DataFrame.
    """
    df = _sorted_frame(interactions)
    user = df["user_id"].cat.codes.to_numpy()
    is_last = np.ones(len(df), dtype=bool)
    is_last[:-1] = user[:-1] != user[1:]
    counts = df.groupby("user_id", observed=True)["item_id"].transform("size").to_numpy()
    test_mask = is_last & (counts >= 2)
    return Interactions(df[~test_mask]), df[test_mask].reset_index(drop=True)


def parse_cutoff(value: str | int) -> int:
    """An evaluation cut-off as Unix seconds, from Unix seconds or an ISO-8601 date.

    Example:
        >>> parse_cutoff("1998-01-01"), parse_cutoff("893286638")
        (883612800, 893286638)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"cannot read the cut-off {text!r}; write Unix seconds or an ISO date "
                         "such as 1998-01-01") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def apply_cutoff(interactions: Interactions, cutoff: int | None) -> Interactions:
    """Drop interactions after ``cutoff`` (Unix seconds); rows without a time are kept only
    when there is no cutoff."""
    if cutoff is None:
        return interactions
    ts = interactions.df["timestamp"]
    keep = (ts.notna() & (ts <= cutoff)).to_numpy(dtype=bool)
    return Interactions(interactions.df[keep])


# -- mining ----------------------------------------------------------------------------------


def mine_pairs(
    catalog: Catalog,
    interactions: Interactions,
    *,
    config: MiningConfig = MiningConfig(),
    requests: Iterable[RequestExample] = (),
    cutoff: int | None = None,
    seed: int = 0,
) -> list[TrainingPair]:
    """Mine training pairs from a (training) interaction log and request examples.

    Pass only training interactions: everything given here may end up in a pair. Items
    missing from the catalog are skipped.

    Args:
        catalog: Items, for their texts.
        interactions: The training log.
        config: How many pairs of each kind, and how they are formed.
        requests: Request examples (request text -> target items).
        cutoff: Ignore interactions and requests after this Unix time.
        seed: Seeds the sampling; the same inputs and seed give the same pairs.

    Returns:
        Pairs in a seeded random order.
    """
    rng = np.random.default_rng(seed)
    log_ = apply_cutoff(interactions, cutoff)
    df = _sorted_frame(log_)
    df = df[positive_mask(df, config.dislike_rating)]
    items = df["item_id"].astype(str).to_numpy()
    in_catalog = np.fromiter((i in catalog for i in items), dtype=bool, count=len(items))
    df = df[in_catalog].reset_index(drop=True)
    items = items[in_catalog]
    users = df["user_id"].astype(str).to_numpy()
    user_codes = df["user_id"].cat.codes.to_numpy()
    ts = df["timestamp"].to_numpy(dtype=np.float64, na_value=np.nan)
    pos_in_user = df.groupby("user_id", observed=True).cumcount().to_numpy()

    texts: dict[str, str] = {}

    def text_of(item_id: str) -> str:
        t = texts.get(item_id)
        if t is None:
            t = texts[item_id] = item_text(catalog[item_id])
        return t

    # Request pairs first: they are scarce and the only ones that teach request language.
    req_pairs: list[TrainingPair] = []
    for ex in requests:
        if cutoff is not None and ex.timestamp is not None and ex.timestamp > cutoff:
            continue
        if not ex.request.strip():
            continue
        for target in ex.targets:
            if target in catalog:
                req_pairs.append(TrainingPair(anchor=ex.request.strip(), positive=text_of(target),
                                              kind="request", target_id=target,
                                              user_id=ex.user_id))
    n_req = min(len(req_pairs), int(config.max_pairs * config.request_share))
    if n_req < len(req_pairs):
        keep = rng.choice(len(req_pairs), size=n_req, replace=False)
        req_pairs = [req_pairs[i] for i in sorted(keep)]

    budget = config.max_pairs - len(req_pairs)
    # Candidate positions: history pairs end at a row with enough earlier rows of its user.
    hist_rows = np.flatnonzero(pos_in_user >= config.min_history)
    # Item pairs: (row, row + d) of the same user, d <= window, close enough in time.
    item_a, item_b = [], []
    for d in range(1, config.item_window + 1):
        a = np.arange(len(df) - d)
        b = a + d
        ok = (user_codes[a] == user_codes[b]) & (items[a] != items[b])
        if config.max_gap_seconds is not None:
            gap = np.abs(ts[b] - ts[a])
            ok &= ~(gap > config.max_gap_seconds)  # a missing time does not disqualify
        item_a.append(a[ok])
        item_b.append(b[ok])
    item_a_arr = np.concatenate(item_a) if item_a else np.zeros(0, dtype=np.int64)
    item_b_arr = np.concatenate(item_b) if item_b else np.zeros(0, dtype=np.int64)

    n_hist = min(len(hist_rows), int(round(budget * config.history_share)))
    n_item = min(len(item_a_arr), budget - n_hist)
    if n_item < budget - n_hist:  # not enough item pairs: give the rest to history pairs
        n_hist = min(len(hist_rows), budget - n_item)

    pairs: list[TrainingPair] = list(req_pairs)
    if n_hist:
        # Row start of each user's block, to slice a history.
        starts = np.flatnonzero(np.r_[True, user_codes[1:] != user_codes[:-1]])
        block_start = np.repeat(starts, np.diff(np.r_[starts, len(df)]))
        for r in np.sort(rng.choice(hist_rows, size=n_hist, replace=False)).tolist():
            lo = max(block_start[r], r - config.history_items)
            # A re-watch of the target would make the pair trivial: leave it out.
            hist_ids = [i for i in items[lo:r].tolist() if i != items[r]]
            if not hist_ids:
                continue
            anchor = history_text([catalog[i] for i in hist_ids], max_items=config.history_items)
            pairs.append(TrainingPair(anchor=anchor, positive=text_of(items[r]), kind="history",
                                      target_id=str(items[r]), source_ids=tuple(hist_ids),
                                      user_id=str(users[r])))
    if n_item:
        pick = np.sort(rng.choice(len(item_a_arr), size=n_item, replace=False))
        swap = rng.random(n_item) < 0.5  # the relation is symmetric: train both directions
        for k, s in zip(pick.tolist(), swap.tolist(), strict=True):
            a, b = int(item_a_arr[k]), int(item_b_arr[k])
            if s:
                a, b = b, a
            pairs.append(TrainingPair(anchor=text_of(items[a]), positive=text_of(items[b]),
                                      kind="item", target_id=str(items[b]),
                                      source_ids=(str(items[a]),), user_id=str(users[a])))
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order]


def read_request_set(path: str | Path) -> list[RequestExample]:
    """Read a request set: JSON Lines with ``request`` (or ``text``), ``targets`` (or
    ``target_items``: a list of catalog ids), and optional ``user`` and ``timestamp``.

    Raises:
        DataError: a line that is not JSON or lacks a field (the line is named).
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError("request set not found", path=p, fix="pass a JSON Lines file")
    out = []
    with open(p, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except ValueError as exc:
                raise DataError(f"not JSON ({exc.args[0]})", path=p, line=n,
                                fix="write one JSON object per line") from None
            text = row.get("request", row.get("text")) if isinstance(row, dict) else None
            targets = row.get("targets", row.get("target_items")) if isinstance(row, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise DataError("missing or empty request text", path=p, line=n, field="request",
                                fix='add "request": "what the person asked for"')
            if isinstance(targets, str | int):
                targets = [targets]
            if not targets:
                raise DataError("missing target items", path=p, line=n, field="targets",
                                fix='add "targets": ["item-id", ...]')
            ts = row.get("timestamp")
            out.append(RequestExample(request=text, targets=tuple(str(t) for t in targets),
                                      user_id=None if row.get("user") is None else str(row["user"]),
                                      timestamp=None if ts is None else int(ts)))
    return out


# -- training ----------------------------------------------------------------------------------


class _PairColumns:
    """The two columns sentence-transformers' batch samplers read: ``anchor``, ``positive``."""

    column_names = ["anchor", "positive"]

    def __init__(self, pairs: Sequence[TrainingPair]) -> None:
        self._pairs = pairs

    def __len__(self) -> int:
        return len(self._pairs)

    def __getitem__(self, i: int) -> dict[str, str]:
        p = self._pairs[i]
        return {"anchor": p.anchor, "positive": p.positive}


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_on_pairs(
    pairs: Sequence[TrainingPair],
    output_dir: str | Path,
    *,
    base_model: str | Path = DEFAULT_MODEL,
    config: TrainingConfig = TrainingConfig(),
    metadata: dict[str, Any] | None = None,
    progress: bool = True,
    offline: bool = True,
) -> TrainingResult:
    """Fine-tune ``base_model`` on ``pairs`` with ``MultipleNegativesRankingLoss`` and save it.

    The folder (written atomically) loads like any sentence-transformers model and holds
    ``encore_training.json``: the base model, the data, the pair counts, the settings and
    the loss curve.

    Args:
        pairs: Training pairs (see :func:`mine_pairs`).
        output_dir: Where to save the model; replaced whole on success.
        base_model: Name or folder of the model to start from.
        config: Optimisation settings.
        metadata: Extra facts to record (data source, split, cutoff…).
        progress: Show a progress bar with the running loss.
        offline: Never contact the Hugging Face Hub.

    Raises:
        ValueError: fewer pairs than one batch.
    """
    import torch
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from tqdm.auto import tqdm

    from retrieval.encoder import load_sentence_transformer

    if len(pairs) < config.batch_size:
        raise ValueError(f"{len(pairs)} training pairs are fewer than one batch "
                         f"({config.batch_size}); lower batch_size or provide more interactions")
    started = time.time()
    threads_before = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(max(1, int(config.num_threads)))
    _seed_everything(config.seed)
    model, base_name, base_folder = load_sentence_transformer(base_model, device=config.device,
                                                              offline=offline)
    model.max_seq_length = config.max_seq_length
    if config.symmetric:
        loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale,
                                               directions=("query_to_doc", "doc_to_query"),
                                               partition_mode="per_direction")
    else:
        loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale)
    columns = _PairColumns(pairs)
    sampler = NoDuplicatesBatchSampler(columns, batch_size=config.batch_size, drop_last=True,
                                       generator=torch.Generator(), seed=config.seed)
    steps_per_epoch = len(sampler)
    total = steps_per_epoch * config.epochs
    warmup = int(math.ceil(total * config.warmup_ratio))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay},
         {"params": no_decay, "weight_decay": 0.0}], lr=config.learning_rate)

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    device = model.device
    use_bf16 = _bf16_supported(device.type) if config.bf16 is None else bool(config.bf16)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16)
    losses: list[tuple[int, float]] = []
    running: list[float] = []
    model.train()
    step = 0
    bar = tqdm(total=total, desc="fine-tuning encoder", unit="step", disable=not progress)
    try:
        for epoch in range(config.epochs):
            sampler.set_epoch(epoch)
            for batch in sampler:
                anchors = [pairs[i].anchor for i in batch]
                positives = [pairs[i].positive for i in batch]
                features = [_to_device(model.preprocess(anchors), device),
                            _to_device(model.preprocess(positives), device)]
                with autocast:
                    loss = loss_fn(features, None)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"the loss became {loss.item()} at step {step}; lower learning_rate "
                        f"(now {config.learning_rate})")
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                running.append(float(loss.item()))
                if step % config.log_every == 0 or step == total:
                    mean = float(np.mean(running))
                    losses.append((step, round(mean, 5)))
                    running.clear()
                    log.info("step %d/%d loss %.4f lr %.2e", step, total, mean,
                             scheduler.get_last_lr()[0])
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}")
    finally:
        bar.close()
        torch.set_num_threads(threads_before)
    if step == 0:
        distinct = len({p.anchor for p in pairs} | {p.positive for p in pairs})
        raise ValueError(
            f"no batch of {config.batch_size} pairs without a repeated text could be formed: "
            f"the {len(pairs)} pairs hold only {distinct} distinct texts. Fix: lower batch_size "
            "or add items and interactions")
    model.eval()
    seconds = time.time() - started
    counts = {k: 0 for k in PAIR_KINDS}
    for p in pairs:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    meta = {
        "format": "encore-encoder-training-1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": base_name,
        "loss": "MultipleNegativesRankingLoss",
        "batch_sampler": "no_duplicates",
        "pairs": counts,
        "distinct_targets": len({p.target_id for p in pairs}),
        "training": {**asdict(config), "bf16": use_bf16},
        "steps": step,
        "seconds": round(seconds, 1),
        "loss_curve": losses,
        "versions": _versions(),
        **(metadata or {}),
    }
    out = Path(output_dir).expanduser()
    with atomic_dir(out) as tmp:
        model.save(str(tmp), create_model_card=False)
        atomic_write_text(tmp / TRAINING_METADATA_FILE, json.dumps(meta, indent=2, default=str))
        atomic_write_text(tmp / "README.md", _readme(meta))
    return TrainingResult(output_dir=out, steps=step, seconds=seconds, pair_counts=counts,
                          losses=losses, metadata=meta)


def _bf16_supported(device_type: str) -> bool:
    import torch

    if device_type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device_type == "cpu":
        cpu = getattr(torch, "cpu", None)
        for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
            fn = getattr(cpu, probe, None)
            if fn is not None:
                try:
                    if fn():
                        return True
                except Exception:  # noqa: BLE001 — a probe that fails means "no"
                    pass
    return False


def _to_device(features: dict[str, Any], device: Any) -> dict[str, Any]:
    return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in features.items()}


def _versions() -> dict[str, str]:
    import sentence_transformers
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__}


def _readme(meta: dict[str, Any]) -> str:
    pairs = ", ".join(f"{n} {k}" for k, n in meta["pairs"].items() if n)
    return (
        "# Encore fine-tuned encoder\n\n"
        f"Base model: `{meta['base_model']}`. Trained with {meta['loss']} (in-batch negatives, "
        f"no duplicate texts per batch) on {pairs} pairs for {meta['steps']} steps.\n\n"
        f"Data: {meta.get('data', 'not recorded')}; held out: {meta.get('holdout', 'none')}; "
        f"cutoff: {meta.get('cutoff')}.\n\n"
        "Load it with `retrieval.encoder.load_encoder(PATH)` or "
        "`sentence_transformers.SentenceTransformer(PATH)`. Everything it was trained on is in "
        f"`{TRAINING_METADATA_FILE}`.\n"
    )


def finetune_encoder(
    dataset: Dataset,
    output_dir: str | Path,
    *,
    base_model: str | Path = DEFAULT_MODEL,
    holdout: Holdout = "leave-one-out",
    cutoff: int | None = None,
    requests: Sequence[RequestExample] = (),
    mining: MiningConfig = MiningConfig(),
    training: TrainingConfig = TrainingConfig(),
    progress: bool = True,
    offline: bool = True,
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
                          metadata=meta, progress=progress, offline=offline)
