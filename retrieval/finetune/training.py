"""Training the encoder on mined pairs with sentence-transformers'
``MultipleNegativesRankingLoss`` (in-batch negatives, no text twice per batch)."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.encoder import DEFAULT_MODEL
from retrieval.finetune.pairs import PAIR_KINDS, TrainingPair
from retrieval.io import atomic_dir, atomic_write_text

log = logging.getLogger("retrieval.finetune")

TRAINING_METADATA_FILE = "encore_training.json"


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
    on_step: Callable[[int, int], None] | None = None,
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
        on_step: Called with (steps done, total steps) after each step (progress reports).

    Raises:
        ValueError: fewer pairs than one batch.
    """
    import torch
    from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

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
    sampler = NoDuplicatesBatchSampler(_PairColumns(pairs), batch_size=config.batch_size,
                                       drop_last=True, generator=torch.Generator(),
                                       seed=config.seed)
    use_bf16 = (_bf16_supported(model.device.type) if config.bf16 is None
                else bool(config.bf16))
    try:
        step, losses = _run_steps(model, pairs, sampler, config, use_bf16=use_bf16,
                                  progress=progress, on_step=on_step)
    finally:
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
    meta = _training_metadata(pairs, config, counts, base_name=base_name, use_bf16=use_bf16,
                              steps=step, seconds=seconds, losses=losses, extra=metadata)
    out = Path(output_dir).expanduser()
    with atomic_dir(out) as tmp:
        model.save(str(tmp), create_model_card=False)
        atomic_write_text(tmp / TRAINING_METADATA_FILE, json.dumps(meta, indent=2, default=str))
        atomic_write_text(tmp / "README.md", _readme(meta))
    return TrainingResult(output_dir=out, steps=step, seconds=seconds, pair_counts=counts,
                          losses=losses, metadata=meta)


def _training_metadata(pairs: Sequence[TrainingPair], config: TrainingConfig,
                       counts: dict[str, int], *, base_name: str, use_bf16: bool, steps: int,
                       seconds: float, losses: list[tuple[int, float]],
                       extra: dict[str, Any] | None) -> dict[str, Any]:
    """What ``encore_training.json`` records about a run."""
    return {
        "format": "encore-encoder-training-1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "base_model": base_name,
        "loss": "MultipleNegativesRankingLoss",
        "batch_sampler": "no_duplicates",
        "pairs": counts,
        "distinct_targets": len({p.target_id for p in pairs}),
        "training": {**asdict(config), "bf16": use_bf16},
        "steps": steps,
        "seconds": round(seconds, 1),
        "loss_curve": losses,
        "versions": _versions(),
        **(extra or {}),
    }


def _make_loss(model: Any, config: TrainingConfig) -> Any:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if config.symmetric:
        return MultipleNegativesRankingLoss(model, scale=config.scale,
                                            directions=("query_to_doc", "doc_to_query"),
                                            partition_mode="per_direction")
    return MultipleNegativesRankingLoss(model, scale=config.scale)


def _make_optimizer(model: Any, config: TrainingConfig, total: int) -> tuple[list[Any], Any, Any]:
    """The trained parameters, AdamW (no decay on biases and norms) and its schedule:
    linear warm-up over ``warmup_ratio`` of the ``total`` steps, then linear decay to 0."""
    import torch

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

    return params, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def _run_steps(model: Any, pairs: Sequence[TrainingPair], sampler: Any, config: TrainingConfig,
               *, use_bf16: bool, progress: bool,
               on_step: Callable[[int, int], None] | None = None
               ) -> tuple[int, list[tuple[int, float]]]:
    """The training loop; returns the steps taken and the loss curve (mean per
    ``log_every`` steps)."""
    import torch
    from tqdm.auto import tqdm

    loss_fn = _make_loss(model, config)
    total = len(sampler) * config.epochs
    params, optimizer, scheduler = _make_optimizer(model, config, total)
    device = model.device
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
                if on_step is not None:
                    on_step(step, total)
                bar.set_postfix(loss=f"{loss.item():.3f}")
    finally:
        bar.close()
    return step, losses


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

