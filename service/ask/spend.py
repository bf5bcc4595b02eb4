"""The spend answer: net spend in the period asked about (or to date), from the stored activity."""

from __future__ import annotations

import pandas as pd

from service.ask.context import (
    currency_of,
    data_cutoff,
    purchases_phrase,
    round4_or_none,
    stored_activity,
    stored_features,
)
from service.ask.models import SpendFacts
from service.explain import money
from service.intents import Route
from service.intents.period import future_period, parse_period, unread_period


def spend_between(
    activity: dict, start: pd.Timestamp | None, end: pd.Timestamp, rolling: bool, cutoff: pd.Timestamp
) -> tuple[float, int, bool] | None:
    """(net spend, purchases, whether the count is of purchase days) from the stored activity; None when the store has
    no history for the period. Stores scored before the orders of each day were kept count days instead."""
    months = activity.get("spend_by_month") or {}  # no months: no kept purchase (every order returned or cancelled)
    if start is None:
        return round(sum(v[1] for v in months.values()), 2), sum(int(v[0]) for v in months.values()), False
    recent = activity.get("recent_orders") or []
    from service.activity_limits import RECENT_ORDER_DAYS

    covered = start > cutoff - pd.Timedelta(days=RECENT_ORDER_DAYS)
    # whole months (the data end at the cutoff, so a month that holds it is whole up to it) sum from spend_by_month;
    # anything else needs the per-day purchases, kept for RECENT_ORDER_DAYS only
    whole_months = start.day == 1 and end in ((end + pd.offsets.MonthEnd(0)).normalize(), cutoff.normalize())
    if rolling or not whole_months:
        if not covered:
            # a period that starts before the month of their first kept purchase and runs to the end of the data
            # holds their whole history ("the last 3000 years"): the monthly sums give it exactly
            if not months:
                return 0.0, 0, False
            if start.strftime("%Y-%m") < min(months) and end >= cutoff.normalize():
                return round(sum(v[1] for v in months.values()), 2), sum(int(v[0]) for v in months.values()), False
            return None
        a, b = start.date().isoformat(), end.date().isoformat()
        days = [v for v in recent if a <= v[0] <= b]
        counted = all(len(v) > 2 for v in days)  # [day, spend, orders]; older stores kept [day, spend]
        n = sum(int(v[2]) for v in days) if counted else len(days)
        return round(sum(v[1] for v in days), 2), n, not counted
    a, b = start.strftime("%Y-%m"), end.strftime("%Y-%m")
    sel = [v for k, v in months.items() if a <= k <= b]
    return round(sum(v[1] for v in sel), 2), sum(int(v[0]) for v in sel), False


def answer_spend(r: Route, facts, profile, ctx):
    c = currency_of(facts)
    cutoff = data_cutoff(profile, ctx)
    act = stored_activity(profile)
    feats = stored_features(profile)
    life = facts.figures.get("historic_value", feats.get("monetary_total"))
    life_n = feats.get("frequency")
    question = getattr(r, "text", None) or ""
    words, start, end, rolling = parse_period(question, cutoff)
    later = future_period(question) or (words if start is not None and start > end else None)
    if later is not None:  # a period after the data: nothing to sum, so no spend figure for it
        words, start, end, rolling = "to date", None, cutoff.normalize(), False
    unread = unread_period(question, cutoff) if later is None and start is None else None
    stored = "activity" in (
        profile.get("profile") or {}
    )  # stores scored before activity was kept cannot answer per period
    got = spend_between(act, start, end, rolling, cutoff) if stored else None
    sf = SpendFacts(
        period=words,
        start=start.date().isoformat() if start is not None else None,
        end=end.date().isoformat(),
        spend=got[0] if got else None,
        orders=got[1] if got else None,
        orders_are_days=bool(got and got[2]),
        lifetime_spend=round4_or_none(life),
        lifetime_orders=int(round(life_n)) if life_n is not None else None,
        cutoff=cutoff.date().isoformat(),
        last_order=act.get("last_order"),
        after_data=later,
        unread=unread,
    )
    text = _spend_text(facts, c, sf, words, start, rolling, got, life, life_n, stored)
    if later is not None:
        text = (
            f"{later[0].upper() + later[1:]} is after the data, which end on {sf.cutoff}, so nothing has been spent in "
            f"it yet; the model expects {money(facts.predicted_value, c)} in the next {facts.horizon_days} days. "
        ) + text
    elif unread is not None:
        text = (
            f'I could not read the period in the question ("{unread}"); I can answer for a year, quarter, half, month '
            "or week, 'since' or 'between' such periods, or the last N days, weeks or months. " + text
        )
    return text, {"spend": sf}


def _spend_text(facts, c, sf, words, start, rolling, got, life, life_n, stored) -> str:
    """The answer's words: spend in the period (or to date, or why the store cannot tell), then spend to date."""
    net = "returned and cancelled orders not counted"
    if start is None:
        text = (
            (
                f"{facts.customer_id} has spent {money(life, c)} to date over {purchases_phrase(life_n or 0)} "
                f"({net}; the data end on {sf.cutoff})."
            )
            if life is not None
            else f"The store has no spend history for {facts.customer_id}."
        )
    elif got is None and stored:
        # no figure in the words: the number check would find none among the facts (it failed every such answer)
        text = (
            f"Purchases per day are kept for a little over the last year only, so {words} cannot be summed to "
            "the day; ask for whole months or years instead."
        )
    elif got is None:
        text = (
            f"The store holds no per-period spend for {facts.customer_id} (the profiles were scored before spend per "
            "month was stored; re-score to answer this)."
        )
        if life is not None:
            text += f" To date they have spent {money(life, c)} over {purchases_phrase(life_n or 0)}."
    else:
        spend, n, days = got
        # 'since' and 'between' periods are worded as their dates: "2025-01-01 to 2025-10-02"
        when = f"From {words}" if words[:1].isdigit() and " to " in words else f"In {words}"
        when = f"On {words}" if len(words) == 10 and words[4] == "-" else when
        if n == 0:
            text = f"{when}, {facts.customer_id} bought nothing ({net}; the data end on {sf.cutoff})."
            if sf.last_order:
                text += f" Their last purchase was on {sf.last_order}."
        else:
            unit = ("purchase day" if n == 1 else "purchase days") if days else ("purchase" if n == 1 else "purchases")
            text = (
                f"{when}, {facts.customer_id} spent {money(spend, c)} over {n} {unit} "
                f"({net}; the data end on {sf.cutoff})."
            )
        if life is not None:
            text += f" To date: {money(life, c)} over {purchases_phrase(life_n or 0)}."
    return text
