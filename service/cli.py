"""`insight` command line: a thin shell over service.pipeline (the same layer the HTTP API calls)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from service.pipeline import Reporter


def _help_width() -> int:
    """Help wraps to the terminal (COLUMNS), at most 80 columns; click's own floor of 50 would overflow a narrow one."""
    return max(20, min(shutil.get_terminal_size((80, 24)).columns, 80) - 2)


# Typer ships its own copy of click: subclass its classes (TyperCommand.context_class), not the click package's.
# mypy cannot use a class read from an attribute as a base; it is told which classes these are (typer 0.2x's private
# typer._click, the very same objects at run time).
if TYPE_CHECKING:
    from typer._click.core import Context as _ClickContext
    from typer._click.formatting import HelpFormatter as _ClickHelpFormatter
else:
    _ClickContext = TyperCommand.context_class
    _ClickHelpFormatter = _ClickContext.formatter_class


class _HelpFormatter(_ClickHelpFormatter):
    """Option and command lists whose name column shrinks in a narrow terminal, so their help keeps room to wrap."""

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl(rows, col_max=min(col_max, max(8, self.width // 3)), col_spacing=col_spacing)


class _Context(_ClickContext):
    formatter_class = _HelpFormatter

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.terminal_width is None:  # read when the command runs (COLUMNS, the terminal), inherited by subcommands
            self.terminal_width = _help_width()


class _Command(TyperCommand):
    context_class = _Context


class _Group(TyperGroup):
    """Lists each command with its whole first sentence, wrapped (click cuts it to fit one line and appends '...')."""

    context_class = _Context

    def format_commands(self, ctx, formatter) -> None:
        rows = [
            (name, cmd.get_short_help_str(limit=10_000))
            for name in self.list_commands(ctx)
            if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# Help as click formats it (rich_markup_mode=None): words wrap to the terminal and nothing is cut. Rich's option panels
# truncated long values with "…" ("VIP=0.05,High=0.15,Medium=0…") at 80 columns and most of each line in a narrow one.
_HELP: dict[str, Any] = dict(no_args_is_help=True, rich_markup_mode=None, cls=_Group)
app = typer.Typer(
    help="customer-insight: predict customer value and churn from behaviour and text, explain every tier.",
    add_completion=False,
    pretty_exceptions_enable=False,
    **_HELP,
)
data_app = typer.Typer(help="Data utilities.", **_HELP)
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
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        ) as progress:
            # No live display into a file or pipe: it left an empty line per stage in logs.
            self._progress = progress
            progress.add_task(name, total=None)
            try:
                yield
            finally:
                self._progress = None
        self.console.print(f"[green]✓[/green] {name} [dim]({time.perf_counter() - t0:.1f}s)[/dim]", soft_wrap=True)

    def progress(self, name: str, total: int):
        if self._progress is None:
            return lambda n: None
        task = self._progress.add_task(f"  {name}", total=total)
        return lambda n: self._progress.advance(task, n) if self._progress else None


def user_errors(fn):
    """User mistakes (bad data, missing bundle or store, unknown customer) end with a message and exit code 2, no
    traceback."""
    from embeddings.encoder import EncoderError
    from service.bundle import BundleError
    from service.store import StoreError
    from service.tables import DataError

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DataError, BundleError, StoreError, EncoderError, ValueError) as exc:
            # soft_wrap: one line, however long (rich would break it at 80 columns when stderr is not a terminal).
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except CustomerNotFound as exc:
            err.print(f"[bold red]error:[/bold red] customer {exc.args[0]!r} is not in the store", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


class CustomerNotFound(LookupError):
    pass


def package_version() -> str:
    """The installed distribution's version (pyproject.toml), else the source tree's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("customer-insight")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
        from service import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"insight (customer-insight) {package_version()}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


def _summary_table(title: str, summary) -> Table:
    """Input rows per table as read = kept + rejected, and where the rejected ones went."""
    t = Table(title=title, show_header=False, title_justify="left")
    tables = summary.details.get("tables") or {}
    kept = sum(c["kept"] for c in tables.values())
    t.add_row("input rows", f"{summary.rows_read:,} read = {kept:,} kept + {summary.rows_rejected:,} rejected")
    for name, c in tables.items():
        t.add_row(f"  {name}", f"{c['read']:,} read = {c['kept']:,} kept + {c['rejected']:,} rejected")
    if summary.rows_rejected:
        where = f"{summary.rejects_dir}/" if summary.rejects_dir else ""
        t.add_row("rejected rows", f"each with its row number and reason in {where}<table>.rejects.csv")
    return t


def _customers_in_data(summary) -> int | None:
    """Customers the run kept from a customers table (None without one: then the customers are those who ordered)."""
    c = (summary.details.get("tables") or {}).get("customers")
    return None if c is None else c["kept"]


def _print_train_summary(result) -> None:
    """What training counted: customers, then the panel rows (one per customer and snapshot), which is why the
    row count is larger than the customer count."""
    summary, bundle = result.summary, result.bundle
    m, cuts = bundle.metrics, bundle.config.get("panel_cutoffs") or {}
    t = _summary_table("train", summary)
    cut = str(cuts.get("score", ""))[:10]
    n_data = _customers_in_data(summary)
    with_orders = f"{summary.customers:,} with an order by the cutoff {cut}"
    t.add_row(
        "customers",
        (
            f"{n_data:,} in the data; {with_orders} (tiers are cut on these)"
            if n_data is not None
            else f"{with_orders} (tiers are cut on these)"
        ),
    )
    panel = m.get("panel_rows") or {}
    held_out = str(m.get("validation_customers", "")).startswith("held out")
    if "n_fit" in m:
        parts = ", ".join(f"{str(cuts.get(k, k))[:10]}: {n:,}" for k, n in panel.items())
        sampled = " (sampled down)" if panel and sum(panel.values()) != m["n_fit"] else ""
        t.add_row(
            "training rows",
            f"{m['n_fit']:,}{sampled} = one per customer with an order before each of {len(panel)} "
            f"snapshots ({parts})" + ("; the validation customers are left out" if held_out else ""),
        )
    if "n_validation" in m:
        h = m.get("train_horizon_days", bundle.config.get("horizon_days"))
        who = "customers held out of training" if held_out else "customers"
        t.add_row(
            "validation rows",
            f"{m['n_validation']:,} = {who} with an order before {str(cuts.get('validation', ''))[:10]}, "
            f"checked against their next {h} days",
        )
    t.add_row("time taken", f"{summary.seconds:.1f}s")
    err.print(t)


def _print_score_summary(result) -> None:
    """What scoring counted: every customer in the data is either scored or named as not scored, and why."""
    from service.store import ProfileStore

    summary = result.summary
    t = _summary_table("score", summary)
    try:
        ps = ProfileStore(result.store)
        try:
            meta = ps.meta()
        finally:
            ps.close()
    except Exception:  # the counts are a courtesy; the store was written and checked by the run itself
        meta = {}
    cut = str(meta.get("cutoff", ""))[:10]
    unscored = len(meta.get("unscored_customers") or [])
    known = summary.customers + unscored
    t.add_row(
        "customers",
        f"{known:,} in the data = {summary.customers:,} scored (an order by the cutoff {cut}) + {unscored:,} "
        "not scored (no valid order by then)",
    )
    t.add_row("time taken", f"{summary.seconds:.1f}s")
    err.print(t)


def _parse_shares(spec: str | None) -> dict | None:
    """'VIP=0.05,High=0.15,Medium=0.3' -> dict."""
    if not spec:
        return None
    try:
        return {k.strip(): float(v) for k, v in (p.split("=") for p in spec.split(","))}
    except ValueError:
        raise ValueError(f"cannot parse {spec!r}: expected VIP=...,High=...,Medium=...") from None


DASK_HELP = (
    "Run the per-customer work (features, embeddings, predictions, SHAP) on Dask and train with xgboost.dask. "
    "SPEC: local:N (N local worker processes, stopped at the end) or a running scheduler's address "
    "(tcp://HOST:PORT or HOST:PORT). Default: everything in this process."
)


@data_app.command("synth", cls=_Command)
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
    from service.synth import generate, write_tables

    t0 = time.perf_counter()
    with RichReporter().stage(f"generating {customers:,} customers"):
        tables = generate(customers, seed=seed, end=end, inject_errors=inject_errors)
        paths = write_tables(tables, out_dir, fmt=fmt)
    for name, path in paths.items():
        err.print(f"  {name:<10} {len(tables[name]):>9,} rows -> {path}")
    err.print(f"done in {time.perf_counter() - t0:.1f}s")


@app.command(cls=_Command)
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
    currency: str = typer.Option("$", "--currency", help="Currency symbol for explanations."),
    embedding_model: str | None = typer.Option(
        None, "--embedding-model", envvar="INSIGHT_EMBEDDING_MODEL", help="Model folder or name."
    ),
    dask: str | None = typer.Option(None, "--dask", metavar="SPEC", help=DASK_HELP),
):
    """Train the value and churn models and write a model bundle."""
    from service.pipeline import TrainOptions
    from service.pipeline import train as run_train

    opts = TrainOptions(
        cutoff=cutoff,
        horizon_days=horizon_days,
        seed=seed,
        tier_shares=_parse_shares(tier_shares),
        tier_amounts=_parse_shares(tier_amounts),
        currency=currency,
        embedding_model=embedding_model,
        text_sources=() if no_text else ("review", "browse"),
        dask=dask,
    )
    result = run_train(data, out_dir, opts, reporter=RichReporter())
    _print_train_summary(result)
    m = result.bundle.metrics
    # The title on its own line: as a table title rich wrapped it to the narrow table's width.
    err.print(
        f"validation (snapshot {result.bundle.config['validation_cutoff'][:10]}, later than the fit snapshots)",
        highlight=False,
    )
    t = Table()
    t.add_column("model")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row(f"value ({m['value_objective']})", "normalized Gini", f"{m['value']['normalized_gini']:.3f}")
    t.add_row("", "Spearman", f"{m['value']['spearman']:.3f}")
    if "text_check" in m:
        tc = m["text_check"]
        t.add_row("text check: one booster with text", "normalized Gini", f"{tc['with_text']:.3f}")
        t.add_row(
            "  and one without",
            "normalized Gini",
            f"{tc['tabular_only']:.3f}" + ("" if tc["used"] else " (text left out)"),
        )
    t.add_row("churn", "ROC-AUC", f"{m['churn']['roc_auc']:.3f}")
    t.add_row("", "PR-AUC", f"{m['churn']['pr_auc']:.3f}")
    err.print(t)
    out.print(f"model bundle {result.bundle.model_version} -> {result.out_dir}")


@app.command(cls=_Command)
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
    _print_score_summary(result)
    out.print(_tier_table(result.frame))
    out.print(f"profiles -> {result.store}; similar-customer index -> {result.index_dir}")


def _tier_table(frame) -> Table:
    from service.tiers import TIER_ORDER

    t = Table(title="tiers", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("tier", "left"),
        ("customers", "right"),
        ("share", "right"),
        ("mean predicted value", "right"),
        ("min predicted value", "right"),
        ("mean churn probability", "right"),
    )
    for col, just in columns:
        t.add_column(col, justify=just)
    n = len(frame)
    for tier in TIER_ORDER:
        f = frame[frame["tier"] == tier]
        if len(f):
            t.add_row(
                tier,
                f"{len(f):,}",
                f"{len(f) / n:.1%}",
                f"{f['predicted_value'].mean():,.2f}",
                f"{f['predicted_value'].min():,.2f}",
                f"{f['churn_probability'].mean():.1%}",
            )
    return t


@app.command(cls=_Command)
@user_errors
def explain(
    customer_id: str = typer.Argument(..., help="Customer id."),
    store: str = typer.Option(..., "--store", envvar="INSIGHT_STORE", help="Profile store."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON (same as the HTTP API)."),
):
    """Explain why a customer is in their tier (narrator from INSIGHT_LLM_PROVIDER: template, openai or hf)."""
    from service.ask import explain_stored
    from service.config import get_settings
    from service.narrators import get_narrator

    try:
        # Shared with GET /v1/customers/{id}/explanation (contact data in customer texts masked), so the JSON is
        # identical.
        exp = explain_stored(customer_id, store, get_narrator(get_settings()))
    except KeyError:
        raise CustomerNotFound(customer_id) from None
    if as_json:
        sys.stdout.write(exp.model_dump_json(indent=2) + "\n")
        return
    _print_explanation(exp)


@app.command("eval-explanations", cls=_Command)
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
    from service.config import get_settings
    from service.explain import Narrator, TemplateNarrator
    from service.narrators import get_narrator

    settings = get_settings()
    narrators: dict[str, Narrator] = {"template": TemplateNarrator()}
    configured = get_narrator(settings)
    if configured.name != "template":
        narrators[getattr(configured, "identity", configured.name).split("@")[0]] = configured
    for m in llm_model or []:
        other = get_narrator(settings.model_copy(update={"llm_provider": "openai", "llm_model": m}))
        narrators[getattr(other, "identity", other.name).split("@")[0]] = other
    with RichReporter().stage(f"explaining {n} customers with {len(narrators)} narrator(s)"):
        report = evaluate_narrators(store, narrators, n)
    t = Table(title="explanation quality", title_justify="left")
    t.add_column("narrator", no_wrap=True)
    for col in ("n", "pass", "1st try", "fallback", "top-3 drivers", "words", "p50 ms", "p95 ms"):
        t.add_column(col, justify="right")
    for label, r in report.items():
        t.add_row(
            escape(label),
            str(r["customers"]),
            f"{r['pass_rate']:.0%}",
            f"{r['first_pass_rate']:.0%}",
            f"{r['fallback_rate']:.0%}",
            f"{r['driver_coverage']:.0%}",
            f"{r['mean_words']:.0f}",
            f"{r['latency_p50_ms']:.1f}",
            f"{r['latency_p95_ms']:.1f}",
        )
    out.print(t)
    for label, r in report.items():
        if r["top_reasons"]:
            out.print(
                f"[dim]{escape(label)}: most frequent failures: "
                + escape("; ".join(f"{k} ({v})" for k, v in r["top_reasons"]))
                + "[/dim]"
            )
    if json_out:
        json_out.write_text(json.dumps(report, indent=2))
        out.print(f"results -> {json_out}")


def _print_explanation(exp) -> None:
    out.print(f"[bold]Why is customer {exp.customer_id} {exp.tier}?[/bold]")
    out.print(exp.narrative, highlight=False, markup=False)
    if exp.fallback:
        out.print(
            "[yellow]The LLM narrative failed the faithfulness check and was replaced by the template above. "
            "Reasons:[/yellow]",
            highlight=False,
        )
        for r in exp.check.reasons:
            out.print(f"[yellow]  - {escape(r)}[/yellow]", highlight=False)
        status = "[red]failed (fallback to template)[/red]"
    else:
        status = (
            "[green]passed[/green]"
            if exp.check.passed
            else "[red]failed: " + escape("; ".join(exp.check.reasons)) + "[/red]"
        )
    prompt = f"; prompt {exp.prompt_version}" if getattr(exp, "prompt_version", None) else ""
    out.print(f"[dim]narrator: {exp.narrator}; faithfulness check {status}; model {exp.model_version}{prompt}[/dim]")


@app.command(cls=_Command)
@user_errors
def demo(
    customers: int = typer.Option(2000, "--customers", min=200, help="Number of synthetic customers."),
    seed: int = typer.Option(7, "--seed"),
    workdir: Path = typer.Option(Path("demo-output"), "--workdir", help="Where data, model and store go."),
):
    """The whole story on generated data: synth -> train -> score -> 'why is customer X VIP?'."""
    from service.pipeline import TrainOptions
    from service.pipeline import explain as run_explain
    from service.pipeline import score as run_score
    from service.pipeline import train as run_train
    from service.synth import generate, write_tables

    rep = RichReporter()
    data_dir, model_dir, store = workdir / "data", workdir / "model", workdir / "profiles.db"
    with rep.stage(f"1/4 generating {customers:,} synthetic customers (with 0.5% corrupted rows to show validation)"):
        write_tables(generate(customers, seed=seed, inject_errors=0.005), data_dir)
    err.print("[bold]2/4 training[/bold]")
    trained = run_train(data_dir, model_dir, TrainOptions(seed=seed), reporter=rep)
    _print_train_summary(trained)
    m = trained.bundle.metrics
    tc = m.get("text_check")
    err.print(
        f"validation normalized Gini {m['value']['normalized_gini']:.3f}"
        + (
            f" (text check: {tc['with_text']:.3f} with text vs {tc['tabular_only']:.3f} without; text "
            + ("used)" if tc["used"] else "left out)")
            if tc
            else ""
        )
        + f"; churn ROC-AUC {m['churn']['roc_auc']:.3f}"
    )
    err.print("[bold]3/4 scoring[/bold]")
    scored = run_score(data_dir, model_dir, store, reporter=rep)
    _print_score_summary(scored)
    out.print(_tier_table(scored.frame))
    vip = scored.frame[scored.frame["tier"] == "VIP"].sort_values("predicted_value", ascending=False)
    # Pick the top VIP who has written reviews, so the answer can quote them.
    from service.store import ProfileStore

    ps = ProfileStore(store)

    def has_reviews(customer_id: str) -> bool:
        rec = ps.get(customer_id)
        assert rec is not None  # a scored customer of this store
        return any(e["source"].startswith("review") for e in rec["profile"]["evidence"])

    chosen = next((c for c in vip["customer_id"] if has_reviews(c)), vip["customer_id"].iloc[0])
    ps.close()
    err.print(f"[bold]4/4 why is customer {chosen} VIP?[/bold]")
    _print_explanation(run_explain(chosen, store))
    out.print(f"\nTry: insight explain {chosen} --store {store}   |   files in {workdir}/")


@app.command(cls=_Command)
@user_errors
def serve(
    store: str = typer.Option(
        ..., "--store", envvar="INSIGHT_STORE", help="Profile store: SQLite file path or database URL."
    ),
    model: Path | None = typer.Option(
        None, "--model", envvar="INSIGHT_MODEL_DIR", help="Model bundle; default: the one the store was scored with."
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        envvar="INSIGHT_DATA_DIR",
        help="Input tables of the batch run, so POST /v1/score merges a known customer's history.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
):
    """Serve the HTTP API (keys from INSIGHT_API_KEYS). SIGHUP or POST /v1/admin/reload swaps in a new bundle and store
    without downtime."""
    from service.api.serve import run

    _check_port(host, port)  # a busy port is one line and exit 2, before the snapshot is loaded
    # soft_wrap: the "serving ... on http://..." line stays one line in a log, however long.
    run(
        store=store,
        model_dir=model,
        data_dir=data,
        host=host,
        port=port,
        log_level=log_level,
        console=Console(stderr=True, soft_wrap=True),
    )


def _check_port(host: str, port: int) -> None:
    """ValueError (one line, exit 2) when ``host:port`` cannot be listened on, e.g. another server holds it."""
    import socket

    try:
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ValueError(f"--host {host}: cannot resolve it ({exc.strerror})") from None
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as uvicorn does: only a live listener blocks the port
        try:
            sock.bind(addr)
        except OSError as exc:
            raise ValueError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using it? choose another "
                "--port)"
            ) from None


@app.command("eval", cls=_Command)
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

    def show_split(split, ds):
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

    result = run_eval(
        EvalOptions(
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
        ),
        reporter=RichReporter(),
        on_split=show_split,
    )
    from rich import box

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
    out.print(t)
    for r in result.headline:
        if "error" in r:
            out.print(f"{escape(r['model'])} failed: {escape(r['error'])}", highlight=False)
    for line in result.verdict:
        out.print(escape(line), highlight=False)
    out.print(f"report -> {result.report}  (metrics.json and plots beside it; {result.seconds:.0f}s)")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
