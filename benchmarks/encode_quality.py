"""Task quality of encoders for benchmarks/encode_bench.py: Recall@200 where a real target
exists, not only agreement with the float model's neighbours.

Two tasks on one MovieLens data set (default ml-100k from ../shared/data), leave-one-out by
time (``eval.protocols.leave_one_out``: each user's latest positive interaction is the
target, the rest is the history; full catalog, training items excluded):

- **history**: retrieval alone (``eval.experiments.retrieval_measure.RetrievalSystem``, its
  retriever settings, no fine-tuning, cosine, no popularity prior): the profile of the
  user's history is the query; hit when the target is in the top 200;
- **requests**: the conversational request set made from the same split
  (``eval.conversational.generate.generate_requests``: a request describing the held-out
  item by its genres and era, never its title); the request text alone is the query over
  the catalog (the user's history left out); hit when the target is in the top 200.

Each encoder's Recall@200 comes with the paired difference to the reference encoder (the
first one) and its standard error over users (the same users, the same targets), so a
1% change can be told from noise.

Run alone (``--help``); encode_bench.py calls :func:`task_recall` with ``--task``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

K = 200


@dataclass(frozen=True)
class TaskRecall:
    """One encoder's Recall@K on one task, and its paired difference to the reference."""

    recall: float
    diff: float
    diff_se: float
    n: int

    @property
    def relative(self) -> float:
        """The difference as a share of the reference's recall (``diff / reference``)."""
        ref = self.recall - self.diff
        return self.diff / ref if ref else float("nan")


class TaskData:
    """The split, catalog, texts and request cases of one data set, made once."""

    def __init__(self, ref: str) -> None:
        from eval.conversational.generate import generate_requests
        from eval.protocols import implicit_positives, leave_one_out
        from retrieval.dataset import load_dataset
        from retrieval.encoder import item_text

        ds = load_dataset(ref)
        log, _ = implicit_positives(ds.interactions)
        self.name = ds.name
        self.split = leave_one_out(log)
        self.fit_log = self.split.fit_data("test")
        self.catalog = ds.catalog
        self.texts = [item_text(it) for it in ds.catalog]
        generated = generate_requests(self.fit_log, self.split.test, ds.catalog, seed=0)
        self.cases = generated.cases


def history_hits(data: TaskData, encoder: Any, vectors: np.ndarray) -> dict[str, float]:
    """Per-user hit@K of retrieval alone from the history (the latest item the target)."""
    from eval.experiments.retrieval_measure import DEFAULTS, RetrievalSystem
    from eval.harness import evaluate
    from retrieval.config import RetrieverConfig

    config = RetrieverConfig(recency_half_life=DEFAULTS["recency_half_life"],
                             dislike_weight=DEFAULTS["dislike_weight"])
    system = RetrievalSystem(encoder, n=K, config=config)
    system._vectors = vectors
    metric = f"recall@{K}"
    res = evaluate(data.split, data.catalog, {"s": system}, (metric,), curve_ks=(),
                   progress=False, dataset=data.name)
    # The same split gives the same users in the same order to every encoder.
    return {str(i): float(v) for i, v in enumerate(res.systems["s"].per_user[metric])}


def request_hits(data: TaskData, encoder: Any, vectors: np.ndarray) -> dict[str, float]:
    """Per-case hit@K of the request text alone over the catalog (history items left out)."""
    pos = {i: k for k, i in enumerate(data.catalog.ids)}
    queries = encoder.encode([c.request for c in data.cases])
    scores = queries @ vectors.T
    out = {}
    for n, (case, row) in enumerate(zip(data.cases, scores, strict=True)):
        for i in case.history_item_ids or []:
            if i in pos:
                row[pos[i]] = -np.inf
        top = np.argpartition(-row, K - 1)[:K]
        targets = {pos[t] for t in case.target_item_ids if t in pos}
        out[f"{n}:{case.user_id}"] = float(len(targets & set(top.tolist())) / max(1, len(targets)))
    return out


def paired(values: dict[str, float], ref: dict[str, float]) -> TaskRecall:
    """Mean of ``values`` and its paired difference to ``ref`` over the shared keys."""
    keys = sorted(set(values) & set(ref))
    a = np.array([values[k] for k in keys])
    b = np.array([ref[k] for k in keys])
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return TaskRecall(float(a.mean()), float(d.mean()), se, len(keys))


def task_recall(data: TaskData, encoders: dict[str, Any]
                ) -> dict[str, dict[str, TaskRecall]]:
    """``{encoder name: {"history": ..., "requests": ...}}``, differences taken against the
    first encoder of ``encoders``."""
    hits: dict[str, dict[str, dict[str, float]]] = {}
    for name, enc in encoders.items():
        vectors = enc.encode(data.texts)
        hits[name] = {"history": history_hits(data, enc, vectors),
                      "requests": request_hits(data, enc, vectors)}
    ref = hits[next(iter(encoders))]
    return {name: {task: paired(h[task], ref[task]) for task in h} for name, h in hits.items()}


def format_recall(r: TaskRecall) -> str:
    """``0.3312 (-0.0041 ± 0.0052, -1.2%)``."""
    return f"{r.recall:.4f} ({r.diff:+.4f} ± {r.diff_se:.4f}, {100 * r.relative:+.1f}%)"
