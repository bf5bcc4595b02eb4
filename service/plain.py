"""Facts in plain words, for a CRM agent rather than an analyst.

Every driver is said as the fact it is ("bought 17 times, more often than 97% of customers"), not as a
feature name with a unit ("17 purchases, 97th percentile"); counts are whole and singular where they are
one; days are whole ("today", "yesterday", "12 days ago"); a peer comparison reads in the direction of the
fact (a customer who bought recently "bought more recently than 98% of customers", never "2nd percentile");
amounts that would round to the same cent as a threshold get more decimals, so a Low customer never reads
"expects $21.67 ... Medium starts at $21.67".

The numbers these phrases print are all facts or simple transforms of facts (100 - percentile, whole
numbers), which ``service.explain.check_narrative`` accepts.
"""

from __future__ import annotations

import math

# The driver family of the season features (service.features.SEASON_FAMILIES; kept here so plain stays import-free)
SEASON_DRIVER = "time of year"

MONEY_FEATURES = {"monetary_total", "avg_order_value", "max_order_value", "spend_recent", "spend_prior"}


def money(x: float, currency: str = "$", decimals: int = 2) -> str:
    return f"{currency}{abs(x):,.{decimals}f}"


def distinct_money(a: float, b: float, currency: str = "$") -> tuple[str, str]:
    """Two amounts with as many decimals (2 to 4) as it takes for them not to read as equal."""
    for d in (2, 3, 4):
        sa, sb = money(a, currency, d), money(b, currency, d)
        if sa != sb or a == b:
            return sa, sb
    return sa, sb


def plural(n: float, one: str, many: str | None = None) -> str:
    k = int(round(n))
    return f"{k:,} {one if k == 1 else (many or one + 's')}"


def days_ago(days: float) -> str:
    d = int(math.floor(max(days, 0.0)))
    if d == 0:
        return "today"
    if d == 1:
        return "yesterday"
    return f"{d:,} days ago"


def duration(days: float) -> str:
    d = max(days, 0.0)
    if d < 60:
        return plural(d, "day")
    if d < 730:
        return plural(d / 30.44, "month")
    return plural(d // 365.25, "year")


def share(p: float) -> int:
    """A percentage as a whole number that never overstates: 97.6 -> 97, 99.95 -> 99."""
    return int(math.floor(min(max(p, 0.0), 100.0)))


def chance(probability: float) -> str:
    """'31%'; 'under 1%' or 'over 99%' where whole percents would round an uncertain chance to 0% or 100% (an agent
    hears "0% chance of no purchase" as a certainty)."""
    pct = float(probability) * 100.0
    said = f"{pct:.0f}"
    if said == "0" and pct > 0.0:
        return "under 1%"
    if said == "100" and pct < 100.0:
        return "over 99%"
    return f"{said}%"


def compare(percentile: float | None, more: str, less: str) -> str:
    """', more X than 97% of customers' or ', less X than 60% of customers' (the side the customer is on); '' without
    a percentile.

    ``percentile``: share of customers with a lower value. At 50 or above the customer is compared with those below
    (more than p%), under 50 with those above (less than 100 - p%).
    """
    if percentile is None:
        return ""
    if percentile >= 50:
        n = share(percentile)
        return f", {more} {n}% of customers" if n >= 1 else ""
    n = share(100.0 - percentile)
    return f", {less} {n}% of customers" if n >= 1 else ""


# Headline features whose direction a CRM agent takes for granted: +1 where a higher value usually counts in a
# customer's favour (more purchases, more spend), -1 where a lower one does (days since the last purchase, days between
# purchases, returns). Tenure and the text and trend families have no such reading.
FAVOURABLE_DIRECTION = {
    "frequency": 1,
    "monetary_total": 1,
    "avg_order_value": 1,
    "n_categories": 1,
    "recency_days": -1,
    "ipi_mean_days": -1,
    "n_returned": -1,
}


def effect_against_fact(d, effect: str = "value") -> str | None:
    """A short note when a driver's effect (on the value, or with ``effect="churn"`` on the churn risk, where raising
    it works against the customer) runs against how its fact usually reads, else None.

    Why: the model weighs every family against all the others, so a family can lower the forecast of a customer whose
    fact reads well, and "buys more often than 90% of customers ... takes off $240" heard without a word sounds like a
    slip. Only for clear cases: the customer in the top or bottom quarter.
    """
    sign = FAVOURABLE_DIRECTION.get(d.feature or "")
    helps = -(d.churn_contribution or 0.0) if effect == "churn" else d.contribution
    if sign is None or d.percentile is None or d.value is None or helps == 0:
        return None
    good = d.percentile if sign > 0 else 100.0 - d.percentile
    if sign < 0 and d.value == 0:
        # none at all (no returns) is the best a fewer-is-better fact can read, though most customers share it and
        # its mid-rank percentile sits in the middle
        good = 100.0
    if good >= 75 and helps < 0:
        return "although this usually counts in a customer's favour"
    if good <= 25 and helps > 0:
        return "although this usually counts against a customer"
    return None


def driver_fact(d, currency: str = "$", features: dict | None = None) -> str:
    """The plain fact behind a driver (``service.explain.Driver``), without its effect."""
    f = features or {}
    fact = _purchase_fact(d, currency)
    if fact is None:
        fact = _spend_trend_fact(f, currency) if d.feature == "spend_trend" else _engagement_fact(d, f)
    return fact if fact is not None else _value_fact(d, currency)


def _purchase_fact(d, currency: str) -> str | None:
    """Purchase history drivers: how often, how recently, how much, how long, how regularly, returns, range."""
    v, p, feat = d.value, d.percentile, d.feature
    if feat == "ipi_mean_days":
        return _rhythm_fact(v, p)
    if v is None:
        return None
    if feat == "frequency":
        if round(v) == 0:
            return "no purchases kept (every order was returned or cancelled)"
        return f"bought {'once' if round(v) == 1 else plural(v, 'time')}" + compare(
            p, "more often than", "less often than"
        )
    if feat == "recency_days":
        # recency percentile: share with fewer days since their last purchase, i.e. who bought more recently
        if p is None:
            return f"last bought {days_ago(v)}"
        if p < 50:
            return f"last bought {days_ago(v)}, more recently than {share(100 - p)}% of customers"
        return f"last bought {days_ago(v)}, longer ago than {share(p)}% of customers"
    if feat == "monetary_total":
        return f"spent {money(v, currency)} so far" + compare(p, "more than", "less than")
    if feat == "avg_order_value":
        if v == 0:
            return "no kept purchases to average"
        return f"spends {money(v, currency)} per order on average" + compare(p, "more than", "less than")
    if feat == "tenure_days":
        return f"a customer for {duration(v)}" + compare(p, "longer than", "not as long as")
    if feat == "n_returned":
        if round(v) == 0:
            return "no returned or cancelled orders"
        return f"returned or cancelled {plural(v, 'order')}" + compare(p, "more than", "fewer than")
    if feat == "n_categories":
        return f"bought from {plural(v, 'category', 'categories')}" + compare(p, "more than", "fewer than")
    return None


def _rhythm_fact(v: float | None, p: float | None) -> str:
    """The mean days between purchases (ipi_mean_days); a percentile compares with repeat customers only."""
    if v is None:
        return "too few purchases to show a buying rhythm"
    if p is None:
        return f"buys every {plural(v, 'day')} on average"
    if p < 50:
        return f"buys every {plural(v, 'day')} on average, more often than {share(100 - p)}% of repeat customers"
    return f"buys every {plural(v, 'day')} on average, less often than {share(p)}% of repeat customers"


def _spend_trend_fact(f: dict, currency: str) -> str:
    """Spend in the last 90 days against the 90 days before, from the figures (the trend's own value is a ratio)."""
    recent, prior = f.get("spend_recent"), f.get("spend_prior")
    if recent is None or prior is None:
        return "how their spending changed recently"
    if abs(recent) < 0.005 and abs(prior) < 0.005:
        return "nothing spent in the last 90 days, nor in the 90 days before"
    if abs(recent - prior) < 0.005:
        return f"spent {money(recent, currency)} in the last 90 days, the same as in the 90 days before"
    word = "up" if recent > prior else "down"
    return (
        f"spent {money(recent, currency)} in the last 90 days, {word} from {money(prior, currency)} "
        "in the 90 days before"
    )


def _engagement_fact(d, f: dict) -> str | None:
    """Ratings, browsing, the wording of reviews and browsing, and the purchase-pattern model's expected orders."""
    v, p, feat = d.value, d.percentile, d.feature
    if feat == "rating_mean":
        n = f.get("review_count")
        if v is None:
            return "no rated reviews"
        count = f" over {plural(n, 'review')}" if n else ""
        return f"rates us {v:.1f} out of 5 on average{count}"
    if feat == "n_events" and v is not None:
        return f"{plural(v, 'product view, search or cart add', 'product views, searches and cart adds')}" + compare(
            p, "more than", "fewer than"
        )
    if feat == "n_review_texts":
        return (
            "the wording of their review"
            if v is not None and round(v) == 1
            else (f"the wording of their {plural(v, 'review')}" if v else "the wording of their reviews")
        )
    if feat == "n_browse_texts":
        return "the kind of products they look at and search for"
    if feat == "btyd_expected_orders":
        # The purchase-pattern model's own count is for its horizon, not necessarily the forecast's: no number here,
        # so it never reads as a second, different "orders expected".
        return "how often and how recently they have bought (their purchase pattern)"
    return None


def _value_fact(d, currency: str) -> str:
    """Any other driver: its value and unit (money as money), with the peer comparison; its name without a value."""
    v, p, feat = d.value, d.percentile, d.feature
    if d.name == SEASON_DRIVER:
        return _season_fact(d.contribution)
    if v is None:
        return d.name
    value = (
        money(v, currency)
        if feat in MONEY_FEATURES
        else (f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:,.2f}")
    )
    return f"{value} {d.unit or ''}".strip() + compare(p, "more than", "less than")


def _season_fact(contribution: float) -> str:
    """The season driver has no value of its own (everyone scored together shares the date): say what it means."""
    season = "a quieter" if contribution < 0 else "a busier"
    return (
        f"the weeks ahead are {season} season for spend than the year's average (true of everyone scored on this date)"
    )


def churn_band_words(band: str | None) -> str:
    return {"low": "low", "medium": "medium", "high": "high"}.get(band or "", "unknown")
