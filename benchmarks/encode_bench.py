"""Benchmark text encoding: items per second through :func:`retrieval.encoder.load_encoder`,
for several batch sizes, and through a warm :class:`retrieval.embedding_cache.EmbeddingCache`.

The texts are real item texts (:func:`retrieval.encoder.item_text`) of the catalog given
with ``--data`` (default: ml-100k from ../shared/data when present, else the bundled demo
catalog), repeated or cut to ``--items``. Each setting runs one warm-up batch, then encodes
all texts ``--repeats`` times; the best run is reported (the machine is shared). Torch uses
``--threads`` CPU threads (default: all cores).

Examples:
    .venv/bin/python benchmarks/encode_bench.py
    .venv/bin/python benchmarks/encode_bench.py --model path/to/finetuned --batch-sizes 32,128
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # degrade gracefully on a shared CPU
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


def _texts(data: str | None, n: int) -> tuple[str, list[str]]:
    from retrieval.encoder import item_text

    if data is None:
        data = f"movielens:{ML100K}" if (ML100K / "u.item").is_file() else None
    if data is None:
        from retrieval.demo import load_demo_catalog

        name, catalog = "demo catalog", load_demo_catalog()
    else:
        from retrieval.dataset import load_dataset

        ds = load_dataset(data)
        name, catalog = ds.name, ds.catalog
    texts = [item_text(it) for it in catalog]
    out = (texts * (n // len(texts) + 1))[:n]
    return name, out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="all-MiniLM-L6-v2", help="model name or folder")
    p.add_argument("--data", default=None, help="data set whose item texts are encoded")
    p.add_argument("--items", type=int, default=2000, help="texts per run")
    p.add_argument("--batch-sizes", default="16,64,256", help="comma-separated")
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from retrieval.embedding_cache import CachedEncoder, EmbeddingCache
    from retrieval.encoder import load_encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    name, texts = _texts(args.data, args.items)
    t0 = time.perf_counter()
    enc = load_encoder(args.model, max_seq_length=args.max_seq_length)
    load_s = time.perf_counter() - t0
    tokens = enc.model.preprocess(texts[:256])["attention_mask"].sum(dim=1).float()
    print(f"model {enc.name} (dim {enc.dim}, max_seq_length {enc.max_seq_length}), loaded in "
          f"{load_s:.1f} s; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores")
    print(f"texts: {len(texts)} item texts of {name}, {tokens.mean():.1f} tokens on average "
          f"(max {int(tokens.max())})")
    print(f"{'batch':>6} {'items/s':>9} {'ms/item':>8}")
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        enc.batch_size = bs
        enc.encode(texts[:bs])  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            vecs = enc.encode(texts)
            best = min(best, time.perf_counter() - t)
        assert vecs.shape == (len(texts), enc.dim) and np.isfinite(vecs).all()
        print(f"{bs:>6} {len(texts) / best:>9.1f} {1000 * best / len(texts):>8.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        enc.batch_size = 64
        cached = CachedEncoder(enc, EmbeddingCache(tmp))
        uniq = list(dict.fromkeys(texts))
        cached.encode(uniq)
        t = time.perf_counter()
        cached.encode(uniq)
        hit_s = time.perf_counter() - t
        print(f"warm cache: {len(uniq) / hit_s:,.0f} items/s "
              f"({len(uniq)} distinct texts, all hits)")


if __name__ == "__main__":
    main()
