"""`make bench`: the pipeline stage by stage at several sizes, the embedding backends side by side,
and similar-customer search at scale; writes bench/results.md.

    python -m bench.run                                  # 10k and 100k customers (about 15 min on 2 cores)
    python -m bench.run --sizes 10000 100000 1000000     # add 1M where memory and time allow
    python -m bench.run --report-only                    # re-render results.md from bench/out/*.json
    python -m bench.run --skip pipeline embeddings index --compare previous=/tmp/prev --compare-sizes 100000
        # previous version (a checkout at /tmp/prev) and this one, interleaved

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


def run_module(module: str, *args: str, cwd: Path | None = None) -> None:
    cmd = [sys.executable, "-m", module, *args]
    print("$", f"(cd {cwd}; " if cwd else "", " ".join(cmd[1:]), ")" if cwd else "", flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=cwd or HERE.parent)
    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)


def _load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt_n(n: int) -> str:
    return (
        f"{n // 1_000_000}M"
        if n >= 1_000_000 and n % 1_000_000 == 0
        else (f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}")
    )


def _stage_order(runs: list[dict]) -> list[str]:
    """Every run's stages in pipeline order: a stage only some runs have goes right after the stage before it."""
    stages: list[str] = []
    for r in runs:
        prev = None
        for s in r["stages"]:
            if s["stage"] not in stages:
                stages.insert(stages.index(prev) + 1 if prev in stages else len(stages), s["stage"])
            prev = s["stage"]
    return stages


def pipeline_table(runs: list[dict]) -> str:
    runs = sorted(runs, key=lambda r: r["customers"])
    stages = _stage_order(runs)
    head = "| stage | " + " | ".join(f"{_fmt_n(r['customers'])} s | {_fmt_n(r['customers'])} peak MB" for r in runs)
    growth_cols = [(a, b) for a, b in zip(runs, runs[1:])]
    by_n = {r["customers"]: r for r in runs}
    if 100_000 in by_n and 1_000_000 in by_n and (by_n[100_000], by_n[1_000_000]) not in growth_cols:
        growth_cols.append((by_n[100_000], by_n[1_000_000]))  # the span issue 13 asks about
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
        secs = {r["customers"]: (s or {}).get("seconds") for r, s in zip(runs, by_run)}
        g = "".join(
            f" {growth(secs[a['customers']], secs[b['customers']], a['customers'], b['customers'])} |"
            for a, b in growth_cols
        )
        lines.append(f"| {indent}{st} |{cells}{g}\n")
    total = "".join(f" **{r['end_to_end_s']:.1f}** | **{r['max_rss_mb']:,.0f}** |" for r in runs)
    g = "".join(
        f" {growth(a['end_to_end_s'], b['end_to_end_s'], a['customers'], b['customers'])} |" for a, b in growth_cols
    )
    lines.append(f"| **end to end** (ingest → train → score → store + index) |{total}{g}\n")
    sizes = "".join(
        f"\n- {_fmt_n(r['customers'])}: {r['rows_read']:,} input rows "
        f"({', '.join(f'{k} {v:,}' for k, v in r['rows'].items())}); "
        f"{r['distinct_texts_embedded']:,} distinct texts embedded cold, "
        f"{r['cache_hits_at_scoring']:,} cache hits at scoring; "
        f"backend {r['backend']}; synthesizing the data (not counted) {r['synthesize_s']:.0f} s"
        for r in runs
    )
    return head + "".join(lines) + "\nInputs:" + sizes + "\n"


def _load_str(r: dict, key: str) -> str:
    return " / ".join(f"{x:.1f}" for x in r.get(key) or [])


def _model_line(r: dict) -> str:
    m = r.get("models") or {}
    parts = [
        f"{k} {v['trees']} trees (rounds per bag {v.get('rounds')}, max depth {v['max_depth']}, {v['leaves']:,} leaves)"
        for k, v in m.items()
        if isinstance(v, dict)
    ]
    if "shap_us_per_tree_row" in m:
        parts.append(f"SHAP {m['shap_us_per_tree_row']:.3f} µs per tree per row")
    return "; ".join(parts)


def compare_table(runs: list[dict]) -> str:
    """Previous and current version at one size, stage by stage, each run its own column (in the order they ran)."""
    runs = sorted(runs, key=lambda r: (r["customers"], r["order"]))
    stages = _stage_order(runs)
    head = "| stage | " + " | ".join(f"{r['label']} #{r['round']} {_fmt_n(r['customers'])} s" for r in runs) + " |\n"
    head += "|---|" + "---:|" * len(runs) + "\n"
    lines = []
    for st in stages:
        cells = []
        for r in runs:
            s = {x["stage"]: x for x in r["stages"]}.get(st)
            cells.append(f"{s['seconds']:.2f}" if s else "-")
        depth = next((x["depth"] for r in runs for x in r["stages"] if x["stage"] == st), 0)
        lines.append(f"| {'&nbsp;&nbsp;' * depth}{st} | " + " | ".join(cells) + " |\n")
    lines.append("| train (seconds in `train`) | " + " | ".join(f"{r['train_s']:.1f}" for r in runs) + " |\n")
    lines.append("| score (seconds in `score`) | " + " | ".join(f"{r['score_s']:.1f}" for r in runs) + " |\n")
    lines.append("| **train + score** | " + " | ".join(f"**{r['train_s'] + r['score_s']:.1f}**" for r in runs) + " |\n")
    lines.append(
        "| **end to end** (with ingest and model load) | "
        + " | ".join(f"**{r['end_to_end_s']:.1f}**" for r in runs)
        + " |\n"
    )
    lines.append("| peak MB | " + " | ".join(f"{r['max_rss_mb']:,.0f}" for r in runs) + " |\n")
    lines.append(
        "| load average at start (1 / 5 / 15 min) | " + " | ".join(_load_str(r, "load_start") for r in runs) + " |\n"
    )
    lines.append("| load average at end | " + " | ".join(_load_str(r, "load_end") for r in runs) + " |\n")
    notes = "".join(
        f"\n- {r['label']} #{r['round']}: code {r.get('code', '?')}; validation Gini "
        f"{(r.get('validation') or {}).get('normalized_gini', float('nan')):.4f}; {_model_line(r)}"
        for r in runs
    )
    return head + "".join(lines) + "\nRuns, in the order they ran:" + notes + "\n"


def _encoder_rows(rows: list[dict]) -> str:
    out = (
        "| encoder | seconds | texts/s delivered | texts/s through the model | speed-up "
        "| cosine to plain torch: mean | 1st percentile | min |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    return out + "".join(
        f"| {r['encoder']} | {r['seconds']:.1f} | {r['texts_per_s']:,.0f} | {r.get('model_texts_per_s', 0):,.0f} | "
        f"×{r['speedup']:.1f} | {r['cos_mean']:.4f} | {r['cos_p01']:.4f} | {r['cos_min']:.4f} |\n"
        for r in rows
    )


def embeddings_table(e: dict) -> str:
    out = (
        f"As a pipeline sees them: {e['texts']:,} synthetic review and browsing texts, "
        f"{e['distinct_texts']:,} distinct "
        "(the generator's texts repeat far more than real reviews do, which flatters deduplication):\n\n"
        + _encoder_rows(e["rows"])
    )
    if e.get("distinct_only"):
        out += (
            f"\nThe engines alone: {e['distinct_only']['texts']:,} distinct texts (nothing to deduplicate):\n\n"
            + _encoder_rows(e["distinct_only"]["rows"])
        )
    if e.get("gini"):
        out += (
            f"\nHoldout on {e['gini_customers']:,} synthetic customers "
            "(trained to one horizon before the data ends, scored there, compared with the next 90 days):\n\n"
            "| backend | holdout value Gini | holdout churn ROC-AUC |\n|---|---:|---:|\n"
        )
        out += "".join(
            f"| {b} | {g['holdout_value_gini']:.4f} | {g['holdout_churn_auc']:.4f} |\n" for b, g in e["gini"].items()
        )
    return out


def index_table(ix: dict) -> str:
    out = (
        f"{ix['queries']} queries per size (stored customers, themselves excluded), k = 10; "
        "latency is one query at a time (the API's pattern), single-threaded search on 2 cores.\n\n"
        "| vectors | n | dim | index | setting | build s | ms / query | recall@10 |\n"
        "|---|---:|---:|---|---|---:|---:|---:|\n"
    )
    out += "".join(
        f"| {r.get('vectors', '')} | {r['n']:,} | {r['dim']} | {r['kind']} | {r['param']} | {r['build_s']:.1f} | "
        f"{r['ms_per_query_single']:.2f} | {r['recall_at_10']:.3f} |\n"
        for r in ix["rows"]
    )
    return out


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(preamble, [(heading, body)]) of a results.md split at its '## ' headings."""
    pre, out = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            out.append([line[3:].strip(), ""])
        elif out:
            out[-1][1] += line
        else:
            pre.append(line)
    return "".join(pre), [(h, b) for h, b in out]


PIPELINE_HEAD = "Pipeline, stage by stage"
COMPARE_HEAD = "Previous and current version side by side"


def render(base: str | None = None) -> str:
    """results.md with the pipeline sections regenerated from bench/out; every other section is kept as it stands
    (bench.embeddings, bench.index and bench.api write their own)."""
    runs = [
        json.loads(p.read_text())
        for p in sorted(OUT.glob("pipeline-*.json"))
        if p.name != "pipeline-index-real.json" and not p.name.endswith(".partial.json")  # a run cut short
    ]
    comp = [json.loads(p.read_text()) for p in sorted(OUT.glob("compare-*.json"))]
    machine = next((r["machine"] for r in runs + comp), "unknown machine")
    new: dict[str, str] = {}
    if runs:
        parts = [
            "Seconds and peak resident memory of each stage (peak includes what earlier stages still hold). "
            "Growth is the exponent k in seconds ∝ N^k between two sizes: 1.00 is linear.\n\n",
            pipeline_table(runs),
            "\n",
        ]
        models = "".join(
            f"- {_fmt_n(r['customers'])}: {_model_line(r)}; load average {_load_str(r, 'load_start')} at start, "
            f"{_load_str(r, 'load_end')} at end\n"
            for r in sorted(runs, key=lambda r: r["customers"])
            if r.get("models")
        )
        if models:
            parts += [
                "Trees behind SHAP (rounds per bag are early stopping's choice; "
                "the averaged booster holds every bag's trees):\n\n",
                models,
                "\n",
            ]
        notes = HERE / "pipeline-notes.md"
        if notes.is_file():
            parts += [notes.read_text().rstrip() + "\n\n"]
        new[PIPELINE_HEAD] = "".join(parts)
    if comp:
        new[COMPARE_HEAD] = (
            "`python -m bench.run --compare previous=DIR` runs other checkouts "
            "(DIR: their own service/ and embeddings/, this bench/pipeline.py) and this tree one after the other at "
            "each size, each in a fresh process on the same synthetic data (same seed), with default TrainOptions "
            "(what `insight train` runs) and the same embedding backend. Columns are in the order the runs started.\n\n"
            + compare_table(comp)
            + "\n"
        )
        notes = HERE / "compare-notes.md"
        if notes.is_file():
            new[COMPARE_HEAD] += notes.read_text().rstrip() + "\n\n"
    if base is None:
        base = RESULTS.read_text() if RESULTS.is_file() else ""
    pre, sections = _sections(base)
    if not pre.strip():
        pre = "# Benchmark results\n\n"
    if runs:
        pre = "# Benchmark results\n\n" + (
            f"Machine: {machine}. Produced by `make bench` (`python -m bench.run`); "
            "raw numbers in `bench/out/*.json`.\n\n"
        )
    heads = [h for h, _ in sections]
    order = [PIPELINE_HEAD, COMPARE_HEAD]
    for i, h in enumerate(order):  # new sections go after the one before them in this order, or first
        if h in new and h not in heads:
            at = heads.index(order[i - 1]) + 1 if i and order[i - 1] in heads else 0
            sections.insert(at, (h, ""))
            heads.insert(at, h)
    for h in new:
        if h not in heads:
            sections.append((h, ""))
    return pre + "".join(f"## {h}\n\n{new[h]}" if h in new else f"## {h}\n{b}" for h, b in sections)


def run_compare(others: list[tuple[str, Path]], sizes: list[int], rounds: int, backend: str | None) -> None:
    """Other checkouts (label, dir: their own service/ and embeddings/, run with this bench/pipeline.py) and this
    tree ("current"), alternating run by run at each size; ``backend`` None: each version on its own default
    embedding backend, as its users ran it."""
    import shutil

    for _, d in others:
        shutil.copy(HERE / "pipeline.py", d / "bench" / "pipeline.py")
    order = 0
    for n in sizes:
        for old in OUT.glob(f"compare-{n}-*.json"):
            old.unlink()
        for k in range(1, rounds + 1):
            for label, cwd in [*others, ("current", HERE.parent)]:
                order += 1
                path = OUT / f"compare-{n}-{order:02d}-{label}.json"
                run_module(
                    "bench.pipeline",
                    "--customers",
                    str(n),
                    "--json",
                    str(path),
                    *(["--backend", backend] if backend else []),
                    "--predictions",
                    str(path.with_suffix(".predictions.parquet")),
                    cwd=cwd,
                )
                r = json.loads(path.read_text())
                r.update(label=label, round=k, order=order)
                path.write_text(json.dumps(r, indent=1))


def _compare_arg(v: str) -> tuple[str, Path]:
    label, sep, d = v.partition("=")
    return (label, Path(d).resolve()) if sep else ("previous", Path(v).resolve())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--index-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--skip", nargs="*", default=[], choices=["pipeline", "embeddings", "index"])
    ap.add_argument("--report-only", action="store_true", help="only re-render results.md from bench/out")
    ap.add_argument(
        "--compare",
        type=_compare_arg,
        nargs="+",
        default=None,
        metavar="[LABEL=]DIR",
        help="checkouts of other versions (e.g. previous=/tmp/prev) to run side by side with this tree",
    )
    ap.add_argument("--compare-sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--compare-rounds", type=int, default=1, help="previous/current pairs per size (interleaved)")
    ap.add_argument(
        "--backend",
        default=None,
        help="embedding backend of every pipeline run, then the same for compared versions (default: what `insight "
        "train` uses, $INSIGHT_EMBEDDING_BACKEND or the project default; each compared version its own)",
    )
    args = ap.parse_args()
    compare_backend = args.backend  # None: each compared version on its own default
    if args.backend is None:
        from embeddings.encoder import resolve_backend

        args.backend = resolve_backend()
    OUT.mkdir(exist_ok=True)
    if not args.report_only:
        if "pipeline" not in args.skip:
            for old in OUT.glob("pipeline-*.json"):
                old.unlink()
            for n in args.sizes:
                keep = ["--keep-index", str(OUT / "index-real")] if n == max(args.sizes) else []
                run_module(
                    "bench.pipeline",
                    "--customers",
                    str(n),
                    "--json",
                    str(OUT / f"pipeline-{n}.json"),
                    "--backend",
                    args.backend,
                    *keep,
                )
        if args.compare is not None:
            run_compare(args.compare, args.compare_sizes, args.compare_rounds, compare_backend)
        if "embeddings" not in args.skip:
            run_module("bench.embeddings", "--json", str(OUT / "embeddings.json"), "--results", str(RESULTS))
        if "index" not in args.skip:
            real = ["--real", str(OUT / "index-real")] if (OUT / "index-real").is_dir() else []
            run_module(
                "bench.index",
                "--sizes",
                *map(str, args.index_sizes),
                "--json",
                str(OUT / "index.json"),
                "--results",
                str(RESULTS),
                *real,
            )
    RESULTS.write_text(render())
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
