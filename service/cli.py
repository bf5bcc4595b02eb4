"""`insight` command line: a thin shell over service.pipeline (the same layer the HTTP API calls)."""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.pipeline import Reporter

app = typer.Typer(help="customer-insight: predict customer value and churn from behaviour and text, explain every tier.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Data utilities.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out = Console()
err = Console(stderr=True)


class RichReporter(Reporter):
    """Spinner per stage with its time; a progress bar for long loops (embedding)."""

    def __init__(self, console: Console = err):
        self.console = console
        self._progress: Progress | None = None

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console, transient=True) as progress:
            self._progress = progress
            progress.add_task(name, total=None)
            try:
                yield
            finally:
                self._progress = None
        self.console.print(f"[green]✓[/green] {name} [dim]({time.perf_counter() - t0:.1f}s)[/dim]")

    def progress(self, name: str, total: int):
        if self._progress is None:
            return lambda n: None
        task = self._progress.add_task(f"  {name}", total=total)
        return lambda n: self._progress.advance(task, n) if self._progress else None


def user_errors(fn):
    """User mistakes (bad data, missing bundle or store, unknown customer) end with a message and exit code 2, no traceback."""
    from embeddings.encoder import EncoderError
    from service.bundle import BundleError
    from service.store import StoreError
    from service.tables import DataError

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DataError, BundleError, StoreError, EncoderError, ValueError) as exc:
            err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
            raise typer.Exit(2)
        except CustomerNotFound as exc:
            err.print(f"[bold red]error:[/bold red] customer {exc.args[0]!r} is not in the store", highlight=False)
            raise typer.Exit(2)
    return wrapper


class CustomerNotFound(LookupError):
    pass


def _print_summary(title: str, summary) -> None:
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_row("rows read", f"{summary.rows_read:,}")
    rej = ", ".join(f"{k}: {v:,}" for k, v in summary.rejects.items()) or "none"
    t.add_row("rows rejected", f"{summary.rows_rejected:,} ({rej})" + (f" -> {summary.rejects_dir}" if summary.rejects_dir else ""))
    t.add_row("customers", f"{summary.customers:,}")
    t.add_row("time taken", f"{summary.seconds:.1f}s")
    err.print(t)


def _parse_shares(spec: Optional[str]) -> Optional[dict]:
    """'VIP=0.05,High=0.15,Medium=0.3' -> dict."""
    if not spec:
        return None
    try:
        return {k.strip(): float(v) for k, v in (p.split("=") for p in spec.split(","))}
    except ValueError:
        raise ValueError(f"cannot parse {spec!r}: expected VIP=...,High=...,Medium=...")


@data_app.command("synth")
@user_errors
def data_synth(
    customers: int = typer.Option(2000, "--customers", min=10, help="Number of customers."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same files)."),
    out_dir: Path = typer.Option(..., "--out", help="Directory to write customers/orders/reviews/events into."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or jsonl."),
    end: str = typer.Option("2025-12-31", "--end", help="Last day of the generated history."),
    inject_errors: float = typer.Option(0.0, "--inject-errors", min=0.0, max=0.5, help="Fraction of rows to corrupt (to exercise validation)."),
):
    """Write synthetic, realistic input tables (deterministic by seed)."""
    from service.synth import generate, write_tables

    t0 = time.perf_counter()
    with RichReporter().stage(f"generating {customers:,} customers"):
        tables = generate(customers, seed=seed, end=end, inject_errors=inject_errors)
        paths = write_tables(tables, out_dir, fmt=fmt)
    for name, path in paths.items():
        err.print(f"  {name:<10} {len(tables[name]):>9,} rows -> {path}")
    err.print(f"done in {time.perf_counter() - t0:.1f}s")


@app.command()
@user_errors
def train(
    data: Path = typer.Option(..., "--data", help="Directory with the input tables."),
    out_dir: Path = typer.Option(..., "--out", help="Model bundle directory to write (replaced atomically)."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="Latest data date (ISO); default: the last order."),
    horizon_days: int = typer.Option(90, "--horizon-days", min=1, help="Prediction horizon in days."),
    seed: int = typer.Option(0, "--seed"),
    tier_shares: Optional[str] = typer.Option(None, "--tier-shares", help="e.g. VIP=0.05,High=0.15,Medium=0.3 (Low: the rest)."),
    tier_amounts: Optional[str] = typer.Option(None, "--tier-amounts", help="Minimum predicted value per tier, e.g. VIP=1000,High=300,Medium=50."),
    no_text: bool = typer.Option(False, "--no-text", help="Tabular features only (no embeddings)."),
    currency: str = typer.Option("$", "--currency", help="Currency symbol for explanations."),
    embedding_model: Optional[str] = typer.Option(None, "--embedding-model", envvar="INSIGHT_EMBEDDING_MODEL", help="Model folder or name."),
):
    """Train the value and churn models and write a model bundle."""
    from service.pipeline import TrainOptions, train as run_train

    opts = TrainOptions(cutoff=cutoff, horizon_days=horizon_days, seed=seed, tier_shares=_parse_shares(tier_shares),
                        tier_amounts=_parse_shares(tier_amounts), currency=currency, embedding_model=embedding_model,
                        text_sources=() if no_text else ("review", "browse"))
    result = run_train(data, out_dir, opts, reporter=RichReporter())
    _print_summary("train", result.summary)
    m = result.bundle.metrics
    t = Table(title=f"validation (snapshot {result.bundle.config['validation_cutoff'][:10]}, later than the fit snapshot)", title_justify="left")
    t.add_column("model")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row(f"value ({m['value_objective']})", "normalized Gini", f"{m['value']['normalized_gini']:.3f}")
    t.add_row("", "Spearman", f"{m['value']['spearman']:.3f}")
    if "value_tabular_only" in m:
        t.add_row("value, tabular only", "normalized Gini", f"{m['value_tabular_only']['normalized_gini']:.3f}")
    t.add_row("churn", "ROC-AUC", f"{m['churn']['roc_auc']:.3f}")
    t.add_row("", "PR-AUC", f"{m['churn']['pr_auc']:.3f}")
    err.print(t)
    out.print(f"model bundle {result.bundle.model_version} -> {result.out_dir}")


@app.command()
@user_errors
def score(
    data: Path = typer.Option(..., "--data", help="Directory with the input tables."),
    model: Path = typer.Option(..., "--model", help="Model bundle directory."),
    store: str = typer.Option(..., "--store", envvar="INSIGHT_STORE", help="Profile store: SQLite file path or database URL."),
    cutoff: Optional[str] = typer.Option(None, "--cutoff", help="Score as of this date; default: the last order."),
):
    """Score every customer; write profiles and the similar-customer index (the old ones stay if this fails)."""
    from service.pipeline import score as run_score

    result = run_score(data, model, store, cutoff=cutoff, reporter=RichReporter())
    _print_summary("score", result.summary)
    out.print(_tier_table(result.frame))
    out.print(f"profiles -> {result.store}; similar-customer index -> {result.index_dir}")


def _tier_table(frame) -> Table:
    from service.tiers import TIER_ORDER

    t = Table(title="tiers", title_justify="left")
    for col, just in (("tier", "left"), ("customers", "right"), ("share", "right"), ("mean predicted value", "right"),
                      ("min predicted value", "right"), ("mean churn probability", "right")):
        t.add_column(col, justify=just)
    n = len(frame)
    for tier in TIER_ORDER:
        f = frame[frame["tier"] == tier]
        if len(f):
            t.add_row(tier, f"{len(f):,}", f"{len(f) / n:.1%}", f"{f['predicted_value'].mean():,.2f}",
                      f"{f['predicted_value'].min():,.2f}", f"{f['churn_probability'].mean():.1%}")
    return t


@app.command()
@user_errors
def explain(
    customer_id: str = typer.Argument(..., help="Customer id."),
    store: str = typer.Option(..., "--store", envvar="INSIGHT_STORE", help="Profile store."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON (same as the HTTP API)."),
):
    """Explain why a customer is in their tier."""
    from service.pipeline import explain as run_explain

    try:
        exp = run_explain(customer_id, store)
    except KeyError:
        raise CustomerNotFound(customer_id)
    if as_json:
        sys.stdout.write(exp.model_dump_json(indent=2) + "\n")
        return
    _print_explanation(exp)


def _print_explanation(exp) -> None:
    out.print(f"[bold]Why is customer {exp.customer_id} {exp.tier}?[/bold]")
    out.print(exp.narrative, highlight=False)
    status = "[green]passed[/green]" if exp.check.passed else "[red]failed: " + "; ".join(exp.check.reasons) + "[/red]"
    out.print(f"[dim]narrator: {exp.narrator}; faithfulness check {status}; model {exp.model_version}[/dim]")


@app.command()
@user_errors
def demo(
    customers: int = typer.Option(2000, "--customers", min=200, help="Number of synthetic customers."),
    seed: int = typer.Option(7, "--seed"),
    workdir: Path = typer.Option(Path("demo-output"), "--workdir", help="Where data, model and store go."),
):
    """The whole story on generated data: synth -> train -> score -> 'why is customer X VIP?'."""
    from service.pipeline import TrainOptions, explain as run_explain, score as run_score, train as run_train
    from service.synth import generate, write_tables

    rep = RichReporter()
    data_dir, model_dir, store = workdir / "data", workdir / "model", workdir / "profiles.db"
    with rep.stage(f"1/4 generating {customers:,} synthetic customers (with 0.5% corrupted rows to show validation)"):
        write_tables(generate(customers, seed=seed, inject_errors=0.005), data_dir)
    err.print("[bold]2/4 training[/bold]")
    trained = run_train(data_dir, model_dir, TrainOptions(seed=seed), reporter=rep)
    _print_summary("train", trained.summary)
    m = trained.bundle.metrics
    err.print(f"validation normalized Gini {m['value']['normalized_gini']:.3f} with text"
              + (f" vs {m['value_tabular_only']['normalized_gini']:.3f} tabular only" if "value_tabular_only" in m else "")
              + f"; churn ROC-AUC {m['churn']['roc_auc']:.3f}")
    err.print("[bold]3/4 scoring[/bold]")
    scored = run_score(data_dir, model_dir, store, reporter=rep)
    _print_summary("score", scored.summary)
    out.print(_tier_table(scored.frame))
    vip = scored.frame[scored.frame["tier"] == "VIP"].sort_values("predicted_value", ascending=False)
    # Pick the top VIP who has written reviews, so the answer can quote them.
    from service.store import ProfileStore

    ps = ProfileStore(store)
    chosen = next((c for c in vip["customer_id"] if any(e["source"].startswith("review") for e in ps.get(c)["profile"]["evidence"])),
                  vip["customer_id"].iloc[0])
    ps.close()
    err.print(f"[bold]4/4 why is customer {chosen} VIP?[/bold]")
    _print_explanation(run_explain(chosen, store))
    out.print(f"\nTry: insight explain {chosen} --store {store}   |   files in {workdir}/")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
