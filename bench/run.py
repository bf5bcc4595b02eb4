"""`make bench`: throughput of each pipeline stage on synthetic data, measured in one process, one run.

Prints rows/s of ingestion, texts/s of embedding (cold cache, then warm), training seconds, scoring
customers/s and peak memory, and writes the same table to bench/out/pipeline.md. Not a test:
these machines are noisy, so read the ratios, not the absolute values.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from embeddings.cache import CachedEncoder, EmbeddingCache
    from embeddings.encoder import load_encoder
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables
    from service.tables import load_tables

    rows = []
    work = Path(tempfile.mkdtemp(prefix="insight-bench-"))
    t = time.perf_counter()
    tables = generate(args.customers, seed=args.seed)
    data = work / "data"
    write_tables(tables, data)
    rows.append(("synthesize + write CSV", time.perf_counter() - t, f"{args.customers:,} customers"))

    t = time.perf_counter()
    loaded = load_tables(data)
    dt = time.perf_counter() - t
    rows.append(("ingest + validate", dt, f"{loaded.n_read / dt:,.0f} rows/s ({loaded.n_read:,} rows)"))

    encoder = load_encoder(None)
    texts = list(dict.fromkeys(loaded.tables["reviews"]["text"].tolist() + loaded.tables["events"]["text"].tolist()))
    cache = EmbeddingCache(work / "cache.sqlite", encoder.model_id)
    cached = CachedEncoder(encoder, cache)
    t = time.perf_counter()
    cached.encode(texts)
    dt = time.perf_counter() - t
    rows.append(("embed, cold cache", dt, f"{len(texts) / dt:,.0f} texts/s ({len(texts):,} distinct texts)"))
    t = time.perf_counter()
    cached.encode(texts)
    dt = time.perf_counter() - t
    rows.append(("embed, warm cache", dt, f"{len(texts) / dt:,.0f} texts/s"))

    t = time.perf_counter()
    trained = train(loaded, work / "model", TrainOptions(compare_tabular=False), encoder=cached)
    dt = time.perf_counter() - t
    rows.append(("train (features, embeddings warm, models, tiers)", dt, f"stages: {trained.summary.stages}"))

    t = time.perf_counter()
    scored = score(loaded, work / "model", work / "profiles.db", encoder=cached)
    dt = time.perf_counter() - t
    rows.append(("score + SHAP + store + index", dt, f"{len(scored.frame) / dt:,.0f} customers/s ({len(scored.frame):,})"))

    header = (f"# pipeline benchmark\n\n{args.customers:,} synthetic customers, seed {args.seed}; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"peak RSS {peak_rss_mb():,.0f} MB\n\n| stage | seconds | throughput |\n|---|---:|---|\n")
    table = header + "".join(f"| {name} | {sec:.2f} | {info} |\n" for name, sec, info in rows)
    print(table)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "pipeline.md").write_text(table)


if __name__ == "__main__":
    main()
