"""The churn answer: the churn probability, against the population, and the drivers that raise and lower it."""

from __future__ import annotations

from service.ask.context import currency_of, round4_or_none, stored_features
from service.ask.models import ChurnDriver, ChurnFacts
from service.drivers import UNITS
from service.explain import Driver
from service.intents import Route
from service.plain import chance, days_ago, driver_fact, effect_against_fact, plural


def churn_facts(facts, profile, ctx) -> tuple[ChurnFacts, list[Driver], list[Driver]]:
    drivers = [
        Driver(
            unit=UNITS.get(d.get("feature") or ""),
            **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")},
        )
        for d in profile["profile"]["drivers"]
    ]

    def cd(d: Driver) -> ChurnDriver:
        return ChurnDriver(
            name=d.name,
            value=d.value,
            unit=d.unit,
            percentile=d.percentile,
            churn_contribution=d.churn_contribution or 0.0,
        )

    ups = sorted(
        [d for d in drivers if (d.churn_contribution or 0) >= 0.005], key=lambda d: -(d.churn_contribution or 0)
    )[:3]
    downs = sorted(
        [d for d in drivers if (d.churn_contribution or 0) <= -0.005], key=lambda d: d.churn_contribution or 0
    )[:3]
    feats = stored_features(profile)
    return (
        ChurnFacts(
            churn_probability=facts.churn_probability,
            churn_band=facts.churn_band,
            population_churn_probability=round4_or_none(ctx.population_churn),
            horizon_days=facts.horizon_days,
            rfm_segment=facts.rfm_segment,
            recency_days=round4_or_none(feats.get("recency_days")),
            usual_gap_days=round4_or_none(feats.get("ipi_mean_days")),
            raises_risk=[cd(d) for d in ups],
            lowers_risk=[cd(d) for d in downs],
        ),
        ups,
        downs,
    )


def answer_churn(r: Route, facts, profile, ctx):
    cf, ups, downs = churn_facts(facts, profile, ctx)
    c = currency_of(facts)
    p = round(facts.churn_probability * 100)
    band = f"{cf.churn_band} churn risk: " if cf.churn_band else ""
    s = [
        f"{facts.customer_id} ({facts.tier} tier) has a {band}{chance(facts.churn_probability)} chance of making no "
        f"purchase in the next {facts.horizon_days} days"
    ]
    if cf.population_churn_probability is not None:
        avg = round(cf.population_churn_probability * 100)
        rel = "below" if p < avg else "above" if p > avg else "the same as"
        s[0] += f", {rel} the average of {avg}% across scored customers"
    s[0] += "."
    if cf.recency_days is not None:
        line = f"They last bought {days_ago(cf.recency_days)}"
        if cf.usual_gap_days is not None:
            line += f"; they usually buy every {plural(cf.usual_gap_days, 'day')}"
        s.append(line + ".")
    fig = facts.figures
    if ups:
        s.append(
            "What raises the risk: "
            + "; ".join(f"{d.name} ({_points(d.churn_contribution)}{_note(d)}): {driver_fact(d, c, fig)}" for d in ups)
            + "."
        )
    if downs:
        s.append(
            "What lowers it: "
            + "; ".join(
                f"{d.name} ({_points(d.churn_contribution)}{_note(d)}): {driver_fact(d, c, fig)}" for d in downs
            )
            + "."
        )
    return "\n".join(s), {"churn": cf}


def _note(d) -> str:
    """', although this usually counts ...' where the driver moves the risk against how its fact usually reads."""
    note = effect_against_fact(d, "churn")
    return f", {note}" if note else ""


def _points(churn_contribution: float | None) -> str:
    """'+7 points', '-1 point', or 'less than 1 point' where the change rounds to no whole point (the section's title
    says which way)."""
    x = (churn_contribution or 0.0) * 100
    sign, n = ("+" if x >= 0 else "-"), round(abs(x))
    return "less than 1 point" if n == 0 else f"{sign}{n} point{'' if n == 1 else 's'}"
