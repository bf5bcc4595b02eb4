"""`make bench-api`: throughput and latency of the HTTP API under wrk, over loopback, against real `insight serve` processes.

Builds a demo store (2,000 synthetic customers, as `insight demo`; or --store), then for each server configuration
(side by side in one run; default: 1 worker without kept bodies, 1 worker, 2 workers) starts `insight serve` on
127.0.0.1, waits until every worker has loaded (embedding model included), warms it up, and drives with wrk
(--wrk-threads threads, --duration seconds each, keep-alive, a Lua script that walks every stored customer id):

- profile        GET  /v1/customers/{id}               at 8 and 128 connections
- explanation    GET  /v1/customers/{id}/explanation   at 8 and 128 connections

then, on the last configuration:

- cold start     POST /v1/score: one new customer with 3 orders and 10 texts (5 reviews, 5 browsing events), each body
                 unique (wrk Lua), so every request embeds 10 new texts; one connection (the scorer takes one request at a
                 time per worker)
- similar, ask   Python client threads (httpx), bounded; wrk is kept for the headline numbers

wrk is installed when missing (`apt-get install -y wrk` as root); otherwise the run says so and measures everything with
the Python client instead, labelled as such. Then recall@10 of the approximate (HNSW) similar-customer index against exact
search. Writes bench/out/api.md, bench/out/api.json and the "HTTP API" section of bench/results.md. Exits 1 when any request
failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def build_store(workdir: Path, customers: int, seed: int) -> Path:
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    data, model, store = workdir / "data", workdir / "model", workdir / "profiles.db"
    print(f"building a demo store with {customers:,} customers in {workdir} ...", flush=True)
    write_tables(generate(customers, seed=seed), data)
    train(data, model, TrainOptions(seed=seed, text_check=False))
    score(data, model, store)
    return store


def start_server(
    store: Path,
    key: str,
    port: int,
    log_path: Path,
    extra_env: dict | None = None,
    log_level: str = "warning",
    cwd: Path | None = None,
    ready_s: float = 180,
) -> subprocess.Popen:
    """`insight serve` in a child process, once it answers /readyz; with ``cwd``, the checkout in that folder."""
    import httpx

    script = Path(sys.executable).parent / "insight"
    cmd = [str(script)] if cwd is None and script.exists() else [sys.executable, "-m", "service.cli"]
    env = {**os.environ, "INSIGHT_API_KEYS": f"{key}:admin", **(extra_env or {})}
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            cmd + ["serve", "--store", str(store), "--host", HOST, "--port", str(port), "--log-level", log_level],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.time() + ready_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"insight serve ({cwd or 'this tree'}) exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://{HOST}:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"insight serve did not become ready in {ready_s:.0f} s")


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
        return {
            "endpoint": self.name,
            "requests": n,
            "errors": len(self.errors),
            "concurrency": self.concurrency,
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)),
            "rps": n / self.wall if self.wall else 0.0,
        }


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
    orders = [
        {
            "order_id": f"{cid}-o{j}",
            "customer_id": cid,
            "order_ts": f"2025-1{j}-1{j}T10:00:00Z",
            "amount": 40.0 + 15 * j,
            "category": "electronics",
        }
        for j in range(3)
    ]
    reviews = [
        {
            "review_id": f"{cid}-r{j}",
            "customer_id": cid,
            "review_ts": f"2025-1{j % 3}-2{j}T10:00:00Z",
            "rating": 3 + j % 3,
            "text": f"Review {j} of request {i} ({tag}): the headphones sound great but the case feels cheap.",
        }
        for j in range(5)
    ]
    events = [
        {
            "customer_id": cid,
            "event_ts": f"2025-12-0{j + 1}T10:00:00Z",
            "event_type": "view" if j % 2 else "search",
            "text": f"noise cancelling headphones model {tag}-{i}-{j}",
        }
        for j in range(5)
    ]
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
            out.append(
                {
                    "set": label,
                    "n": len(x),
                    "dim": x.shape[1],
                    "ef_search": ef,
                    "recall": float(rec),
                    "exact_ms": t_exact * 1000,
                    "hnsw_ms": t_h * 1000,
                    "hnsw_build_s": t_hnsw_build,
                    "exact_build_s": t_exact_build,
                }
            )
    return out


# ----------------------------------------------------------------------------- wrk


def ensure_wrk() -> str | None:
    """Path of wrk, installing it with apt-get when missing and running as root; None (with a message) otherwise."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk ...", flush=True)
        r = subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True)
            r = subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, text=True)
        if shutil.which("wrk"):
            return shutil.which("wrk")
        print(f"could not install wrk: {(r.stderr or r.stdout).strip().splitlines()[-1:]}", file=sys.stderr)
    else:
        print(
            "wrk is not installed and this is not a root shell with apt-get: install it (Debian/Ubuntu: sudo apt-get install -y wrk; "
            "macOS: brew install wrk) for the headline numbers; measuring with the Python client instead.",
            file=sys.stderr,
        )
    return None


_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK-RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n', summary.requests, summary.duration, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

_GET = r"""
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local suffix, key, i = os.getenv("BENCH_SUFFIX") or "", os.getenv("BENCH_KEY"), 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/customers/" .. ids[(i * 7919) % #ids + 1] .. suffix, {["X-API-Key"] = key})
end
"""

# One new customer per request: 3 orders, 5 reviews, 5 browsing events, texts unique per request (as cold_start_body).
WRK_SCORE_SCRIPT = r"""
local key, tag, i = os.getenv("BENCH_KEY"), os.getenv("BENCH_TAG"), 0
local months = {"10", "11", "12"}
request = function()
  i = i + 1
  local cid = "WRK-" .. tag .. "-" .. i
  local o, r, e = {}, {}, {}
  for j = 0, 2 do
    o[#o + 1] = string.format('{"order_id":"%s-o%d","customer_id":"%s","order_ts":"2025-1%d-1%dT10:00:00Z","amount":%.1f,"category":"electronics"}',
      cid, j, cid, j, j, 40 + 15 * j)
  end
  for j = 0, 4 do
    r[#r + 1] = string.format('{"review_id":"%s-r%d","customer_id":"%s","review_ts":"2025-1%d-2%dT10:00:00Z","rating":%d,' ..
      '"text":"Review %d of request %d (%s): the headphones sound great but the case feels cheap."}', cid, j, cid, j % 3, j, 3 + j % 3, j, i, tag)
    e[#e + 1] = string.format('{"customer_id":"%s","event_ts":"2025-12-0%dT10:00:00Z","event_type":"%s","text":"noise cancelling headphones model %s-%d-%d"}',
      cid, j + 1, (j % 2 == 1) and "view" or "search", tag, i, j)
  end
  local body = '{"tables":{"orders":[' .. table.concat(o, ",") .. '],"reviews":[' .. table.concat(r, ",") .. '],"events":[' ..
    table.concat(e, ",") .. ']},"similar_k":5}'
  return wrk.format("POST", "/v1/score", {["X-API-Key"] = key, ["Content-Type"] = "application/json"}, body)
end
"""


def run_wrk(
    wrk: str,
    base: str,
    script: str,
    env: dict,
    connections: int,
    seconds: float,
    threads: int,
    workdir: Path,
    timeout_s: int = 10,
) -> dict:
    path = workdir / f"bench-{abs(hash(script)) % 10**8}.lua"
    path.write_text(script + _DONE)
    cmd = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(int(seconds), 1)}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(path),
        base,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, timeout=seconds + 60)
    m = re.search(r"WRK-RESULT (\{.*\})", r.stdout)
    if r.returncode != 0 or not m:
        raise SystemExit(f"wrk failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    res = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    errors = res["connect"] + res["read"] + res["write"] + res["timeout"] + (int(non2xx.group(1)) if non2xx else 0)
    return {
        "requests": res["requests"],
        "errors": errors,
        "concurrency": connections,
        "rps": res["requests"] / (res["duration_us"] / 1e6),
        "p50": res["p50_us"] / 1000,
        "p90": res["p90_us"] / 1000,
        "p99": res["p99_us"] / 1000,
        "max": res["max_us"] / 1000,
        "client": "wrk",
    }


def python_row(phase: Phase) -> dict:
    r = phase.row()
    return {**r, "p90": float("nan"), "max": float("nan"), "client": "python"}


# ----------------------------------------------------------------------------- configurations

CONFIGS = {
    "1w-nocache": ("1 worker, bodies not kept", {"INSIGHT_API_WORKERS": "1", "INSIGHT_API_RESPONSE_CACHE": "0"}),
    "1w": ("1 worker", {"INSIGHT_API_WORKERS": "1", "INSIGHT_API_PREWARM": "100000"}),
    "2w-nocache": ("2 workers, bodies not kept", {"INSIGHT_API_WORKERS": "2", "INSIGHT_API_RESPONSE_CACHE": "0"}),
    "2w": ("2 workers", {"INSIGHT_API_WORKERS": "2", "INSIGHT_API_PREWARM": "100000"}),
}

TARGETS = {
    ("profile", 8): (2000, 10),
    ("explanation", 8): (1000, 20),
    ("profile", 128): (None, 200),
    ("explanation", 128): (None, 200),
}


def wait_until_idle(proc: subprocess.Popen, timeout: float = 240) -> None:
    """Until the server's processes are idle: each worker preloads the embedding model (and, with INSIGHT_API_PREWARM, the
    kept bodies) after it starts serving, seconds of CPU that would otherwise land in the first measurement."""
    import psutil

    deadline = time.time() + timeout
    root = psutil.Process(proc.pid)
    time.sleep(2)
    while time.time() < deadline:
        procs = [root] + root.children(recursive=True)
        for p in procs:
            try:
                p.cpu_percent(None)
            except psutil.Error:
                pass
        time.sleep(1.0)
        busy = 0.0
        for p in procs:
            try:
                busy += p.cpu_percent(None)
            except psutil.Error:
                pass
        if busy < 10:
            return
    print(f"warning: the server was still busy after {timeout:.0f} s", file=sys.stderr)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def load() -> str:
    try:
        return "load average {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    except OSError:
        return "load average n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, help="Existing profile store (default: build a demo store)")
    ap.add_argument(
        "--customers", type=int, default=2000, help="Customers of the demo store built when --store is not given"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--configs",
        nargs="+",
        default=["1w-nocache", "1w", "2w"],
        choices=sorted(CONFIGS),
        help="Server configurations, side by side (the last one also gets the cold-start, similar and ask phases)",
    )
    ap.add_argument("--connections", type=int, nargs="+", default=[8, 128], help="wrk connections per read run")
    ap.add_argument("--duration", type=float, default=10.0, help="Seconds per wrk run")
    ap.add_argument(
        "--warmup", type=float, default=4.0, help="Seconds of wrk warm-up per endpoint and configuration (not measured)"
    )
    ap.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (each one a busy core taken from the server)"
    )
    ap.add_argument("--score-seconds", type=float, default=20.0, help="Seconds of cold-start scoring")
    ap.add_argument(
        "--requests", type=int, default=400, help="Python client: requests per endpoint (similar, ask; all without wrk)"
    )
    ap.add_argument(
        "--score-requests", type=int, default=40, help="Python client: cold-start score requests (without wrk)"
    )
    ap.add_argument("--seconds", type=float, default=30.0, help="Python client: time limit per endpoint")
    ap.add_argument("--concurrency", type=int, default=4, help="Python client threads")
    ap.add_argument(
        "--scale-n",
        type=int,
        default=60000,
        help="Size of the derived vector set for recall@10 (0: store vectors only, -1: skip)",
    )
    ap.add_argument("--no-results", action="store_true", help="Do not rewrite the HTTP API section of bench/results.md")
    args = ap.parse_args()

    import httpx

    from service.store import ProfileStore

    wrk = ensure_wrk()
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
    ids_file = work / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    rng = np.random.default_rng(args.seed)
    sample = [ids[i] for i in rng.integers(0, len(ids), max(args.requests, 1))]

    key = secrets.token_urlsafe(24)
    rows: list[dict] = []
    loads: dict[str, str] = {}
    for ci, name in enumerate(args.configs):
        label, env = CONFIGS[name]
        last = ci == len(args.configs) - 1
        workers = int(env.get("INSIGHT_API_WORKERS", "1"))
        port = free_port()
        base = f"http://{HOST}:{port}"
        log_path = work / f"server-{name}.log"
        print(f"== {label}: starting insight serve ...", flush=True)
        proc = start_server(
            store,
            key,
            port,
            log_path,
            {"INSIGHT_CACHE_DIR": str(work / "cache"), "INSIGHT_API_SNAPSHOT_DIR": str(work / "snap"), **env},
        )
        try:
            wait_until_idle(proc)
            loads[label] = load()
            for endpoint, suffix in (("profile", ""), ("explanation", "/explanation")):
                wenv = {"BENCH_IDS": str(ids_file), "BENCH_SUFFIX": suffix, "BENCH_KEY": key}
                if wrk:
                    run_wrk(
                        wrk, base, _GET, wenv, 8, args.warmup, args.wrk_threads, work
                    )  # warm-up: every id, both workers
                for conns in args.connections:
                    if wrk:
                        row = run_wrk(wrk, base, _GET, wenv, conns, args.duration, args.wrk_threads, work)
                    else:
                        row = python_row(
                            run_phase(
                                endpoint,
                                base,
                                key,
                                lambda i, s=suffix: ("GET", f"/v1/customers/{ids[(i * 7919) % len(ids)]}{s}", None),
                                10**9,
                                args.duration,
                                conns,
                            )
                        )
                    rows.append({**row, "config": label, "endpoint": endpoint, "workers": workers})
                    print(
                        f"   {endpoint:12s} c={conns:<4d} {row['rps']:8.0f} req/s  p50 {row['p50']:7.2f} ms  p99 {row['p99']:7.2f} ms  "
                        f"errors {row['errors']}  ({load()})",
                        flush=True,
                    )
            if last:
                with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=300) as c:  # warm-up, not measured
                    for i in range(3):
                        r = c.post("/v1/score", json=cold_start_body(i, "warmup"))
                        if r.status_code != 200:
                            raise SystemExit(f"warm-up score failed: {r.status_code} {r.text[:300]}")
                if wrk:
                    row = run_wrk(
                        wrk,
                        base,
                        WRK_SCORE_SCRIPT,
                        {"BENCH_KEY": key, "BENCH_TAG": secrets.token_hex(3)},
                        1,
                        args.score_seconds,
                        1,
                        work,
                        60,
                    )
                else:
                    tag = secrets.token_hex(3)
                    row = python_row(
                        run_phase(
                            "score",
                            base,
                            key,
                            lambda i, tag=tag: ("POST", "/v1/score", cold_start_body(i, tag)),
                            args.score_requests,
                            args.score_seconds,
                            1,
                        )
                    )
                rows.append(
                    {**row, "config": label, "endpoint": "cold start (1 customer, 10 texts)", "workers": workers}
                )
                print(
                    f"   cold start   c=1    {row['rps']:8.1f} req/s  p50 {row['p50']:7.1f} ms  p99 {row['p99']:7.1f} ms  errors {row['errors']}",
                    flush=True,
                )
                questions = [
                    "why is this customer in their tier?",
                    "is she about to churn?",
                    "what would move them up a tier?",
                    "who else is like this customer?",
                    "how much will he spend?",
                ]
                for endpoint, make in (
                    (
                        "similar (k=10)",
                        lambda i: ("GET", f"/v1/customers/{sample[i % len(sample)]}/similar?k=10", None),
                    ),
                    (
                        "ask (5 intents)",
                        lambda i, questions=questions: (
                            "POST",
                            "/v1/ask",
                            {"customer_id": sample[i % len(sample)], "question": questions[i % len(questions)]},
                        ),
                    ),
                ):
                    row = python_row(
                        run_phase(endpoint, base, key, make, args.requests, args.seconds, args.concurrency)
                    )
                    rows.append({**row, "config": label, "endpoint": endpoint, "workers": workers})
        finally:
            stop(proc)

    rec = recall_at_10(store, args.scale_n, args.seed) if args.scale_n >= 0 else []
    errors = sum(r["errors"] for r in rows)
    report = render(rows, rec, meta, len(ids), args, wrk, loads, errors)
    print(report)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "api.md").write_text(report)
    (out / "api.json").write_text(json.dumps({"rows": rows, "recall": rec, "loads": loads}, indent=1, default=float))
    if not args.no_results:
        write_results_section(report)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


def _fmt(v: float, nd: int = 1) -> str:
    return "-" if v is None or v != v else f"{v:,.{nd}f}"


def target_verdict(r: dict) -> str:
    target = TARGETS.get((r["endpoint"], r["concurrency"]))
    if r["endpoint"].startswith("cold start"):
        ok = r["p50"] <= 50 and r["p99"] <= 150
        return "met" if ok else f"missed (p50 {r['p50'] / 50:.1f}× / p99 {r['p99'] / 150:.1f}× the target)"
    if not target:
        return ""
    rps_min, p99_max = target
    misses = []
    if rps_min and r["rps"] < rps_min:
        misses.append(f"{r['rps'] / rps_min:.0%} of the req/s")
    if r["p99"] > p99_max:
        misses.append(f"p99 {r['p99'] / p99_max:.1f}× the bound")
    if r["errors"]:
        misses.append(f"{r['errors']} errors")
    return "met" if not misses else "missed: " + ", ".join(misses)


def render(rows, rec, meta, n_ids, args, wrk, loads, errors) -> str:
    client = (
        (
            f"wrk ({args.wrk_threads} thread{'s' if args.wrk_threads > 1 else ''}, keep-alive, {args.duration:.0f} s per run after "
            f"{args.warmup:.0f} s of warm-up)"
        )
        if wrk
        else "the Python client (wrk was not available)"
    )
    head = (
        f"`insight serve` on {HOST} (loopback), demo store of {meta.get('customers', n_ids):,} customers (model {meta['model_version']}); "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. Client: {client}; ids walk every stored "
        f"customer. Produced by `make bench-api` (`python -m bench.api`).\n\n"
    )
    t = (
        "| configuration | endpoint | connections | req/s | p50 ms | p90 ms | p99 ms | errors | client | target |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|\n"
    )
    for r in rows:
        nd = 1 if r["p50"] >= 20 else 2
        t += (
            f"| {r['config']} | {r['endpoint']} | {r['concurrency']} | {_fmt(r['rps'], 0 if r['rps'] >= 100 else 1)} | {_fmt(r['p50'], nd)} | "
            f"{_fmt(r['p90'], nd)} | {_fmt(r['p99'], nd)} | {r['errors']} | {r['client']} | {target_verdict(r)} |\n"
        )
    notes = (
        "\nTargets (issue 13): at 8 connections profile ≥ 2,000 req/s with p99 ≤ 10 ms and explanation ≥ 1,000 req/s with p99 ≤ 20 ms; "
        "at 128 connections no errors and p99 < 200 ms; cold start p50 ≤ 50 ms and p99 ≤ 150 ms.\n\n"
        "Machine load when each configuration started (other work shares these 2 cores): "
        + "; ".join(f"{k}: {v}" for k, v in loads.items())
        + f". Total errors: {errors}.\n"
    )
    rtable = ""
    if rec:
        rtable = (
            "\nSimilar customers, approximate (HNSW, M=32, efConstruction=80) vs exact recall@10:\n\n"
            "| vectors | n | dim | efSearch | recall@10 | exact ms/query | HNSW ms/query | HNSW build s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
        )
        rtable += "".join(
            f"| {r['set']} | {r['n']:,} | {r['dim']} | {r['ef_search']} | {r['recall']:.3f} | {r['exact_ms']:.3f} | "
            f"{r['hnsw_ms']:.3f} | {r['hnsw_build_s']:.1f} |\n"
            for r in rec
        )
    return head + t + notes + rtable


RESULTS = Path(__file__).parent / "results.md"
SECTION = "## HTTP API"
MEASURED_BEGIN, MEASURED_END = "<!-- bench-api: begin -->", "<!-- bench-api: end -->"


def write_results_section(report: str) -> None:
    """Replace the measured part of the HTTP API section of bench/results.md (the prose around it is kept)."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{MEASURED_BEGIN}\n{report.rstrip()}\n{MEASURED_END}"
    if MEASURED_BEGIN in text and MEASURED_END in text:
        a, b = text.index(MEASURED_BEGIN), text.index(MEASURED_END) + len(MEASURED_END)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip() + f"\n\n{SECTION}\n\n{block}\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
