"""`make bench-api`: latency and throughput of the HTTP API, over loopback, against a real `insight serve` process.

Starts `insight serve` on 127.0.0.1 (a free port) over a demo store (built here unless --store is given), then for each
endpoint sends a bounded number of requests (--requests, and at most --seconds each) from --concurrency client threads
with keep-alive connections, and reports p50/p95/p99 latency, throughput and errors:

- profile        GET  /v1/customers/{id}
- explanation    GET  /v1/customers/{id}/explanation
- similar        GET  /v1/customers/{id}/similar?k=10
- ask            POST /v1/ask (routed questions, mixed intents)
- score 1x10     POST /v1/score: one new customer with 3 orders and 10 texts (5 reviews, 5 browsing events), texts unique per
                 request so every request embeds 10 new texts (cold embedding cache)

Then recall@10 of the approximate (HNSW) similar-customer index against exact search, on the store's own customer vectors
and on a larger set derived from them. Writes bench/out/api.md. Exits 1 when any request failed.
"""
from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

HOST = "127.0.0.1"  # loopback only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def build_store(workdir: Path, customers: int, seed: int) -> Path:
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    data, model, store = workdir / "data", workdir / "model", workdir / "profiles.db"
    print(f"building a demo store with {customers:,} customers in {workdir} ...", flush=True)
    write_tables(generate(customers, seed=seed), data)
    train(data, model, TrainOptions(seed=seed, compare_tabular=False))
    score(data, model, store)
    return store


def start_server(store: Path, key: str, port: int, log_path: Path, extra_env: dict | None = None) -> subprocess.Popen:
    import httpx

    script = Path(sys.executable).parent / "insight"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]
    env = {**os.environ, "INSIGHT_API_KEYS": f"{key}:admin", **(extra_env or {})}
    proc = subprocess.Popen(cmd + ["serve", "--store", str(store), "--host", HOST, "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"insight serve exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://{HOST}:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("insight serve did not become ready in 180 s")


class Phase:
    def __init__(self, name: str):
        self.name = name
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.wall = 0.0
        self.concurrency = 1

    def row(self) -> dict:
        lat = np.asarray(self.latencies) * 1000 if self.latencies else np.asarray([np.nan])
        n = len(self.latencies)
        return {"endpoint": self.name, "requests": n, "errors": len(self.errors), "concurrency": self.concurrency,
                "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)), "p99": float(np.percentile(lat, 99)),
                "rps": n / self.wall if self.wall else 0.0}


def run_phase(name: str, base: str, key: str, make_request, n: int, seconds: float, concurrency: int) -> Phase:
    """``make_request(i) -> (method, path, json)``; n requests at most, stops starting new ones after ``seconds``."""
    import httpx

    phase = Phase(name)
    phase.concurrency = concurrency
    counter = {"i": 0}
    lock = threading.Lock()
    t_end = time.perf_counter() + seconds

    def worker():
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as c:
            while True:
                with lock:
                    i = counter["i"]
                    if i >= n or time.perf_counter() > t_end:
                        return
                    counter["i"] += 1
                method, path, body = make_request(i)
                t0 = time.perf_counter()
                try:
                    r = c.request(method, path, json=body)
                    dt = time.perf_counter() - t0
                    if r.status_code != 200:
                        phase.errors.append(f"{r.status_code} {path}: {r.text[:200]}")
                    else:
                        phase.latencies.append(dt)
                except Exception as exc:
                    phase.errors.append(f"{type(exc).__name__}: {exc}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    phase.wall = time.perf_counter() - t0
    return phase


def cold_start_body(i: int, tag: str) -> dict:
    cid = f"BENCH-{tag}-{i}"
    orders = [{"order_id": f"{cid}-o{j}", "customer_id": cid, "order_ts": f"2025-1{j}-1{j}T10:00:00Z", "amount": 40.0 + 15 * j,
               "category": "electronics"} for j in range(3)]
    reviews = [{"review_id": f"{cid}-r{j}", "customer_id": cid, "review_ts": f"2025-1{j % 3}-2{j}T10:00:00Z", "rating": 3 + j % 3,
                "text": f"Review {j} of request {i} ({tag}): the headphones sound great but the case feels cheap."} for j in range(5)]
    events = [{"customer_id": cid, "event_ts": f"2025-12-0{j + 1}T10:00:00Z", "event_type": "view" if j % 2 else "search",
               "text": f"noise cancelling headphones model {tag}-{i}-{j}"} for j in range(5)]
    return {"tables": {"orders": orders, "reviews": reviews, "events": events}, "similar_k": 5}


def recall_at_10(store: Path, scale_n: int, seed: int, queries: int = 500) -> list[dict]:
    """Recall@10 of HNSW against exact search, on the store's vectors and on a larger set derived from them."""
    from bench.index import real_based_vectors
    from bench.index import recall_at_10 as recall
    from embeddings.index import SimilarityIndex
    from service.store import index_dir

    real = SimilarityIndex.load(index_dir(store)).vectors()
    rng = np.random.default_rng(seed)
    sets = [("store vectors", real)]
    if scale_n > len(real):
        # The real vectors plus convex mixes of two real customers with a little noise, up to scale_n.
        sets.append((f"{scale_n:,} derived vectors", real_based_vectors(real, scale_n, seed)))
    out = []
    for label, x in sets:
        names = [f"v{i}" for i in range(len(x))]
        t0 = time.perf_counter()
        exact = SimilarityIndex.build(names, x, approximate_above=len(x) + 1)
        t_exact_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        hnsw = SimilarityIndex.build(names, x, approximate_above=0)
        t_hnsw_build = time.perf_counter() - t0
        q_idx = rng.choice(len(x), min(queries, len(x)), replace=False)
        q = x[q_idx]
        t0 = time.perf_counter()
        e_ids, _ = exact.search(q, 11)
        t_exact = (time.perf_counter() - t0) / len(q)
        for ef in (64, 128):
            hnsw.ef_search = ef
            t0 = time.perf_counter()
            h_ids, _ = hnsw.search(q, 11)
            t_h = (time.perf_counter() - t0) / len(q)
            rec = recall(e_ids, h_ids, [names[qi] for qi in q_idx])
            out.append({"set": label, "n": len(x), "dim": x.shape[1], "ef_search": ef, "recall": float(rec),
                        "exact_ms": t_exact * 1000, "hnsw_ms": t_h * 1000, "hnsw_build_s": t_hnsw_build, "exact_build_s": t_exact_build})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, help="Existing profile store (default: build a demo store)")
    ap.add_argument("--customers", type=int, default=2000, help="Customers of the demo store built when --store is not given")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=400, help="Requests per read endpoint (upper bound)")
    ap.add_argument("--score-requests", type=int, default=40, help="Cold-start score requests (upper bound)")
    ap.add_argument("--seconds", type=float, default=30.0, help="Time limit per endpoint")
    ap.add_argument("--concurrency", type=int, default=4, help="Client threads for the read endpoints")
    ap.add_argument("--scale-n", type=int, default=60000, help="Size of the derived vector set for recall@10 (0: skip)")
    args = ap.parse_args()

    import httpx

    from service.store import ProfileStore

    work = Path(tempfile.mkdtemp(prefix="insight-bench-api-"))
    store = args.store or build_store(work, args.customers, args.seed)
    if args.store is not None:  # never write into the caller's store: serve a copy
        from service.store import index_dir

        shutil.copy(args.store, work / "profiles.db")
        shutil.copytree(index_dir(args.store), index_dir(work / "profiles.db"))
        store = work / "profiles.db"
    ps = ProfileStore(store)
    meta = ps.meta()
    ids = [r["customer_id"] for r in ps.top(limit=10**9)]
    ps.close()
    rng = np.random.default_rng(args.seed)
    sample = [ids[i] for i in rng.integers(0, len(ids), max(args.requests, 1))]

    key = secrets.token_urlsafe(24)
    port = _free_port()
    base = f"http://{HOST}:{port}"
    proc = start_server(store, key, port, work / "server.log", {"INSIGHT_CACHE_DIR": str(work / "cache")})
    phases: list[Phase] = []
    try:
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=300) as c:  # warm-up, not measured
            for cid in sample[:20]:
                c.get(f"/v1/customers/{cid}/explanation")
            r = c.post("/v1/score", json=cold_start_body(0, "warmup"))
            if r.status_code != 200:
                raise SystemExit(f"warm-up score failed: {r.status_code} {r.text[:300]}")
        questions = ["why is this customer in their tier?", "is she about to churn?", "what would move them up a tier?",
                     "who else is like this customer?", "how much will he spend?"]
        C = args.concurrency
        phases.append(run_phase("GET /v1/customers/{id}", base, key, lambda i: ("GET", f"/v1/customers/{sample[i % len(sample)]}", None),
                                args.requests, args.seconds, C))
        phases.append(run_phase("GET /v1/customers/{id}/explanation", base, key,
                                lambda i: ("GET", f"/v1/customers/{sample[i % len(sample)]}/explanation", None), args.requests, args.seconds, C))
        phases.append(run_phase("GET /v1/customers/{id}/similar?k=10", base, key,
                                lambda i: ("GET", f"/v1/customers/{sample[i % len(sample)]}/similar?k=10", None), args.requests, args.seconds, C))
        phases.append(run_phase("POST /v1/ask (5 intents)", base, key,
                                lambda i: ("POST", "/v1/ask", {"customer_id": sample[i % len(sample)], "question": questions[i % len(questions)]}),
                                args.requests, args.seconds, C))
        tag = secrets.token_hex(3)
        phases.append(run_phase("POST /v1/score (1 customer, 10 texts)", base, key, lambda i: ("POST", "/v1/score", cold_start_body(i, tag)),
                                args.score_requests, args.seconds * 2, 1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()

    rec = recall_at_10(store, args.scale_n, args.seed) if args.scale_n >= 0 else []
    rows = [p.row() for p in phases]
    errors = sum(r["errors"] for r in rows)
    head = (f"# API benchmark\n\n`insight serve` on {HOST} (loopback), store of {meta.get('customers', len(ids)):,} customers "
            f"(model {meta['model_version']}); {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
            f"Client and server share the machine. Bounds: {args.requests} requests / {args.seconds:.0f} s per read endpoint, "
            f"{args.score_requests} score requests.\n\n")
    table = "| endpoint | requests | concurrency | p50 ms | p95 ms | p99 ms | req/s | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    table += "".join(f"| {r['endpoint']} | {r['requests']} | {r['concurrency']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
                     f"{r['rps']:.1f} | {r['errors']} |\n" for r in rows)
    rtable = ""
    if rec:
        rtable = ("\n## Similar customers: approximate (HNSW, M=32, efConstruction=80) vs exact recall@10\n\n"
                  "| vectors | n | dim | efSearch | recall@10 | exact ms/query | HNSW ms/query | HNSW build s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
        rtable += "".join(f"| {r['set']} | {r['n']:,} | {r['dim']} | {r['ef_search']} | {r['recall']:.3f} | {r['exact_ms']:.3f} | "
                          f"{r['hnsw_ms']:.3f} | {r['hnsw_build_s']:.1f} |\n" for r in rec)
        rtable += ("\nThe server uses exact search up to INSIGHT_INDEX_APPROXIMATE_ABOVE customers (default 50,000) and HNSW above, "
                   "with efSearch from INSIGHT_INDEX_HNSW_EF_SEARCH (default 128).\n")
    report = head + table + f"\nTotal errors: {errors}.\n" + rtable
    print(report)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "api.md").write_text(report)
    for p in phases:
        for e in p.errors[:3]:
            print(f"error ({p.name}): {e}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
