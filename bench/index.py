"""Similar-customer search at scale: exact vs HNSW vs HNSW over PCA (vs IVF), latency per query, recall@10,
build time and memory.

    python -m bench.index --real bench/out/index-real --sizes 1000000 \\
        --json bench/out/index.json --results bench/results.md
    make bench-index          # the same, after scoring a 30k-customer store for the real vectors when missing

Vectors: with --real INDEX_DIR (a similar-customer index the pipeline scored: `bench.pipeline --keep-index`), the
real customer vectors of that run (tabular part + pooled review and browsing embeddings, 799 dimensions); sizes
above its count are filled by interpolating each drawn real customer towards one of its 10 nearest real
neighbours, plus a little noise (--mix local, the default): new customers that look like existing ones and keep
the clusters of the real cloud. --mix global mixes two random real customers (fills the space between clusters,
a harder cloud). Without --real, a clustered synthetic cloud of dimension --dim. Queries are stored customers
(a "customers like this one" lookup, the customer itself excluded, as the API does), answered one at a time on
one thread, as the API does; recall@10 is against exact search on the same vectors. Build uses both cores.
Memory is the growth of the process's resident set while the index is built (the index itself; the input
vectors are held by the benchmark and not counted). Every index goes through `embeddings.index.SimilarityIndex`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path

import numpy as np

# kind, build parameters, (search knob, values)
CONFIGS = {
    "hnsw": ("hnsw", {"hnsw_m": 32, "ef_construction": 80}, ("ef_search", (32, 64, 128))),
    "hnsw-pca128": (
        "hnsw-pca",
        {"pca_dim": 128, "hnsw_m": 32, "ef_construction": 80},
        (("ef_search", "refine_factor"), ((32, 4), (64, 4), (64, 8), (128, 8), (128, 16), (256, 16))),
    ),
    "hnsw-pca64": (
        "hnsw-pca",
        {"pca_dim": 64, "hnsw_m": 32, "ef_construction": 80},
        (("ef_search", "refine_factor"), ((64, 8), (128, 16))),
    ),
    "ivf": ("ivf", {}, ("nprobe", (16, 64))),
}


def customer_like_vectors(n: int, dim: int, seed: int, clusters: int = 2000, latent: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, latent)).astype(np.float32)
    proj = (rng.normal(size=(latent, dim)) / np.sqrt(latent)).astype(np.float32)
    x = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in blocks: bounded temporary memory at 1M x 800
        m = min(100_000, n - start)
        z = centres[rng.integers(0, clusters, m)] + rng.normal(scale=0.6, size=(m, latent)).astype(np.float32)
        x[start : start + m] = z @ proj + rng.normal(scale=0.15, size=(m, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _real_neighbours(real: np.ndarray, k: int) -> np.ndarray:
    """The k nearest real customers of every real customer (exact, blockwise), itself excluded."""
    nb = np.empty((len(real), k), np.int64)
    for s in range(0, len(real), 2048):
        sims = real[s : s + 2048] @ real.T
        sims[np.arange(len(sims)), np.arange(s, s + len(sims))] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        nb[s : s + len(sims)] = top
    return nb


def real_based_vectors(real: np.ndarray, n: int, seed: int, mix: str = "local", noise: float = 0.01) -> np.ndarray:
    if n <= len(real):
        return np.ascontiguousarray(real[:n])
    rng = np.random.default_rng(seed)
    extra = n - len(real)
    nb = _real_neighbours(real, 10) if mix == "local" else None
    x = np.empty((n, real.shape[1]), np.float32)
    x[: len(real)] = real
    for start in range(0, extra, 100_000):
        m = min(100_000, extra - start)
        a = rng.integers(0, len(real), m)
        b = nb[a, rng.integers(0, nb.shape[1], m)] if nb is not None else rng.integers(0, len(real), m)
        w = rng.uniform(0, 1, (m, 1)).astype(np.float32)
        x[len(real) + start : len(real) + start + m] = (
            w * real[a] + (1 - w) * real[b] + rng.normal(0, noise, (m, real.shape[1])).astype(np.float32)
        )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def recall_at_10(exact_ids, approx_ids, query_names) -> float:
    hits = [
        len(set([i for i in e if i != q][:10]) & set([i for i in a if i != q][:10])) / 10
        for q, e, a in zip(query_names, exact_ids, approx_ids)
    ]
    return float(np.mean(hits))


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def bench_size(
    n: int, dim: int, queries: int, seed: int, real: np.ndarray | None, configs: list[str], mix: str, log
) -> list[dict]:
    import faiss

    from embeddings.index import SimilarityIndex

    t0 = time.perf_counter()
    x = customer_like_vectors(n, dim, seed) if real is None else real_based_vectors(real, n, seed, mix)
    dim = x.shape[1]
    source = (
        "synthetic cloud"
        if real is None
        else f"real ({n:,})"
        if n <= len(real)
        else f"{len(real):,} real + {n - len(real):,} {mix} mixes"
    )
    log(f"{n:,} vectors ({source}) in {time.perf_counter() - t0:.0f} s")
    names = [f"c{i}" for i in range(n)]
    rng = np.random.default_rng(seed + 1)
    q_idx = rng.choice(n, queries, replace=False)
    q = x[q_idx]
    q_names = [names[i] for i in q_idx]

    # Ground truth and the exact baseline's latency: brute force, one query at a time on one thread.
    faiss.omp_set_num_threads(1)
    t0 = time.perf_counter()
    exact_ids = []
    for v in q:
        sims = x @ v
        top = np.argpartition(-sims, 11)[:11]
        exact_ids.append([names[i] for i in top[np.argsort(-sims[top])]])
    ms_exact = (time.perf_counter() - t0) / len(q) * 1000
    rows = [
        {
            "n": n,
            "dim": dim,
            "vectors": source,
            "kind": "flat (exact, numpy)",
            "config": "flat",
            "params": "-",
            "param": "-",
            "build_s": 0.0,
            "memory_mb": n * dim * 4 / 2**20,
            "ms_per_query_single": ms_exact,
            "recall_at_10": 1.0,
        }
    ]
    log(f"  exact: {ms_exact:.2f} ms/query")

    for name in configs:
        kind, params, (knob, values) = CONFIGS[name]
        gc.collect()
        faiss.omp_set_num_threads(os.cpu_count() or 2)
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        index = SimilarityIndex.build(names, x, kind=kind, seed=seed, **params)
        build = time.perf_counter() - t0
        memory = _rss_mb() - rss0
        log(f"  {name}: built in {build:.0f} s, +{memory:,.0f} MB")
        faiss.omp_set_num_threads(1)  # the API answers one query at a time
        for value in values:
            knobs, vals = (knob, value) if isinstance(knob, tuple) else ((knob,), (value,))
            for kn, v in zip(knobs, vals):
                setattr(index, kn, v)
            index.search(q[:10], 11)  # warm-up
            t0 = time.perf_counter()
            ids = [index.search(v[None, :], 11)[0][0] for v in q]
            ms = (time.perf_counter() - t0) / len(q) * 1000
            r = recall_at_10(exact_ids, ids, q_names)
            rows.append(
                {
                    "n": n,
                    "dim": dim,
                    "vectors": source,
                    "kind": kind,
                    "config": name,
                    "params": ", ".join(f"{k}={v}" for k, v in params.items()),
                    "param": ", ".join(f"{k}={v}" for k, v in zip(knobs, vals)),
                    "build_s": build,
                    "memory_mb": memory,
                    "ms_per_query_single": ms,
                    "recall_at_10": r,
                }
            )
            log(f"    {rows[-1]['param']}: {ms:.3f} ms/query, recall@10 {r:.3f}")
        del index
    return rows


def markdown(result: dict) -> str:
    out = (
        f"Produced by `make bench-index` (`python -m bench.index`). {result['queries']} queries per size "
        "(stored customers, themselves excluded), k = 10, one query at a time on one thread (the API's pattern); "
        "recall@10 against exact search. "
        f"Build on {result['cpus']} cores; memory = resident-set growth while the index is built. "
        f"Load average during the run: {result['load_before']} before, {result['load_after']} after (shared machine)."
        + (
            " Rows of other configs come from an earlier run on the same vectors "
            f"(`--merge {result['merged_from']['file']}`, "
            f"load {result['merged_from']['load_before']} before, {result['merged_from']['load_after']} after)."
            if result.get("merged_from")
            else ""
        )
        + "\n\n"
        "| vectors | n | dim | index | build parameters | search | build s | memory MB | ms / query | recall@10 |\n"
        "|---|---:|---:|---|---|---|---:|---:|---:|---:|\n"
    )
    out += "".join(
        f"| {r['vectors']} | {r['n']:,} | {r['dim']} | {r['kind']} | {r['params']} | {r['param']} "
        f"| {r['build_s']:.0f} | "
        f"{r['memory_mb']:,.0f} | {r['ms_per_query_single']:.3f} | {r['recall_at_10']:.3f} |\n"
        for r in result["rows"]
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--configs", nargs="+", default=["hnsw-pca128", "hnsw"], choices=sorted(CONFIGS))
    ap.add_argument("--dim", type=int, default=800)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real", type=Path, default=None, help="similar-customer index folder whose vectors to use")
    ap.add_argument("--mix", choices=["local", "global"], default="local")
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument(
        "--results", type=Path, default=None, help="rewrite the similar-customer section of this results.md"
    )
    ap.add_argument(
        "--merge",
        type=Path,
        default=None,
        help="keep the rows of configs not run now from this earlier bench.index JSON (same vectors and sizes)",
    )
    args = ap.parse_args()

    def log(msg):
        print(msg, flush=True)

    real = None
    if args.real is not None:
        from embeddings.index import SimilarityIndex

        real = SimilarityIndex.load(args.real).vectors()
    result = {
        "queries": args.queries,
        "dim": args.dim,
        "cpus": os.cpu_count(),
        "load_before": round(os.getloadavg()[0], 1),
        "rows": [],
    }
    for n in args.sizes:
        result["rows"] += bench_size(n, args.dim, args.queries, args.seed, real, args.configs, args.mix, log)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    result["load_after"] = round(os.getloadavg()[0], 1)
    if args.merge is not None and args.merge.is_file():
        old = json.loads(args.merge.read_text())
        kept = [r for r in old["rows"] if r.get("config") not in set(args.configs) | {"flat"} and r["n"] in args.sizes]
        result["rows"] += kept
        result["merged_from"] = {
            "file": str(args.merge),
            "rows": len(kept),
            "load_before": old.get("load_before"),
            "load_after": old.get("load_after"),
        }
    args.json.write_text(json.dumps(result, indent=1))
    if args.results is not None:
        from bench.embeddings import write_section

        write_section(args.results, "Similar-customer search at scale", markdown(result))
        log(f"wrote the similar-customer section of {args.results}")


if __name__ == "__main__":
    main()
