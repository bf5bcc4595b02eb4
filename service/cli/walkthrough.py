"""`insight demo`: the whole story on generated data (synth -> train -> score -> 'why is customer X VIP?')."""

from __future__ import annotations

from pathlib import Path

import typer

from service.cli.errors import user_errors
from service.cli.output import RichReporter, err, out
from service.cli.questions import print_explanation
from service.cli.summaries import print_score_summary, print_train_summary, tier_table


@user_errors
def demo(
    customers: int = typer.Option(2000, "--customers", min=200, help="Number of synthetic customers."),
    seed: int = typer.Option(7, "--seed"),
    workdir: Path = typer.Option(Path("demo-output"), "--workdir", help="Where data, model and store go."),
):
    """The whole story on generated data: synth -> train -> score -> 'why is customer X VIP?'."""
    from service.bundle import check_bundle_out
    from service.pipeline import TrainOptions
    from service.pipeline import explain as run_explain
    from service.pipeline import score as run_score
    from service.pipeline import train as run_train
    from service.synth import generate
    from service.synth.write import check_synth_out, write_generated

    rep = RichReporter()
    data_dir, model_dir, store = workdir / "data", workdir / "model", workdir / "profiles.db"
    check_synth_out(data_dir)  # a --workdir of someone's files is refused before anything is written
    check_bundle_out(model_dir)
    with rep.stage(f"1/4 generating {customers:,} synthetic customers (with 0.5% corrupted rows to show validation)"):
        write_generated(generate(customers, seed=seed, inject_errors=0.005), data_dir)
    err.print("[bold]2/4 training[/bold]")
    trained = run_train(data_dir, model_dir, TrainOptions(seed=seed), reporter=rep)
    print_train_summary(trained)
    _print_validation_line(trained.bundle.metrics)
    err.print("[bold]3/4 scoring[/bold]")
    scored = run_score(data_dir, model_dir, store, reporter=rep)
    print_score_summary(scored)
    out.print(tier_table(scored.frame))
    chosen = _top_vip_with_reviews(scored.frame, store)
    err.print(f"[bold]4/4 why is customer {chosen} VIP?[/bold]")
    print_explanation(run_explain(chosen, store))
    out.print(f"\nTry: insight explain {chosen} --store {store}   |   files in {workdir}/")


def _print_validation_line(m: dict) -> None:
    """The validation metrics in one line: value Gini (with the text check's verdict) and churn ROC-AUC."""
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


def _top_vip_with_reviews(frame, store: Path) -> str:
    """The top VIP who has written reviews, so the answer can quote them (else the top VIP)."""
    vip = frame[frame["tier"] == "VIP"].sort_values("predicted_value", ascending=False)
    from service.store import ProfileStore

    ps = ProfileStore(store)

    def has_reviews(customer_id: str) -> bool:
        rec = ps.get(customer_id)
        assert rec is not None  # a scored customer of this store
        return any(e["source"].startswith("review") for e in rec["profile"]["evidence"])

    chosen = next((c for c in vip["customer_id"] if has_reviews(c)), vip["customer_id"].iloc[0])
    ps.close()
    return chosen
