"""`insight explain`: why a customer is in their tier, as text or as the HTTP API's JSON."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from service.cli.errors import CustomerNotFound, user_errors
from service.cli.output import err, out


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
    from service.playbook import PlaybookError, load_playbook

    try:
        load_playbook()
    except PlaybookError as exc:  # the explanation still comes, without its next action: say why
        err.print(f"[yellow]warning:[/yellow] {escape(str(exc))}; the explanation has no next action", soft_wrap=True)
    try:
        # Shared with GET /v1/customers/{id}/explanation (contact data in customer texts masked), so the JSON is
        # identical.
        exp = explain_stored(customer_id, store, get_narrator(get_settings()))
    except KeyError:
        raise CustomerNotFound(customer_id) from None
    if as_json:
        sys.stdout.write(exp.model_dump_json(indent=2) + "\n")
        return
    print_explanation(exp)


def print_explanation(exp) -> None:
    """The narrative, whether it passed the faithfulness check (and why not), and who wrote it with which model."""
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
