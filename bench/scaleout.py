"""Per-partition costs of the Dask path (`insight train|score --dask local:N`), for the README's ten-million plan.

    python -m bench.scaleout --customers 20000 --dask local:2 --json bench/out/scaleout-20000.json

Trains and scores once on a local cluster and records, from Dask's task stream: seconds per partition task
(features + embeddings when training; the whole of score_tables when scoring) and customers per partition;
from the workers: peak RSS per worker process (polled every 0.5 s); from the driver: its own stages (read and
validate, the text featurizer and xgboost.dask training it waits on, tiers, index build, store write) and its
peak RSS. Not a test: on a shared 2-core box the absolute seconds move with the load (recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.pipeline import MemorySampler, StageRecorder, machine, max_rss_mb  # noqa: E402


def _worker_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class WorkerMemory:
    """Peak RSS per worker address, polled with client.run."""

    def __init__(self, client, interval_s: float = 0.5):
        self.client, self.peaks, self._stop = client, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                for addr, rss in self.client.run(_worker_rss).items():
                    self.peaks[addr] = max(self.peaks.get(addr, 0), rss)
            except Exception:  # noqa: BLE001 - the cluster closing under the poller ends it
                return

    def close(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {a: v / 2**20 for a, v in self.peaks.items()}


def _tasks(stream: list[dict], prefix: str) -> list[dict]:
    out = []
    for t in stream:
        if prefix in str(t.get("key", "")):
            compute = [s for s in t.get("startstops", []) if s.get("action") == "compute"]
            if compute:
                out.append({"worker": t.get("worker"), "seconds": sum(s["stop"] - s["start"] for s in compute)})
    return out


def run(customers: int, seed: int, spec: str, backend: str, workdir: Path) -> dict:
    from service import scaleout
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables
    from service.tables import load_tables

    data = workdir / "data"
    write_tables(generate(customers, seed=seed), data)
    os.environ["INSIGHT_CACHE_DIR"] = str(workdir / "cache")  # cold cache, shared by the workers on this host
    sampler = MemorySampler()
    rec = StageRecorder(sampler)
    load_start = os.getloadavg()
    t_all = time.perf_counter()
    with rec.stage("ingest + validate (driver)"):
        loaded = load_tables(data)
    with scaleout.connect(spec) as client:
        n_workers = scaleout.n_workers(client)
        mem = WorkerMemory(client)
        from distributed import get_task_stream

        rec.prefix = "train: "
        with get_task_stream(client) as ts_train:
            t = time.perf_counter()
            train(loaded, workdir / "model", TrainOptions(dask=client, embedding_backend=backend), reporter=rec)
            train_s = time.perf_counter() - t
        rec.prefix = "score: "
        with get_task_stream(client) as ts_score:
            t = time.perf_counter()
            scored = score(loaded, workdir / "model", workdir / "profiles.db", reporter=rec, dask=client)
            score_s = time.perf_counter() - t
        worker_peak = mem.close()
        train_parts = _tasks(ts_train.data, "_prepare_train_part")
        score_parts = _tasks(ts_score.data, "_score_part")
        busy = {}
        for t in ts_train.data + ts_score.data:
            name = str(t.get("key", "")).split("-")[0].strip("('\"")
            for s in t.get("startstops", []):
                if s.get("action") == "compute":
                    busy[name] = busy.get(name, 0.0) + s["stop"] - s["start"]
    total_s = time.perf_counter() - t_all
    sampler.close()
    n_parts = len(score_parts)
    return {
        "customers": customers,
        "scored_customers": len(scored.frame),
        "spec": spec,
        "workers": n_workers,
        "backend": backend,
        "partitions": n_parts,
        "customers_per_partition": len(scored.frame) / max(n_parts, 1),
        "train_partition_s": [p["seconds"] for p in train_parts],
        "score_partition_s": [p["seconds"] for p in score_parts],
        "worker_busy_s_by_task": {k: round(v, 2) for k, v in sorted(busy.items(), key=lambda kv: -kv[1])},
        "worker_peak_mb": worker_peak,
        "driver_peak_mb": max_rss_mb(),
        "train_s": train_s,
        "score_s": score_s,
        "end_to_end_s": total_s,
        "stages": rec.rows,
        "load_start": load_start,
        "load_end": os.getloadavg(),
        "machine": machine(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dask", default="local:2")
    ap.add_argument("--backend", default=None, help="embedding backend (default: what `insight train` uses)")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    if args.backend is None:
        from embeddings.encoder import resolve_backend

        args.backend = resolve_backend()
    workdir = Path(tempfile.mkdtemp(prefix=f"insight-scaleout-{args.customers}-"))
    try:
        result = run(args.customers, args.seed, args.dask, args.backend, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=float))
    for r in result["stages"]:
        print(f"{r['stage']:<60} {r['seconds']:9.2f} s {r['peak_mb']:9.0f} MB")
    print(json.dumps({k: v for k, v in result.items() if k not in ("stages", "machine")}, indent=1, default=float))


if __name__ == "__main__":
    main()
