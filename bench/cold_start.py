"""Cold-start scoring (POST /v1/score: a new customer, 3 orders, 10 texts) alone, side by side with other checkouts.

The cold-start row of `make bench-api` (bench/api.py) on its own, without the read benchmarks: it builds (or takes) the
demo store, starts `insight serve` from this tree and from each ``--compare LABEL=DIR`` checkout (their own service/,
run with this venv, `python -m service.cli serve` in DIR) on the same store, warms each up, then drives them with
wrk (one connection; bodies unique per request, as bench/api.py's) in interleaved rounds: round 1 current, previous,
round 2 current, previous, ... so that the other jobs on a shared machine weigh on both alike. Per round: requests,
p50 / p90 / p99 and the load average; per checkout: the median of the rounds' p50 and p90, the worst round's p99, and
the ratio of this tree's p50 to each other's, round by round.

    python -m bench.cold_start --compare previous=/tmp/prev --rounds 4 --score-seconds 15

Writes bench/out/cold-start.md and .json and, unless --no-results, the cold-start block of the "HTTP API" section of
bench/results.md (between its own markers) and the cold-start row of bench-api's table (this tree's figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.api import (
    HOST,
    RESULTS,
    WRK_SCORE_SCRIPT,
    build_store,
    cold_start_body,
    ensure_wrk,
    free_port,
    load,
    run_wrk,
    start_server,
    stop,
    target_verdict,
    wait_until_idle,
)

OUT = Path(__file__).parent / "out"
BEGIN, END = "<!-- bench-api-cold-start: begin -->", "<!-- bench-api-cold-start: end -->"
MAIN_END = "<!-- bench-api: end -->"
ENDPOINT = "cold start (1 customer, 10 texts)"
CONFIG = ("2 workers", {"INSIGHT_API_WORKERS": "2", "INSIGHT_API_PREWARM": "100000"})  # bench-api's cold-start config


def start(store: Path, key: str, port: int, log_path: Path, env: dict, cwd: Path | None) -> subprocess.Popen:
    """`insight serve` from this tree (its installed script) or from checkout ``cwd`` (``python -m service.cli``)."""
    return start_server(store, key, port, log_path, extra_env=env, cwd=cwd, ready_s=240)


def warm(base: str, key: str, n: int = 10) -> None:
    """A connection per request, so that every worker process has scored a few before the clock starts."""
    import httpx

    for i in range(n):
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=300) as c:
            r = c.post("/v1/score", json=cold_start_body(i, "warmup" + secrets.token_hex(2)))
            if r.status_code != 200:
                raise SystemExit(f"warm-up score failed: {r.status_code} {r.text[:300]}")


def python_round(base: str, key: str, seconds: float) -> dict:
    """The same requests with httpx, when wrk is missing (labelled "python")."""
    import httpx

    lat, errors, tag = [], 0, secrets.token_hex(3)
    t_end = time.perf_counter() + seconds
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as c:
        i = 0
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            r = c.post("/v1/score", json=cold_start_body(i, tag))
            if r.status_code == 200:
                lat.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1
            i += 1
    a = np.asarray(lat or [np.nan])
    return {
        "requests": len(lat),
        "errors": errors,
        "rps": len(lat) / seconds,
        "p50": float(np.percentile(a, 50)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "max": float(np.nanmax(a)),
        "client": "python",
        "concurrency": 1,
    }


def summarise(label: str, rounds: list[dict]) -> dict:
    mine = [r for r in rounds if r["label"] == label]
    return {
        "label": label,
        "rounds": len(mine),
        "requests": sum(r["requests"] for r in mine),
        "errors": sum(r["errors"] for r in mine),
        "rps": float(np.median([r["rps"] for r in mine])),
        "p50": float(np.median([r["p50"] for r in mine])),
        "p90": float(np.median([r["p90"] for r in mine])),
        "p99": float(max(r["p99"] for r in mine)),
        "client": mine[0]["client"],
        "concurrency": 1,
        "endpoint": ENDPOINT,
    }


def _commit(cwd: Path) -> str | None:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def render(summary: list[dict], rounds: list[dict], labels: dict[str, str], meta: dict, args) -> str:
    head = (
        f"`python -m bench.cold_start` ({args.rounds} interleaved rounds of {args.score_seconds:.0f} s per "
        "checkout, "
        f"{CONFIG[0]}, one connection, wrk unless marked python; demo store of {meta.get('customers', 0):,} "
        f"customers, model {meta.get('model_version')}; {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}). Round p50/p90 are medians over the rounds, p99 is the worst round's.\n\n"
    )
    t = (
        "| checkout | requests | req/s | p50 ms | p90 ms | p99 ms | errors | target |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for s in summary:
        t += (
            f"| {labels[s['label']]} | {s['requests']} | {s['rps']:.1f} | {s['p50']:.1f} | {s['p90']:.1f} | "
            f"{s['p99']:.1f} | {s['errors']} | {target_verdict(s)} |\n"
        )
    order = [s["label"] for s in summary]
    t += "\n| round | " + " | ".join(f"{labels[x]} p50 / p99 ms" for x in order) + " | load average at start |\n"
    t += "|---:|" + "---:|" * len(order) + "---|\n"
    for k in range(1, args.rounds + 1):
        cells = []
        for x in order:
            r = next(r for r in rounds if r["label"] == x and r["round"] == k)
            cells.append(f"{r['p50']:.1f} / {r['p99']:.1f}")
        loads = "; ".join(r["load"] for r in rounds if r["round"] == k)
        t += f"| {k} | " + " | ".join(cells) + f" | {loads} |\n"
    if len(order) > 1:  # every checkout's p50 over the first one compared (the baseline), round by round
        base = order[1]
        for x in [order[0], *order[2:]]:
            ratios = [
                next(r for r in rounds if r["label"] == x and r["round"] == k)["p50"]
                / next(r for r in rounds if r["label"] == base and r["round"] == k)["p50"]
                for k in range(1, args.rounds + 1)
            ]
            t += (
                f"\np50 of {labels[x]} / {labels[base]}, round by round: "
                + ", ".join(f"{v:.2f}" for v in ratios)
                + f" (median {np.median(ratios):.2f}).\n"
            )
    return head + t


def write_results(report: str, current: dict) -> None:
    """The cold-start block after bench-api's table, and bench-api's cold-start row with this tree's figures."""
    text = RESULTS.read_text()
    block = f"{BEGIN}\n{report.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + block + text[b:]
    elif MAIN_END in text:
        at = text.index(MAIN_END) + len(MAIN_END)
        text = text[:at] + "\n\n" + block + text[at:]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    row = re.compile(r"^\| (?P<config>[^|]+) \| " + re.escape(ENDPOINT) + r" \|.*$", re.M)
    nd = 1 if current["p50"] >= 20 else 2
    new = (
        f"| {{config}} | {ENDPOINT} | 1 | {current['rps']:.1f} | {current['p50']:.{nd}f} | "
        f"{current['p90']:.{nd}f} | {current['p99']:.{nd}f} | {current['errors']} | {current['client']} | "
        f"{target_verdict(current)} |"
    )
    text = row.sub(lambda m: new.format(config=m.group("config")), text, count=1)
    RESULTS.write_text(text)


def _compare_arg(v: str) -> tuple[str, Path]:
    label, sep, d = v.partition("=")
    return (label, Path(d).resolve()) if sep else ("previous", Path(v).resolve())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, help="Existing profile store (default: build the bench-api demo store)")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--compare",
        type=_compare_arg,
        nargs="*",
        default=[],
        metavar="[LABEL=]DIR",
        help="other checkouts (e.g. previous=/tmp/prev) measured side by side with this tree",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--score-seconds", type=float, default=15.0, help="seconds of scoring per checkout and round")
    ap.add_argument("--no-results", action="store_true", help="do not touch bench/results.md")
    args = ap.parse_args()

    from service.store import ProfileStore, index_dir

    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="insight-bench-cold-"))
    store = args.store or build_store(work, args.customers, args.seed)
    if args.store is not None:  # never serve the caller's store: a copy
        shutil.copy(args.store, work / "profiles.db")
        shutil.copytree(index_dir(args.store), index_dir(work / "profiles.db"))
        store = work / "profiles.db"
    ps = ProfileStore(store)
    meta = ps.meta()
    ps.close()
    key = secrets.token_urlsafe(24)
    here = Path(__file__).resolve().parent.parent
    checkouts = [("current", None), *args.compare]
    labels = {"current": f"this tree ({_commit(here)} + working tree)"}
    labels.update({lab: f"{lab} ({_commit(d)})" if _commit(d) else lab for lab, d in args.compare})
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    rounds: list[dict] = []
    try:
        for label, cwd in checkouts:
            port = free_port()
            env = {
                "INSIGHT_CACHE_DIR": str(work / "cache"),
                "INSIGHT_API_SNAPSHOT_DIR": str(work / f"snap-{label}"),
                **CONFIG[1],
            }
            print(f"== {labels[label]}: starting insight serve ...", flush=True)
            proc = start(store, key, port, work / f"server-{label}.log", env, cwd)
            servers[label] = (proc, f"http://{HOST}:{port}")
            wait_until_idle(proc)
            warm(servers[label][1], key)
        for k in range(1, args.rounds + 1):
            for label, _ in checkouts:
                base = servers[label][1]
                at = load()
                if wrk:
                    r = run_wrk(
                        wrk,
                        base,
                        WRK_SCORE_SCRIPT,
                        {"BENCH_KEY": key, "BENCH_TAG": secrets.token_hex(4)},
                        1,
                        args.score_seconds,
                        1,
                        work,
                        60,
                    )
                else:
                    r = python_round(base, key, args.score_seconds)
                rounds.append({**r, "label": label, "round": k, "load": at})
                print(
                    f"   round {k} {label:10s} {r['requests']:4d} requests  p50 {r['p50']:7.1f} ms  "
                    f"p90 {r['p90']:7.1f} ms  p99 {r['p99']:7.1f} ms  errors {r['errors']}  ({at})",
                    flush=True,
                )
    finally:
        for proc, _ in servers.values():
            stop(proc)
    summary = [summarise(label, rounds) for label, _ in checkouts]
    report = render(summary, rounds, labels, meta, args)
    print(report)
    OUT.mkdir(exist_ok=True)
    (OUT / "cold-start.md").write_text(report)
    (OUT / "cold-start.json").write_text(json.dumps({"summary": summary, "rounds": rounds, "labels": labels}, indent=1))
    if not args.no_results:
        write_results(report, summary[0])
    shutil.rmtree(work, ignore_errors=True)
    return 1 if any(s["errors"] for s in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
