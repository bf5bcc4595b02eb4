"""What `insight train`, `score` and `demo` print after a run: input counts that add up and say what they count, the
validation metrics, and the tiers."""

from __future__ import annotations

import math

from rich.console import JustifyMethod
from rich.table import Table

from service.cli.output import err, shown_path


def _summary_table(title: str, summary) -> Table:
    """Input rows per table as read = kept + rejected, and where the rejected ones went."""
    t = Table(title=title, show_header=False, title_justify="left")
    tables = summary.details.get("tables") or {}
    kept = sum(c["kept"] for c in tables.values())
    t.add_row("input rows", f"{summary.rows_read:,} read = {kept:,} kept + {summary.rows_rejected:,} rejected")
    for name, c in tables.items():
        t.add_row(f"  {name}", f"{c['read']:,} read = {c['kept']:,} kept + {c['rejected']:,} rejected")
    if summary.rows_rejected:
        where = f"{shown_path(summary.rejects_dir)}/" if summary.rejects_dir else ""
        t.add_row("rejected rows", f"each with its row number and reason in {where}<table>.rejects.csv")
    return t


def _customers_in_data(summary) -> int | None:
    """Customers the run kept from a customers table (None without one: then the customers are those who ordered)."""
    c = (summary.details.get("tables") or {}).get("customers")
    return None if c is None else c["kept"]


def print_train_summary(result) -> None:
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
    for w in summary.details.get("warnings") or []:
        t.add_row("[bold yellow]warning[/bold yellow]", w)
    err.print(t)


def print_validation(bundle) -> None:
    """The trained models' metrics on the validation snapshot: value (Gini, Spearman, the text check) and churn."""
    m = bundle.metrics
    # The title on its own line: as a table title rich wrapped it to the narrow table's width.
    err.print(
        f"validation (snapshot {bundle.config['validation_cutoff'][:10]}, later than the fit snapshots)",
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
    if any(math.isnan(float(x)) for x in (m["value"]["normalized_gini"], m["churn"]["roc_auc"])):
        err.print(
            "[bold yellow]warning[/bold yellow]: a validation metric is undefined (nan): the validation customers all "
            "spent the same in their target window (e.g. nothing, or every order returned), so the models could not "
            "be checked on them"
        )


def print_score_summary(result) -> None:
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


def tier_table(frame) -> Table:
    """Customers per tier with their share, predicted value and churn probability."""
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
