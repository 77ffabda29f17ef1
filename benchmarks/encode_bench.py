"""Benchmark item encoding on the CPU: items per second and Recall@200 of each encoder
backend, batching and thread setting, side by side in one run.

Texts are real item texts (:func:`retrieval.encoder.item_text`) of each catalog named by
``--data`` (default: the demo catalog, whose items carry descriptions, about 67 tokens, and
ml-latest-small's movies from ../shared/data, about 20 tokens: title, year, genres, tags),
``--items`` of each, spread over the catalog. Systems (``--systems``, rows of the table):

- ``torch``: the sentence-transformers model (``retrieval.encoder.load_encoder``), as a
  build uses it; ``onnx`` / ``onnx-int8``: :class:`retrieval.encoder_onnx.OnnxEncoder` on
  the same model exported by ``export_onnx`` (float32 / int8 weights, per channel);
  ``static``: :class:`retrieval.encoder_static.StaticEncoder`, the model distilled into
  static token vectors by ``distill_static`` (256-d; threads set torch's, the tokeniser
  runs its own pool);
- ``/length``: one ``encode`` call with every text, which sorts texts by length so that
  batches pad little; ``/order``: batches of the texts in catalog order (one call each);
- ``/tN``: N intra-op threads (torch.set_num_threads; ONNX Runtime's intra_op_num_threads);
- ``/lenN``: a token limit of N (default 128, the build's); ``/layersN`` (torch only): the
  model cut to its first N transformer layers (bench only, to size that option).

Each system encodes the texts ``--repeats`` times (at least 3; systems take turns, so a
change in the machine's load falls on all of them) after one warm-up batch; the median
run's items/s is reported. Recall@200 vs float is the mean overlap of the top-200 items of
the catalog found with the system's vectors and with the float torch model's (token limit
128), for two query sets: ``--queries`` items of the catalog, each item's own text as the
query (item to item), and the 372 request messages of eval/data/parser_*.jsonl. This is
agreement, not quality: ``--task`` (default ml-100k) also measures each vector space's
Recall@200 on tasks with a real target (benchmarks/encode_quality.py: leave-one-out history
retrieval and conversational requests), with its paired change against the float model.

Examples:
    .venv/bin/python benchmarks/encode_bench.py
    .venv/bin/python benchmarks/encode_bench.py --items 500 \
        --systems torch/length/t2,onnx-int8/length/t2
    .venv/bin/python benchmarks/encode_bench.py --model .encore/bundle/gen-000001/encoder
    .venv/bin/python benchmarks/encode_bench.py --items 200 --task ml-100k \
        --systems torch/length/t2,onnx-int8/length/t1,static/length/t1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # degrade gracefully on a shared CPU
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.is_dir():  # a worktree under /work/wt/NAME
    SHARED = ROOT.parents[1] / "shared" / "data"
REQUESTS = [ROOT / "eval" / "data" / "parser_table.jsonl",
            ROOT / "eval" / "data" / "parser_heldout.jsonl"]
DEFAULT_SYSTEMS = ("torch/length/t2,torch/order/t2,torch/length/t2/len64,torch/length/t1,"
                   "onnx/length/t2,onnx/order/t2,onnx-int8/length/t2,onnx-int8/order/t2,"
                   "onnx-int8/length/t1")
K = 200
BACKENDS = ("torch", "onnx", "onnx-int8", "static")


@dataclass(frozen=True)
class System:
    """One row of the table: backend, batching, threads and token limit."""

    backend: str
    by_length: bool
    threads: int
    max_len: int = 128
    layers: int = 0  # 0: all of the model's

    @classmethod
    def parse(cls, spec: str) -> System:
        parts = spec.strip().split("/")
        if parts[0] not in BACKENDS or len(parts) < 3:
            raise SystemExit(f"bad system {spec!r}: write BACKEND/length|order/tN[/lenN]"
                             f"[/layersN], BACKEND one of {', '.join(BACKENDS)}")
        extra = {p[:3]: int(p.lstrip("lenayrs")) for p in parts[3:]}
        max_len, layers = extra.get("len", 128), extra.get("lay", 0)
        if parts[0] != "torch" and (max_len != 128 or layers):
            raise SystemExit(f"{spec}: token limits and layer cuts are for torch only")
        return cls(parts[0], parts[1] == "length", int(parts[2][1:]), max_len, layers)

    @property
    def name(self) -> str:
        return (f"{self.backend}/{'length' if self.by_length else 'order'}/t{self.threads}"
                + (f"/len{self.max_len}" if self.max_len != 128 else "")
                + (f"/layers{self.layers}" if self.layers else ""))

    @property
    def space(self) -> tuple[str, int, int]:
        """Systems with the same space make the same vectors (threads and batching aside)."""
        return self.backend, self.max_len, self.layers

    def at(self, threads: int) -> System:
        """This system's space, encoding by length with ``threads``."""
        return System(self.backend, True, threads, self.max_len, self.layers)


FLOAT = System("torch", True, 2)
"""The reference: the float torch model, token limit 128, all layers."""


# -- data ------------------------------------------------------------------------------


def catalogs(refs: str) -> list[tuple[str, list[str]]]:
    """``(name, item texts)`` of each catalog named in ``refs`` (comma-separated)."""
    from retrieval.encoder import item_text

    out = []
    for ref in refs.split(","):
        ref = ref.strip()
        if ref == "demo":
            from retrieval.demo import load_demo_catalog

            name, catalog = "demo catalog", load_demo_catalog()
        else:
            from retrieval.dataset import load_dataset

            if ref == "ml-latest-small":
                ref = f"movielens:{SHARED / 'ml-latest-small'}"
            ds = load_dataset(ref)
            name, catalog = ds.name, ds.catalog
        out.append((name, [item_text(it) for it in catalog]))
    return out


def spread(texts: list[str], n: int) -> list[str]:
    """``n`` texts spread evenly over the list (all of them when it is shorter)."""
    if n >= len(texts):
        return list(texts)
    return [texts[i] for i in np.linspace(0, len(texts) - 1, n).astype(int)]


def request_messages() -> list[str]:
    rows = []
    for path in REQUESTS:
        if path.is_file():
            rows += [json.loads(line)["message"] for line in path.read_text().splitlines()
                     if line.strip()]
    return [r for r in rows if r.strip()]  # the parser's tables test an empty message too


# -- encoders ----------------------------------------------------------------------------


class Encoders:
    """The torch model, what is made from it (ONNX exports, the static distillation, layer
    cuts) for the ``backends`` asked for, and an encode function per system."""

    def __init__(self, model: str, batch_size: int, tmp: Path, backends: set[str]) -> None:
        from retrieval.encoder import load_encoder
        from retrieval.encoder_onnx import export_onnx, quantize_onnx
        from retrieval.encoder_static import distill_static

        t = time.perf_counter()
        self.torch = load_encoder(model, max_seq_length=128, batch_size=batch_size)
        self.seconds = {"load": time.perf_counter() - t}
        self.folders: dict[str, Path] = {}
        if backends & {"onnx", "onnx-int8"}:
            t = time.perf_counter()
            self.folders["onnx"] = export_onnx(self.torch.model, tmp / "onnx", backend="onnx")
            self.seconds["ONNX export"] = time.perf_counter() - t
        if "onnx-int8" in backends:
            t = time.perf_counter()
            self.folders["onnx-int8"] = quantize_onnx(self.folders["onnx"], tmp / "int8")
            self.seconds["int8 quantisation"] = time.perf_counter() - t
        if "static" in backends:
            t = time.perf_counter()
            self.folders["static"] = distill_static(self.torch.model, tmp / "static")
            self.seconds["static distillation"] = time.perf_counter() - t
        self.batch_size = batch_size
        self._made: dict[tuple[Any, ...], Any] = {}
        self._layers = self.torch.model[0].auto_model.encoder.layer

    def encode(self, system: System, texts: list[str]) -> np.ndarray:
        """Encode ``texts`` as ``system`` does (threads set first, outside any timing)."""
        enc = self._prepare(system)
        if system.by_length:
            return enc.encode(texts)
        bs = self.batch_size
        return np.vstack([enc.encode(texts[i:i + bs]) for i in range(0, len(texts), bs)])

    def _prepare(self, system: System) -> Any:
        import torch

        torch.set_num_threads(system.threads)
        if system.backend == "torch":
            self.torch.model.max_seq_length = system.max_len
            # a layer cut: the first N layers of the same model (bench only)
            self.torch.model[0].auto_model.encoder.layer = (
                self._layers[:system.layers] if system.layers else self._layers)
            return self.torch
        key = (system.backend, system.threads)
        if key not in self._made:
            if system.backend == "static":
                from retrieval.encoder_static import StaticEncoder

                self._made[key] = StaticEncoder.load(self.folders["static"])
            else:
                from retrieval.encoder_onnx import OnnxEncoder

                self._made[key] = OnnxEncoder(self.folders[system.backend],
                                              batch_size=self.batch_size,
                                              threads=system.threads)
        return self._made[key]

    def as_encoder(self, system: System) -> Any:
        """An :class:`~retrieval.encoder.Encoder` encoding as ``system`` does."""
        owner, dim = self, self._prepare(system).dim

        class Bound:
            def __init__(self) -> None:
                self.dim = dim

            def encode(self, texts: Any) -> np.ndarray:
                return owner.encode(system, list(texts))

        return Bound()

    def token_lengths(self, texts: list[str]) -> list[int]:
        """Tokens of each text, special ones included, up to the limit of 128."""
        from tokenizers import Tokenizer

        fast = Tokenizer.from_str(self.torch.model[0].tokenizer.backend_tokenizer.to_str())
        fast.no_padding()
        return [min(len(e.ids), 128) for e in fast.encode_batch(texts)]


# -- measures ----------------------------------------------------------------------------


def throughput(encoders: Encoders, systems: list[System], texts: list[str], repeats: int
               ) -> dict[System, list[float]]:
    """Items/s of each run of each system; systems take turns within each repeat."""
    runs: dict[System, list[float]] = {s: [] for s in systems}
    for s in systems:
        encoders.encode(s, texts[:encoders.batch_size])  # warm-up (sessions, allocations)
    for _ in range(repeats):
        for s in systems:
            encoders._prepare(s)
            t = time.perf_counter()
            vecs = encoders.encode(s, texts)
            runs[s].append(len(texts) / (time.perf_counter() - t))
            assert vecs.shape[0] == len(texts) and np.isfinite(vecs).all()  # noqa: S101
    return runs


def top_k(queries: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ items.T
    k = min(k, items.shape[0])
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of each row of ``b`` found in the same row of ``a``."""
    return float(np.mean([len(np.intersect1d(x, y)) / len(y) for x, y in zip(a, b, strict=True)]))


def recall_at_k(encoders: Encoders, systems: list[System], catalog: list[str],
                n_queries: int, threads: int) -> dict[tuple[str, int], tuple[float, float]]:
    """Recall@200 vs the float torch model, per vector space: ``(item to item, requests)``."""
    requests = request_messages()
    picks = np.linspace(0, len(catalog) - 1, min(n_queries, len(catalog))).astype(int)
    spaces = {FLOAT.space: FLOAT.at(threads), **{s.space: s.at(threads) for s in systems}}
    vecs = {}
    for space, system in sorted(spaces.items()):
        vecs[space] = (encoders.encode(system, catalog), encoders.encode(system, requests))
    ref_items, ref_req = vecs[FLOAT.space]
    ref = (top_k(ref_items[picks], ref_items, K), top_k(ref_req, ref_items, K))
    out = {}
    for space, (items, req) in vecs.items():
        out[space] = (overlap(top_k(items[picks], items, K), ref[0]),
                      overlap(top_k(req, items, K), ref[1]))
    return out


def cosines(encoders: Encoders, systems: list[System], texts: list[str], threads: int
            ) -> dict[tuple[str, int], tuple[float, float]]:
    """Mean and lowest cosine of each space's item vectors to the float torch ones."""
    ref = encoders.encode(FLOAT.at(threads), texts)
    out = {}
    for space, system in sorted({s.space: s.at(threads) for s in systems}.items()):
        vecs = encoders.encode(system, texts)
        if vecs.shape != ref.shape:  # another space (the static model's 256-d): no cosine
            out[space] = (float("nan"), float("nan"))
            continue
        cos = (vecs * ref).sum(1)
        out[space] = (float(cos.mean()), float(cos.min()))
    return out


def task_quality(encoders: Encoders, systems: list[System], ref: str, threads: int
                 ) -> dict[Any, dict[str, Any]]:
    """Recall@200 on the tasks of benchmarks/encode_quality.py, per vector space (the float
    torch model first: the changes are against it)."""
    from encode_quality import TaskData, format_recall, task_recall

    if ref == "ml-100k":
        ref = f"movielens:{SHARED / 'ml-100k'}"
    data = TaskData(ref)
    spaces = {FLOAT.space: FLOAT.at(threads), **{s.space: s.at(threads) for s in systems}}
    got = task_recall(data, {space: encoders.as_encoder(s) for space, s in spaces.items()})
    print(f"\ntask quality on {data.name} ({len(data.split.test)} users, {len(data.cases)} "
          f"requests): Recall@{K}, change vs float torch ± its paired standard error")
    print(f"{'vector space':<28}{'history (leave-one-out)':>38}{'requests':>38}")
    for space, r in got.items():
        print(f"{spaces[space].name.split('/')[0] + _space_note(space):<28}"
              f"{format_recall(r['history']):>38}{format_recall(r['requests']):>38}")
    return got


def _space_note(space: tuple[str, int, int]) -> str:
    return (f" len{space[1]}" if space[1] != 128 else "") + \
        (f" layers{space[2]}" if space[2] else "")


def warm_cache(encoders: Encoders, texts: list[str]) -> float:
    """Items/s of a warm embedding cache (every text a hit)."""
    from retrieval.embedding_cache import CachedEncoder, EmbeddingCache

    with tempfile.TemporaryDirectory() as tmp:
        cached = CachedEncoder(encoders.torch, EmbeddingCache(tmp))
        uniq = list(dict.fromkeys(texts))
        cached.encode(uniq)
        t = time.perf_counter()
        cached.encode(uniq)
        return len(uniq) / (time.perf_counter() - t)


# -- report ------------------------------------------------------------------------------


def table(name: str, n: int, tokens: float, runs: dict[System, list[float]],
          recall: dict[Any, tuple[float, float]],
          cos: dict[Any, tuple[float, float]]) -> dict[System, float]:
    """Print one catalog's table; the median items/s of each system."""
    base = statistics.median(next(iter(runs.values())))
    print(f"\n{name}: {n} item texts, {tokens:.1f} tokens on average; "
          f"Recall@{K} vs float torch (len 128): item to item / requests; load {_load()}")
    print(f"{'system':<28}{'items/s':>10}{'runs':>24}{'x':>7}{'R@200 i2i':>11}"
          f"{'R@200 req':>11}{'cos mean':>10}{'cos min':>9}")
    medians = {}
    for s, r in runs.items():
        med = statistics.median(r)
        medians[s] = med
        rec = recall.get(s.space, (float("nan"), float("nan")))
        c = cos.get(s.space, (float("nan"), float("nan")))
        shown = ",".join(f"{v:.0f}" for v in r)
        print(f"{s.name:<28}{med:>10.1f}{shown:>24}{med / base:>7.2f}{rec[0]:>11.4f}"
              f"{rec[1]:>11.4f}{c[0]:>10.5f}{c[1]:>9.5f}")
    return medians


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="model name or folder")
    p.add_argument("--data", default="demo,ml-latest-small",
                   help="catalogs, comma-separated: demo, ml-latest-small, or a data set "
                        "reference (movielens:PATH, a catalog file)")
    p.add_argument("--items", type=int, default=1000, help="texts per run, per catalog")
    p.add_argument("--systems", default=DEFAULT_SYSTEMS, help="comma-separated, see above")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--queries", type=int, default=300, help="item-to-item queries")
    p.add_argument("--recall-items", type=int, default=0,
                   help="catalog items the recall is measured over (0: all)")
    p.add_argument("--task", default="ml-100k",
                   help="data set of the task-quality measure (ml-100k or movielens:PATH; "
                        "'' to skip it)")
    args = p.parse_args(argv)
    if args.repeats < 3:
        p.error("--repeats must be at least 3 (the median of three runs or more)")
    systems = [System.parse(s) for s in args.systems.split(",")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    data = catalogs(args.data)
    start_load = _load()
    with tempfile.TemporaryDirectory(prefix="encode-bench-") as tmp:
        encoders = Encoders(args.model, args.batch_size, Path(tmp),
                            {s.backend for s in systems})
        import onnxruntime
        import torch

        made = ", ".join(f"{k} {v:.1f} s" for k, v in encoders.seconds.items())
        print(f"model {encoders.torch.name} (dim {encoders.torch.dim}); {made}; torch "
              f"{torch.__version__}, onnxruntime {onnxruntime.__version__}; batch size "
              f"{args.batch_size}; {cores} cores; load average at start {start_load}")
        summary = []
        t2 = max(s.threads for s in systems)
        for name, texts in data:
            sample = spread(texts, args.items)
            lengths = encoders.token_lengths(sample)
            runs = throughput(encoders, systems, sample, args.repeats)
            corpus = spread(texts, args.recall_items or len(texts))
            recall = recall_at_k(encoders, systems, corpus, args.queries, t2)
            cos = cosines(encoders, systems, sample, t2)
            medians = table(name, len(sample), float(np.mean(lengths)), runs, recall, cos)
            summary.append((name, medians, recall))
        task = task_quality(encoders, systems, args.task, t2) if args.task else {}
        uniq = spread(list(dict.fromkeys(data[0][1])), 500)  # filled once, uncached
        print(f"\nwarm embedding cache: {warm_cache(encoders, uniq):,.0f} items/s "
              f"({len(uniq)} distinct texts, all hits)")
    print(_result(summary, task, start_load))


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _task_note(task: dict[Any, dict[str, Any]], space: Any) -> str:
    if space not in task:
        return ""
    h, r = task[space]["history"], task[space]["requests"]
    return (f", task Recall@{K} {100 * h.relative:+.1f}% history / "
            f"{100 * r.relative:+.1f}% requests")


def _result(summary: list[tuple[str, dict[System, float], dict[Any, tuple[float, float]]]],
            task: dict[Any, dict[str, Any]], start_load: str) -> str:
    """The first system, the fastest, and the fastest within 1% of the float model's task
    Recall@200 on both tasks (agreement when no task was measured)."""
    def within(s: System) -> bool:
        if task:
            return s.space in task and min(t.relative for t in task[s.space].values()) >= -0.01
        return min(summary_recall.get(s.space, (0.0, 0.0))) >= 0.99

    parts = []
    for name, medians, summary_recall in summary:
        base = next(iter(medians))
        fastest = max(medians, key=lambda s: medians[s])
        kept = max([s for s in medians if within(s)] or [base], key=lambda s: medians[s])
        line = f"{name}: {base.name} {medians[base]:.0f} items/s"
        for label, s in (("fastest", fastest), ("fastest within 1%", kept)):
            rec = summary_recall.get(s.space, (float("nan"), float("nan")))
            line += (f"; {label} {s.name} {medians[s]:.0f} items/s "
                     f"({medians[s] / medians[base]:.1f}x, agreement@{K} {rec[0]:.3f} / "
                     f"{rec[1]:.3f}{_task_note(task, s.space)})")
        parts.append(line)
    return (f"RESULT encode (medians; target 1,000 items/s within 1% task Recall@{K}): "
            f"{' | '.join(parts)}; load average {start_load} at start, {_load()} at end")


if __name__ == "__main__":
    main()
