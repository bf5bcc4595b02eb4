"""The window a forecast is said to cover ("$207.18 over the next year", "erwartet im nächsten Jahr 207,18 $", "dans les
12 prochains mois"): it must be the horizon the facts give. Said after the amount as a rate ("$86 a month") it is
checked by ``claim_numbers``; these are the windows said with "next", before or after the amount, which had passed."""

from __future__ import annotations

import re

from service.facts import Facts

_NEXT = (
    r"next|coming|following|upcoming|n(?:\u00e4|ae|a)chsten?|kommenden?|folgenden?|prochaine?s?|pr(?:\u00f3|o)xim[oa]s?|"
    r"prossim[oai]|komende|volgende?"
)
# Days of a period word in the languages the service reads (a forecast's window here, a rate of purchases in
# ``claim_ratios``, a forecast per period in ``claim_numbers``)
PERIOD_DAYS = {
    "year": 365.25, "years": 365.25, "jahr": 365.25, "jahre": 365.25, "jahren": 365.25, "an": 365.25, "ans": 365.25,
    "ann\u00e9e": 365.25, "annee": 365.25, "ann\u00e9es": 365.25, "annees": 365.25, "a\u00f1o": 365.25,
    "a\u00f1os": 365.25,
    "ano": 365.25, "anos": 365.25, "anno": 365.25, "anni": 365.25, "jaar": 365.25, "jaren": 365.25,
    "month": 30.44, "months": 30.44, "monat": 30.44, "monate": 30.44, "monaten": 30.44, "mois": 30.44, "mes": 30.44,
    "meses": 30.44, "m\u00eas": 30.44, "mese": 30.44, "mesi": 30.44, "maand": 30.44, "maanden": 30.44,
    "quarter": 91.31, "quarters": 91.31, "quartal": 91.31, "quartale": 91.31, "quartalen": 91.31, "trimestre": 91.31,
    "trimestres": 91.31, "trimestri": 91.31, "kwartaal": 91.31, "kwartalen": 91.31,
    "week": 7.0, "weeks": 7.0, "woche": 7.0, "wochen": 7.0, "semaine": 7.0, "semaines": 7.0, "semana": 7.0,
    "semanas": 7.0, "settimana": 7.0, "settimane": 7.0, "weken": 7.0,
    "day": 1.0, "days": 1.0, "tag": 1.0, "tage": 1.0, "tagen": 1.0, "jour": 1.0, "jours": 1.0, "d\u00eda": 1.0,
    "d\u00edas": 1.0, "dia": 1.0, "dias": 1.0, "giorno": 1.0, "giorni": 1.0, "dag": 1.0, "dagen": 1.0,
}  # fmt: skip
PERIOD_WORDS = "|".join(sorted((re.escape(u) for u in PERIOD_DAYS), key=len, reverse=True))
_COUNT_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "six": 6,
    "twelve": 12,
    "zwei": 2,
    "drei": 3,
    "sechs": 6,
    "zw\u00f6lf": 12,
}
_COUNT = r"\d+|" + "|".join(_COUNT_WORDS)
# "next 12 months", "nächsten 12 Monaten", "12 prochains mois", "próximos 6 meses"; "l'année prochaine"
_WINDOW = re.compile(
    rf"\b(?:(?P<n1>{_COUNT})\s+)?(?:{_NEXT})\s+(?:(?P<n2>{_COUNT})\s+)?(?P<u1>{PERIOD_WORDS})\b|"
    rf"\b(?P<u2>{PERIOD_WORDS})\s+(?:{_NEXT})\b",
    re.I,
)


def forecast_window_reasons(before: str, after: str, f: Facts) -> list[str]:
    """A window said with 'next' just before or after the forecast amount must be the horizon (within 15%)."""
    reasons = []
    for text in (before, after):
        for m in _WINDOW.finditer(text):
            unit = (m["u1"] or m["u2"]).lower()
            count = m["n1"] or m["n2"]
            n = 1.0 if count is None else float(_COUNT_WORDS.get(count.lower(), count))
            days = n * PERIOD_DAYS[unit]
            if abs(days - f.horizon_days) > 0.15 * f.horizon_days:
                reasons.append(
                    f"states the forecast for \u201c{m.group(0).strip()}\u201d, but it is for the next "
                    f"{f.horizon_days} days"
                )
    return reasons
