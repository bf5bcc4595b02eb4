"""One pipeline run at one size, stage by stage: seconds and peak memory, as JSON.

`bench.run` starts this in a fresh process per size, so each size starts with an empty embedding
cache and its own memory high-water mark:

    python -m bench.pipeline --customers 100000 --json bench/out/pipeline-100000.json

Stages are the pipeline's own (`Reporter.stage`/`Reporter.step` hooks in service/pipeline.py), so
the benchmark times the code users run, not a copy of it. Peak memory is the process RSS sampled
every 20 ms while the stage runs (it includes what earlier stages still hold).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import psutil  # noqa: E402

from service.pipeline import Reporter  # noqa: E402


class MemorySampler:
    """Background thread recording the process RSS; ``peak_since(token)`` is the max since ``mark()``."""

    def __init__(self, interval_s: float = 0.02):
        self._proc = psutil.Process()
        self._interval = interval_s
        self._peaks: dict[int, int] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            rss = self._proc.memory_info().rss
            with self._lock:
                for k, v in self._peaks.items():
                    if rss > v:
                        self._peaks[k] = rss

    def mark(self) -> int:
        with self._lock:
            self._next += 1
            self._peaks[self._next] = self._proc.memory_info().rss
            return self._next

    def peak_since(self, token: int) -> int:
        rss = self._proc.memory_info().rss
        with self._lock:
            return max(self._peaks.pop(token), rss)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class StageRecorder(Reporter):
    """A pipeline Reporter that records seconds and peak RSS of every stage and step, in order."""

    def __init__(self, sampler: MemorySampler, prefix: str = "", progress: Path | None = None):
        self.sampler, self.prefix, self.rows = sampler, prefix, []
        self._stack: list[str] = []
        self.progress_file = (
            progress  # every finished stage is written here at once: a run killed midway keeps its figures
        )

    @contextmanager
    def stage(self, name: str):
        token, t0 = self.sampler.mark(), time.perf_counter()
        self._stack.append(name)
        try:
            yield
        finally:
            self._stack.pop()
            row = {
                "stage": f"{self.prefix}{' / '.join(self._stack + [name])}",
                "seconds": time.perf_counter() - t0,
                "peak_mb": self.sampler.peak_since(token) / 2**20,
                "depth": len(self._stack),
                "times": 1,
            }
            # A step repeated (scoring in customer ranges runs each step once per range) is one row: summed, max peak.
            same = next((r for r in self.rows if r["stage"] == row["stage"]), None)
            if same is None:
                self.rows.append(row)
            else:
                same.update(
                    seconds=same["seconds"] + row["seconds"],
                    peak_mb=max(same["peak_mb"], row["peak_mb"]),
                    times=same["times"] + 1,
                )
            if self.progress_file is not None:
                self.progress_file.write_text(json.dumps({"stages": self.rows, "load": os.getloadavg()}, indent=1))
                print(f"{row['stage']:<60} {row['seconds']:9.2f} s {row['peak_mb']:9.0f} MB", flush=True)

    step = stage


def run(
    customers: int,
    seed: int,
    backend: str | None,
    workdir: Path,
    predictions: Path | None = None,
    progress: Path | None = None,
) -> dict:
    from service.pipeline import TrainOptions, make_encoder, score, train
    from service.synth import generate, write_tables
    from service.tables import load_tables

    sampler = MemorySampler()
    rec = StageRecorder(sampler, progress=progress)
    data = workdir / "data"
    t = time.perf_counter()
    write_tables(generate(customers, seed=seed), data)
    synth_s = time.perf_counter() - t

    load_start = os.getloadavg()
    t_all = time.perf_counter()
    with rec.stage("ingest + validate"):
        loaded = load_tables(data)
    with rec.stage("load embedding model"):
        # A fresh cache: training embeds every distinct text (cold); scoring finds them all cached.
        cached = make_encoder(None, workdir, backend)
    encoder = cached.encoder
    rec.prefix = "train: "
    t = time.perf_counter()
    # TrainOptions() as users get it (`insight train` without flags): the text check and every default model step.
    trained = train(loaded, workdir / "model", TrainOptions(), reporter=rec, encoder=cached)
    train_s = time.perf_counter() - t
    cold = cached.stats()
    rec.prefix = "score: "
    t = time.perf_counter()
    scored = score(loaded, workdir / "model", workdir / "profiles.db", reporter=rec, encoder=cached)
    score_s = time.perf_counter() - t
    total_s = time.perf_counter() - t_all
    sampler.close()
    if predictions is not None:  # to check that two versions (or a speed fix) predict the same
        predictions.parent.mkdir(parents=True, exist_ok=True)
        scored.frame[["customer_id", "tier", "predicted_value", "churn_probability"]].to_parquet(predictions)
    warm = cached.stats()
    return {
        "customers": customers,
        "seed": seed,
        "backend": encoder.backend,
        "model_id": encoder.model_id,
        "rows_read": loaded.n_read,
        "rows": {k: len(v) for k, v in loaded.tables.items()},
        "distinct_texts_embedded": cold["encoded"],
        "cache_hits_at_scoring": warm["hits"] - cold["hits"],
        "synthesize_s": synth_s,
        "train_s": train_s,
        "score_s": score_s,
        "end_to_end_s": total_s,
        "max_rss_mb": max_rss_mb(),
        "stages": rec.rows,
        "scored_customers": len(scored.frame),
        "validation": trained.bundle.metrics.get("value"),
        "machine": machine(),
        "models": model_stats(trained.bundle, len(scored.frame), rec.rows),
        "load_start": load_start,
        "load_end": os.getloadavg(),
        "code": code_version(),
    }


def _trees(booster) -> dict:
    """Trees, leaves and the deepest leaf of a booster (TreeSHAP costs about rows x trees x leaves x depth)."""
    dumps = booster.get_dump()
    leaves = depth = 0
    for d in dumps:
        for line in d.splitlines():
            if "leaf=" in line:
                leaves += 1
                depth = max(depth, len(line) - len(line.lstrip("\t")))
    return {"trees": len(dumps), "leaves": leaves, "max_depth": depth}


def model_stats(bundle, rows: int, stages: list[dict]) -> dict:
    """Per model: boosting rounds per bag (early stopping), trees in the averaged booster, and SHAP microseconds per
    tree per row."""
    out = {}
    for name, model in (("value", bundle.value_model), ("churn", bundle.churn_model)):
        m = bundle.metrics.get(name) or {}
        out[name] = {"rounds": m.get("rounds"), **_trees(model.booster_)}
    shap = next((s["seconds"] for s in stages if s["stage"].endswith("SHAP (batched)")), None)
    trees = sum(v["trees"] for v in out.values())
    if shap and trees and rows:
        out["shap_us_per_tree_row"] = shap / (trees * rows) * 1e6
    return out


def code_version() -> str:
    import subprocess

    import service

    root = Path(service.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        head = ""
    return f"{root} {head}".strip()


def max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--backend", default=None, help="embedding backend (default: $INSIGHT_EMBEDDING_BACKEND or the project default)"
    )
    ap.add_argument("--json", type=Path, required=True, help="where to write the measurements")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (data, model, store)")
    ap.add_argument(
        "--predictions", type=Path, default=None, help="write each customer's tier, value and churn here (Parquet)"
    )
    ap.add_argument(
        "--keep-index", type=Path, default=None, help="copy the similar-customer index here (for bench.index)"
    )
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix=f"insight-bench-{args.customers}-"))
    try:
        progress = args.json.with_suffix(".partial.json")
        progress.parent.mkdir(parents=True, exist_ok=True)
        result = run(args.customers, args.seed, args.backend, workdir, args.predictions, progress)
        if args.keep_index is not None:
            from service.store import index_dir

            shutil.rmtree(args.keep_index, ignore_errors=True)
            shutil.copytree(index_dir(workdir / "profiles.db"), args.keep_index)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=float))
    progress.unlink(missing_ok=True)  # the finished run's json holds every stage
    for r in result["stages"]:
        print(f"{r['stage']:<45} {r['seconds']:9.2f} s {r['peak_mb']:9.0f} MB")
    print(
        f"end to end {result['end_to_end_s']:.1f} s, max RSS {result['max_rss_mb']:.0f} MB; models {result['models']}; "
        f"load {result['load_start']} -> {result['load_end']}; code {result['code']}"
    )


if __name__ == "__main__":
    main()
