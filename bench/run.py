"""`make bench`: the pipeline stage by stage at several sizes, the embedding backends side by side,
and similar-customer search at scale; writes bench/results.md.

    python -m bench.run                                  # 10k and 100k customers (about 15 min on 2 cores)
    python -m bench.run --sizes 10000 100000 1000000     # add 1M where memory and time allow
    python -m bench.run --report-only                    # re-render results.md from bench/out/*.json

Each size runs in a fresh process (`bench.pipeline`), with an empty embedding cache, so its
seconds and peak memory are its own. Not a test: these machines are noisy, so compare ratios
measured in the same run, not absolute values across runs.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "out"
RESULTS = HERE / "results.md"


def run_module(module: str, *args: str) -> None:
    cmd = [sys.executable, "-m", module, *args]
    print("$", " ".join(cmd[1:]), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=HERE.parent)
    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


def _load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt_n(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}")


def pipeline_table(runs: list[dict]) -> str:
    runs = sorted(runs, key=lambda r: r["customers"])
    stages: list[str] = []
    for r in runs:
        for s in r["stages"]:
            if s["stage"] not in stages:
                stages.append(s["stage"])
    head = "| stage | " + " | ".join(f"{_fmt_n(r['customers'])} s | {_fmt_n(r['customers'])} peak MB" for r in runs)
    growth_cols = [(a, b) for a, b in zip(runs, runs[1:])]
    head += "".join(f" | growth {_fmt_n(a['customers'])}→{_fmt_n(b['customers'])}" for a, b in growth_cols) + " |\n"
    head += "|---|" + "---:|---:|" * len(runs) + "---:|" * len(growth_cols) + "\n"

    def growth(a: float | None, b: float | None, na: int, nb: int) -> str:
        # Exponent k in t ~ N^k: 1 is linear; stages under ~0.2 s are dominated by fixed costs.
        if not a or not b or a < 0.2:
            return "-"
        return f"N^{math.log(b / a) / math.log(nb / na):.2f}"

    lines = []
    for st in stages:
        by_run = [{s["stage"]: s for s in r["stages"]}.get(st) for r in runs]
        indent = "&nbsp;&nbsp;" * (by_run[0] or {"depth": 0}).get("depth", 0) if by_run[0] else ""
        cells = "".join(f" {s['seconds']:.2f} | {s['peak_mb']:,.0f} |" if s else " - | - |" for s in by_run)
        g = "".join(f" {growth((x or {}).get('seconds'), (y or {}).get('seconds'), a['customers'], b['customers'])} |"
                    for (a, b), x, y in zip(growth_cols, by_run, by_run[1:]))
        lines.append(f"| {indent}{st} |{cells}{g}\n")
    total = "".join(f" **{r['end_to_end_s']:.1f}** | **{r['max_rss_mb']:,.0f}** |" for r in runs)
    g = "".join(f" {growth(a['end_to_end_s'], b['end_to_end_s'], a['customers'], b['customers'])} |" for a, b in growth_cols)
    lines.append(f"| **end to end** (ingest → train → score → store + index) |{total}{g}\n")
    sizes = "".join(f"\n- {_fmt_n(r['customers'])}: {r['rows_read']:,} input rows ({', '.join(f'{k} {v:,}' for k, v in r['rows'].items())}); "
                    f"{r['distinct_texts_embedded']:,} distinct texts embedded cold, {r['cache_hits_at_scoring']:,} cache hits at scoring; "
                    f"backend {r['backend']}; synthesizing the data (not counted) {r['synthesize_s']:.0f} s" for r in runs)
    return head + "".join(lines) + "\nInputs:" + sizes + "\n"


def _encoder_rows(rows: list[dict]) -> str:
    out = ("| encoder | seconds | texts/s delivered | texts/s through the model | speed-up | cosine to plain torch: mean | 1st percentile | min |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|\n")
    return out + "".join(f"| {r['encoder']} | {r['seconds']:.1f} | {r['texts_per_s']:,.0f} | {r.get('model_texts_per_s', 0):,.0f} | "
                         f"×{r['speedup']:.1f} | {r['cos_mean']:.4f} | {r['cos_p01']:.4f} | {r['cos_min']:.4f} |\n" for r in rows)


def embeddings_table(e: dict) -> str:
    out = (f"As a pipeline sees them: {e['texts']:,} synthetic review and browsing texts, {e['distinct_texts']:,} distinct "
           "(the generator's texts repeat far more than real reviews do, which flatters deduplication):\n\n" + _encoder_rows(e["rows"]))
    if e.get("distinct_only"):
        out += (f"\nThe engines alone: {e['distinct_only']['texts']:,} distinct texts (nothing to deduplicate):\n\n"
                + _encoder_rows(e["distinct_only"]["rows"]))
    if e.get("gini"):
        out += (f"\nHoldout on {e['gini_customers']:,} synthetic customers (trained to one horizon before the data ends, "
                "scored there, compared with the next 90 days):\n\n| backend | holdout value Gini | holdout churn ROC-AUC |\n|---|---:|---:|\n")
        out += "".join(f"| {b} | {g['holdout_value_gini']:.4f} | {g['holdout_churn_auc']:.4f} |\n" for b, g in e["gini"].items())
    return out


def index_table(ix: dict) -> str:
    out = (f"{ix['queries']} queries per size (stored customers, themselves excluded), k = 10; "
           "latency is one query at a time (the API's pattern), single-threaded search on 2 cores.\n\n"
           "| vectors | n | dim | index | setting | build s | ms / query | recall@10 |\n|---|---:|---:|---|---|---:|---:|---:|\n")
    out += "".join(f"| {r.get('vectors', '')} | {r['n']:,} | {r['dim']} | {r['kind']} | {r['param']} | {r['build_s']:.1f} | "
                   f"{r['ms_per_query_single']:.2f} | {r['recall_at_10']:.3f} |\n" for r in ix["rows"])
    return out


def render() -> str:
    runs = [json.loads(p.read_text()) for p in sorted(OUT.glob("pipeline-*.json"))]
    emb, ix = _load(OUT / "embeddings.json"), _load(OUT / "index.json")
    machine = next((r["machine"] for r in runs), "unknown machine")
    parts = ["# Benchmark results\n\n",
             f"Machine: {machine}. Produced by `make bench` (`python -m bench.run`); raw numbers in `bench/out/*.json`.\n\n"]
    if runs:
        parts += ["## Pipeline, stage by stage\n\n",
                  "Seconds and peak resident memory of each stage (peak includes what earlier stages still hold). "
                  "Growth is the exponent k in seconds ∝ N^k between two sizes: 1.00 is linear.\n\n", pipeline_table(runs), "\n"]
    if emb:
        parts += ["## Embeddings: backends side by side\n\n", embeddings_table(emb), "\n"]
    if ix:
        parts += ["## Similar-customer search at scale\n\n", index_table(ix), "\n"]
    return "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--index-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--skip", nargs="*", default=[], choices=["pipeline", "embeddings", "index"])
    ap.add_argument("--report-only", action="store_true", help="only re-render results.md from bench/out")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if not args.report_only:
        if "pipeline" not in args.skip:
            for old in OUT.glob("pipeline-*.json"):
                old.unlink()
            for n in args.sizes:
                keep = ["--keep-index", str(OUT / "index-real")] if n == max(args.sizes) else []
                run_module("bench.pipeline", "--customers", str(n), "--json", str(OUT / f"pipeline-{n}.json"), *keep)
        if "embeddings" not in args.skip:
            run_module("bench.embeddings", "--json", str(OUT / "embeddings.json"))
        if "index" not in args.skip:
            real = ["--real", str(OUT / "index-real")] if (OUT / "index-real").is_dir() else []
            run_module("bench.index", "--sizes", *map(str, args.index_sizes), "--json", str(OUT / "index.json"), *real)
    RESULTS.write_text(render())
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
