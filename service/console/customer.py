"""The customer page: one scored customer's profile, the explanation of their tier (narrative, drivers chart,
reviews and browsing), what would move them up, and similar customers; the ask form posts to ``console.ask``.

``customer_context`` gathers the page's data; the ask page renders the same page around an answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from service.api import services
from service.console.charts import waterfall_svg
from service.console.rendering import customer_url, not_ready, render
from service.console.sessions import Session, current
from service.store_checks import DamagedProfile
from service.table_schema import ID_MAX_CHARS

if TYPE_CHECKING:
    from service.whatif import WhatIf

router = APIRouter(include_in_schema=False)


@router.get("/console/customers/{customer_id:path}/ask")
def ask_page(request: Request, customer_id: str) -> Response:
    """The address an answer page shows (the form posts there): opened again, reloaded or bookmarked, the customer.
    The path arrives decoded, so the page of a customer whose id ends in '/ask' (linked as '...%2Fask') lands here too:
    the raw path tells them apart, and that customer's page is shown, never another customer's."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    if not raw.endswith("/ask"):  # the last '/ask' was typed as %2Fask: part of the id
        return customer_page(request, customer_id + "/ask")
    return RedirectResponse(customer_url(customer_id), status_code=303)


# After the route above: an id may hold '/' (sent as %2F), so '<id>/ask' would otherwise be read as an id.
@router.get("/console/customers/{customer_id:path}")
def customer_page(request: Request, customer_id: str) -> Response:
    session = current(request)
    ctx, error = customer_context(request, session, customer_id)
    if error is not None:
        return error
    assert ctx is not None  # one of the two is set
    return render(request, "customer.html", session=session, answer=None, question="", **ctx)


def customer_context(request: Request, session: Session, customer_id: str) -> tuple[dict | None, Response | None]:
    """The customer page's template context, or the error page to send instead (not ready, not scored, unknown)."""
    if len(customer_id) > ID_MAX_CHARS:  # no customer has such an id (cutting it had shown another customer)
        return None, _not_scored(request, session, customer_id, known=False)
    snap = request.app.state.insight.acquire()
    if snap is None:
        return None, not_ready(request, session)
    try:
        profile = snap.profile(customer_id)
        if profile is None:
            return None, _not_scored(request, session, customer_id, known=snap.is_unscored(customer_id))
        return _page_context(request, snap, profile, customer_id), None
    except DamagedProfile as exc:  # a page for the agent, not the API's JSON problem
        page = render(
            request, "error.html", status=500, session=session, title="Profile damaged", message=damaged_message(exc)
        )
        return None, page
    finally:
        snap.release()


def damaged_message(exc: DamagedProfile) -> str:
    """What an agent is told about a damaged stored profile: whose, and who can fix it (no stored values)."""
    return f"{exc.subject[:1].upper()}{exc.subject[1:]} is damaged. Ask the operator to re-score the store."


def _not_scored(request: Request, session: Session, customer_id: str, known: bool) -> Response:
    """404 for a customer without a profile: known without orders yet, or not in the store at all."""
    shown = customer_id if len(customer_id) <= ID_MAX_CHARS else customer_id[:40] + "\u2026"
    msg = (
        f"Customer {shown} is known, no orders yet, so not scored."
        if known
        else f"Customer {shown} is not in the profile store."
    )
    return render(
        request,
        "error.html",
        status=404,
        session=session,
        title="Not scored" if known else "Customer not found",
        message=msg,
    )


def _page_context(request: Request, snap, profile: dict, customer_id: str) -> dict:
    app = request.app
    mask = app.state.settings.api_mask_pii
    view = services.profile_view(snap, profile, mask, top=20)
    exp = services.explanation(snap, customer_id, app.state.narrator, mask)
    wi, wi_error = _what_if(profile, snap.bundle, view.currency)
    similar = _similar(snap, customer_id)
    drivers = profile["profile"]["drivers"]
    chart = Markup(waterfall_svg(float(profile["predicted_value"]), drivers, view.currency, view.horizon_days))
    act = profile["profile"].get("activity") or {}
    return dict(
        view=view,
        exp=exp,
        what_if=wi,
        what_if_error=wi_error,
        similar=similar,
        chart=chart,
        narrative=narrative_blocks(exp.narrative),
        drivers=drivers,
        last_order=act.get("last_order"),
        currency=view.currency,
        reviews=[e for e in view.evidence if e.source.startswith("review")],
        browsing=[e for e in view.evidence if not e.source.startswith("review")],
    )


def _what_if(profile: dict, bundle, currency: str) -> tuple[WhatIf | None, str | None]:
    """What would move the customer up, or why it cannot be answered (the page shows the reason instead)."""
    from service.whatif import WhatIfError, what_if

    try:
        return what_if(profile, bundle, currency=currency), None
    except WhatIfError as exc:
        return None, str(exc)


def _similar(snap, customer_id: str) -> list:
    """The five nearest customers; none when the customer is not in the similarity index."""
    try:
        return services.similar_customers(snap, snap.neighbours(customer_id, 5))
    except KeyError:
        return []


def narrative_blocks(text: str) -> list[dict]:
    """Narrative lines as blocks: a paragraph, or a list of '- ' items under a heading line ending in ':'."""
    blocks: list[dict] = []
    for line in text.splitlines():
        if line.startswith("- ") and blocks and blocks[-1]["kind"] == "list":
            blocks[-1]["items"].append(line[2:])
        elif line.startswith("- "):
            blocks.append({"kind": "list", "title": None, "items": [line[2:]]})
        elif line.endswith(":"):
            blocks.append({"kind": "list", "title": line, "items": []})
        else:
            blocks.append({"kind": "p", "text": line})
    return blocks
