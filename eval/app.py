"""`insight eval`: the application function behind the CLI (load a dataset, backtest, write the report)."""

from __future__ import annotations

import shlex
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from eval.adapters import load_dataset
from eval.backtest import BacktestOptions, run_backtest
from eval.report import check_report_out, headline_rows, remove_orphaned_staging, verdict, write_report
from service.pipeline import Reporter


@dataclass
class EvalOptions:
    dataset: str
    data: Path | None = None
    out: Path | None = None
    cutoff: str | None = None
    horizon_days: int | None = None
    train_horizon_days: int | None = None
    rolling: int = 1
    step_days: int | None = None
    ablation: bool = True
    n_boot: int = 1000
    seed: int = 0
    seeds: int = 5  # fits per learned model (product, XGBoost tabular, ablation variants)
    customers: int = 5000  # synthetic only
    threads: int = 2
    command: str | None = None


@dataclass
class EvalOutput:
    out_dir: Path
    report: Path
    metrics_path: Path
    metrics: dict
    headline: list[dict]
    verdict: list[str]
    split: dict
    seconds: float
    printed: dict = field(default_factory=dict)
    result: object = None  # the BacktestResult (every model's predictions per seed)


def run_eval(opts: EvalOptions, reporter: Reporter | None = None, encoder=None, on_split=None) -> EvalOutput:
    """Load, backtest, write ``report.md`` / ``metrics.json`` / plots into ``opts.out``.

    ``on_split(split, dataset)`` is called once the split is known (the CLI prints the defaults chosen).
    """
    reporter = reporter or Reporter()
    t0 = time.perf_counter()
    # a link to a report folder is followed: the report goes where it points, and the link stays (it had been replaced
    # by a folder of its own)
    out = Path(opts.out or Path("reports") / opts.dataset).resolve()
    if out.exists() and not out.is_dir():  # found after the whole backtest, it had wasted minutes
        raise ValueError(f"--out {out}: is a file, not a report folder; choose another --out")
    remove_orphaned_staging(out)  # a report a killed run was moving in is finished first, then checked as ours
    check_report_out(out)
    command = opts.command or "insight " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    kw = {"customers": opts.customers, "seed": opts.seed} if opts.dataset == "synthetic" else {}
    with reporter.stage(f"reading {opts.dataset}"):
        ds = load_dataset(opts.dataset, opts.data, **kw)
    if on_split is not None:
        from eval.backtest import make_split

        on_split(make_split(ds, opts.cutoff, opts.horizon_days, opts.train_horizon_days), ds)
    bt = BacktestOptions(
        cutoff=opts.cutoff,
        horizon_days=opts.horizon_days,
        train_horizon_days=opts.train_horizon_days,
        rolling=opts.rolling,
        step_days=opts.step_days,
        ablation=opts.ablation,
        n_boot=opts.n_boot,
        seed=opts.seed,
        seeds=opts.seeds,
        threads=opts.threads,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning, message=".*(empty slice|Degrees of freedom).*")
        res = run_backtest(ds, bt, reporter=reporter, encoder=encoder)
    with reporter.stage("writing report and plots"):
        metrics, report, metrics_path = write_report(res, out, command)
    return EvalOutput(
        out,
        report,
        metrics_path,
        metrics,
        headline_rows(metrics),
        verdict(metrics),
        metrics["split"],
        time.perf_counter() - t0,
        result=res,
    )
