"""The evaluation commands: `insight eval` (the product against baselines on one dataset, eval.app) and
`insight eval-explanations` (explanation quality per narrator, eval.explanation_quality)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from service.cli.errors import user_errors
from service.cli.output import RichReporter, err, out


@user_errors
def eval_explanations(
    store: str = typer.Option(..., "--store", envvar="INSIGHT_STORE", help="Profile store."),
    n: int = typer.Option(50, "--n", min=1, help="Customers to explain (spread over the store)."),
    llm_model: list[str] | None = typer.Option(
        None, "--llm-model", help="Also evaluate this model on the configured openai server (repeatable)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the results as JSON here."),
):
    """Explanation quality per narrator: faithfulness pass rate, top-driver coverage, length, latency."""
    from eval.explanation_quality import evaluate_narrators

    if json_out is not None:
        _check_json_out(json_out)  # before the narration, which takes minutes with an LLM
    narrators = _narrators(llm_model or [])
    with RichReporter().stage(f"explaining {n} customers with {len(narrators)} narrator(s)"):
        report = evaluate_narrators(store, narrators, n)
    out.print(_quality_table(report))
    for label, r in report.items():
        if r["top_reasons"]:
            out.print(
                f"[dim]{escape(label)}: most frequent failures: "
                + escape("; ".join(f"{k} ({v})" for k, v in r["top_reasons"]))
                + "[/dim]"
            )
    if json_out:
        from service.crash import write_text_atomic

        write_text_atomic(json_out, json.dumps(report, indent=2))
        out.print(f"results -> {json_out}")


def _check_json_out(path: Path) -> None:
    """``--json`` may name a new file or an earlier results file, in a folder this user can write: it had replaced
    any file (the profile store, a bundle's manifest.json, an input table) with the results."""
    import tempfile

    if not path.name or path.name in (".", ".."):
        raise ValueError(f"--json {str(path)!r}: give a file name for the results")
    if path.is_dir():
        raise ValueError(f"--json {path}: is a folder; give a file name for the results")
    if path.exists():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            earlier = None
        if not (isinstance(earlier, dict) and all(isinstance(v, dict) and "pass_rate" in v for v in earlier.values())):
            raise ValueError(f"--json {path}: exists and is not an earlier results file; choose another file name")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.check-"):
            pass
    except OSError as exc:
        raise ValueError(f"--json {path}: cannot write there ({exc.strerror or exc})") from None


def _narrators(llm_models: list[str]) -> dict:
    """The narrators to compare, by label: the template, the configured one, and one per --llm-model on the
    configured openai server."""
    from service.config import get_settings
    from service.explain import Narrator, TemplateNarrator
    from service.narrators import get_narrator

    settings = get_settings()
    narrators: dict[str, Narrator] = {"template": TemplateNarrator()}
    configured = get_narrator(settings)
    if configured.name != "template":
        narrators[getattr(configured, "identity", configured.name).split("@")[0]] = configured
    for m in llm_models:
        other = get_narrator(settings.model_copy(update={"llm_provider": "openai", "llm_model": m}))
        narrators[getattr(other, "identity", other.name).split("@")[0]] = other
    return narrators


def _quality_table(report: dict) -> Table:
    """One row per narrator: pass rates, driver coverage, words and latency."""
    t = Table(title="explanation quality", title_justify="left")
    t.add_column("narrator", no_wrap=True)
    for col in ("n", "pass", "1st try", "fallback", "top-3 drivers", "words", "p50 ms", "p95 ms"):
        t.add_column(col, justify="right")
    for label, r in report.items():
        t.add_row(
            escape(label),
            str(r["customers"]),
            _rate(r["pass_rate"]),
            _rate(r["first_pass_rate"]),
            _rate(r["fallback_rate"]),
            _rate(r["driver_coverage"]),
            f"{r['mean_words']:.0f}",
            f"{r['latency_p50_ms']:.1f}",
            f"{r['latency_p95_ms']:.1f}",
        )
    return t


@user_errors
def eval_cmd(
    dataset: str = typer.Option(..., "--dataset", help="synthetic, cdnow, olist or online-retail."),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Dataset directory, file or .zip (default: ../shared/data/<dataset>; synthetic: generated).",
    ),
    out_dir: Path | None = typer.Option(
        None, "--out", help="Report directory: report.md, metrics.json, plots (default: reports/<dataset>)."
    ),
    cutoff: str | None = typer.Option(
        None, "--cutoff", help="Calibration cutoff (ISO date); default: per dataset, printed."
    ),
    horizon_days: int | None = typer.Option(
        None, "--horizon-days", min=1, help="Holdout horizon in days; default: per dataset."
    ),
    train_horizon_days: int | None = typer.Option(
        None,
        "--train-horizon-days",
        min=1,
        help="Horizon the RFM cells learn (default: the horizon, shortened to what the history allows); "
        "the product chooses its own.",
    ),
    rolling: int = typer.Option(
        1, "--rolling", min=1, help="Number of cutoffs (the main one and earlier ones): mean and spread of each metric."
    ),
    step_days: int | None = typer.Option(
        None, "--step-days", min=1, help="Days between rolling cutoffs (default: the horizon)."
    ),
    no_ablation: bool = typer.Option(False, "--no-ablation", help="Skip the text-feature ablation."),
    n_boot: int = typer.Option(1000, "--bootstrap", min=10, help="Bootstrap resamples for the intervals."),
    seed: int = typer.Option(
        0, "--seed", help="First seed (learned models use seed, seed + 1, ...; also the bootstrap's)."
    ),
    seeds: int = typer.Option(
        5,
        "--seeds",
        min=1,
        help="Fits per learned model (product, XGBoost tabular, ablation variants): mean ± sd over seeds, "
        "and intervals that include refit variance.",
    ),
    customers: int = typer.Option(5000, "--customers", min=200, help="Synthetic dataset only: number of customers."),
):
    """Offline evaluation: the product against baselines (past spend, RFM, BG/NBD + Gamma-Gamma, XGBoost tabular) on
    one split."""
    from eval.app import EvalOptions, run_eval

    options = EvalOptions(
        dataset=dataset,
        data=data,
        out=out_dir,
        cutoff=cutoff,
        horizon_days=horizon_days,
        train_horizon_days=train_horizon_days,
        rolling=rolling,
        step_days=step_days,
        ablation=not no_ablation,
        n_boot=n_boot,
        seed=seed,
        seeds=seeds,
        customers=customers,
    )
    result = run_eval(options, reporter=RichReporter(), on_split=lambda split, ds: _print_split(split, ds, seeds))
    _print_eval_result(dataset, result)


def _print_split(split, ds, seeds: int) -> None:
    """The split a run uses (calibration cutoff, holdout), its notes, and what the input contract rejected."""
    d = split.to_dict()
    err.print(
        f"[bold]{escape(ds.name)}[/bold]: calibration to {d['cutoff'][:10]}, holdout {split.horizon_days} days to "
        f"{d['holdout_end'][:10]}; learned models fitted with {seeds} seed(s)",
        highlight=False,
    )
    for n in split.notes:
        err.print(f"[dim]  {escape(n)}[/dim]", highlight=False)
    rej = ", ".join(f"{t}: {sum(r.values()):,}" for t, r in ds.reject_reasons().items()) or "none"
    err.print(
        f"[dim]rows rejected by the input contract: {rej}; text: {', '.join(ds.text_sources) or 'none'}[/dim]",
        highlight=False,
    )


def _print_eval_result(dataset: str, result) -> None:
    """The headline table, the models that failed, the verdict, and where the report went."""
    out.print(_headline_table(dataset, result))
    for r in result.headline:
        if "error" in r:
            out.print(f"{escape(r['model'])} failed: {escape(r['error'])}", highlight=False)
    for line in result.verdict:
        out.print(escape(line), highlight=False)
    out.print(f"report -> {result.report}  (metrics.json and plots beside it; {result.seconds:.0f}s)")


def _headline_table(dataset: str, result) -> Table:
    """One row per model (the product in bold): Gini, Spearman, calibration, churn ECE with their intervals."""
    sp = result.split
    t = Table(
        title=f"{dataset}: future value over {sp['horizon_days']} days after {sp['cutoff'][:10]}, "
        f"{sp['customers']:,} customers "
        f"({sp['buyers_in_holdout']:,} buy); mean ± sd over seeds, 95% intervals over customers and seeds",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    cols = (
        ("model", "model"),
        ("norm. Gini", "gini"),
        ("Spearman", "spearman"),
        ("pred. /\nactual", "calibration_ratio"),
        ("churn\nECE", "churn_ece"),
    )
    for name, _ in cols:
        t.add_column(
            name,
            justify="left" if name == "model" else "right",
            min_width=12 if name == "model" else None,
            max_width=14 if name == "model" else None,
            no_wrap=name != "model",
        )
    for r in result.headline:
        if "error" in r:
            t.add_row(escape(r["model"]), "[red]failed[/red]", *[""] * (len(cols) - 2))
        else:
            cells = [escape(str(r[k])).replace(" [", "\n[") for _, k in cols]
            cells[0] += f" ({r['seeds']} seeds)" if r["seeds"] != "1" else ""
            t.add_row(*cells, style="bold" if r["key"] == "product" else None)
    return t


def _rate(x: float) -> str:
    """A share as a whole percent, except near 0 and 100: 6 failures in 1,896 had shown as a pass rate of 100%."""
    return f"{x:.1%}" if 0 < x < 0.01 or 0.99 < x < 1 else f"{x:.0%}"
