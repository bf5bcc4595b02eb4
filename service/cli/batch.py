"""The batch commands: `insight data synth` writes input tables, `train` writes a model bundle, `score` writes the
profile store; each a thin call into service.synth / service.pipeline plus what the run counted."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from service.cli.errors import user_errors
from service.cli.options import DASK_HELP, check_currency, parse_shares
from service.cli.output import RichReporter, err, out, shown_path
from service.cli.summaries import print_score_summary, print_train_summary, print_validation, tier_table


@user_errors
def data_synth(
    customers: int = typer.Option(2000, "--customers", min=10, help="Number of customers."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same files)."),
    out_dir: Path = typer.Option(..., "--out", help="Directory to write customers/orders/reviews/events into."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or jsonl."),
    end: str = typer.Option("2025-12-31", "--end", help="Last day of the generated history."),
    inject_errors: float = typer.Option(
        0.0, "--inject-errors", min=0.0, max=0.5, help="Fraction of rows to corrupt (to exercise validation)."
    ),
):
    """Write synthetic, realistic input tables (deterministic by seed)."""
    from service.synth import generate
    from service.synth.write import check_synth_out, write_generated

    check_synth_out(out_dir)
    t0 = time.perf_counter()
    with RichReporter().stage(f"generating {customers:,} customers"):
        tables = generate(customers, seed=seed, end=end, inject_errors=inject_errors)
        paths = write_generated(tables, out_dir, fmt=fmt)
    for name, path in paths.items():
        err.print(f"  {name:<10} {len(tables[name]):>9,} rows -> {path}")
    err.print(f"done in {time.perf_counter() - t0:.1f}s")


@user_errors
def train(
    data: Path = typer.Option(..., "--data", help="Directory with the input tables."),
    out_dir: Path = typer.Option(..., "--out", help="Model bundle directory to write (replaced atomically)."),
    cutoff: str | None = typer.Option(None, "--cutoff", help="Latest data date (ISO); default: the last order."),
    horizon_days: int = typer.Option(90, "--horizon-days", min=1, help="Prediction horizon in days."),
    seed: int = typer.Option(0, "--seed"),
    tier_shares: str | None = typer.Option(
        None, "--tier-shares", help="e.g. VIP=0.05,High=0.15,Medium=0.3 (Low: the rest)."
    ),
    tier_amounts: str | None = typer.Option(
        None, "--tier-amounts", help="Minimum predicted value per tier, e.g. VIP=1000,High=300,Medium=50."
    ),
    no_text: bool = typer.Option(False, "--no-text", help="Tabular features only (no embeddings)."),
    currency: str = typer.Option(
        "$", "--currency", help="Currency symbol or code for explanations, e.g. $, €, EUR (1-4 characters, no digits)."
    ),
    embedding_model: str | None = typer.Option(
        None, "--embedding-model", envvar="INSIGHT_EMBEDDING_MODEL", help="Model folder or name."
    ),
    dask: str | None = typer.Option(None, "--dask", metavar="SPEC", help=DASK_HELP),
):
    """Train the value and churn models and write a model bundle."""
    from service.pipeline import TrainOptions
    from service.pipeline import train as run_train
    from service.tiers import TierPolicy

    shares, amounts = parse_shares(tier_shares), parse_shares(tier_amounts)
    TierPolicy(shares=shares, amounts=amounts)  # checked now, not after the embeddings and the training
    check_currency(currency)
    opts = TrainOptions(
        cutoff=cutoff,
        horizon_days=horizon_days,
        seed=seed,
        tier_shares=shares,
        tier_amounts=amounts,
        currency=currency,
        embedding_model=embedding_model,
        text_sources=() if no_text else ("review", "browse"),
        dask=dask,
    )
    result = run_train(data, out_dir, opts, reporter=RichReporter())
    print_train_summary(result)
    print_validation(result.bundle)
    out.print(f"model bundle {result.bundle.model_version} -> {result.out_dir}")


@user_errors
def score(
    data: Path = typer.Option(..., "--data", help="Directory with the input tables."),
    model: Path = typer.Option(..., "--model", help="Model bundle directory."),
    store: str = typer.Option(
        ..., "--store", envvar="INSIGHT_STORE", help="Profile store: SQLite file path or database URL."
    ),
    cutoff: str | None = typer.Option(None, "--cutoff", help="Score as of this date; default: the last order."),
    dask: str | None = typer.Option(None, "--dask", metavar="SPEC", help=DASK_HELP),
):
    """Score every customer; write profiles and the similar-customer index (the old ones stay if this fails)."""
    from service.pipeline import score as run_score

    result = run_score(data, model, store, cutoff=cutoff, reporter=RichReporter(), dask=dask)
    print_score_summary(result)
    out.print(tier_table(result.frame))
    out.print(
        f"profiles -> {shown_path(result.store)}; similar-customer index -> {shown_path(result.index_dir)}",
        soft_wrap=True,
    )
