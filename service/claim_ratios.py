"""Numbers that are ratios of two facts, and comparisons with the other customers: "almost five times the Medium
floor", "more than half of scored customers", "longer than 68% of customers". The number checks had read "5 times" as
a count of purchases and let any share pass in either direction (both a percentile and its complement are facts)."""

from __future__ import annotations

import re

from service.claim_drivers import driver_compared, driver_named_last
from service.claim_horizon import PERIOD_DAYS, PERIOD_WORDS
from service.claim_numbers import MONEY, amount_of, clauses
from service.facts import Facts

_MULTIPLE_WORDS = {
    "twice": 2.0, "double": 2.0, "triple": 3.0, "treble": 3.0, "half": 0.5, "doble": 2.0, "doppio": 2.0,
    "doppelte": 2.0, "zweimal": 2.0, "dubbele": 2.0, "dobro": 2.0, "triplo": 3.0, "dreifache": 3.0, "dreimal": 3.0,
}  # fmt: skip
# hedges in the other languages the service reads, as the English one they say
_HEDGE_ABROAD = {
    "environ": "about", "etwa": "about", "rund": "about", "alrededor de": "about", "unos": "about", "circa": "about",
    "ongeveer": "about", "cerca de": "about", "pr\u00e8s de": "about", "presque": "almost", "fast": "almost",
    "casi": "almost", "quasi": "almost", "bijna": "almost", "quase": "almost", "plus de": "more than",
    "mehr als": "more than", "m\u00e1s de": "more than", "pi\u00f9 di": "more than", "meer dan": "more than",
    "mais de": "more than",
}  # fmt: skip
_HEDGE = (
    r"(?P<cmp>more than|over|above|at least|less than|under|below|almost|nearly|just under|close to|about|around|"
    r"roughly|approximately|some|just over|well over|" + "|".join(_HEDGE_ABROAD) + r")?\s*"
    r"(?:(?:le|la|el|il|lo|das|het|o)\s+)?"
)
# a floor in the other languages, the tier after it ("le double du seuil Medium", "il doppio della soglia High")
_FLOOR_ABROAD = (
    r"(?:seuil|schwelle\w*|umbral|soglia|drempel\w*|limiar|grenze)(?:\s+(?:du|de|del|di|van|von|f\u00fcr|do|da|des)"
    r")?(?:\s+(?:niveau|nivel|livello|stufe|n\u00edvel))?(?:\s+(?P<tier2>VIP|High|Medium|Low)\b)?"
)
_MULTIPLE = re.compile(
    _HEDGE
    + r"(?P<n>\d+(?:\.\d+)?\s*(?:times|x|\u00d7|fois|mal|veces|volte|keer|vezes)|twice|double|triple|treble|half|"
    r"doble|doppio|doppelte|zweimal|dubbele|dobro|triplo|dreifache|dreimal)\s+(?:of\s+)?"
    r"(?:as (?:much|high|large|big) as\s+)?(?:the\s+|that\s+|this\s+|her\s+|his\s+|their\s+|its\s+)?"
    r"(?:(?:du|de|del|della|dello|des|vom|van|do|da|dem|der|den|von)\s+)?(?:l'|(?:la|le|el|il|lo|die|het|o|a)\s+)?"
    r"(?P<what>(?:(?P<tier>VIP|High|Medium|Low)\s+)?(?:tier\s+)?(?:floor|threshold|minimum|cut-?off|entry point|bar)\b|"
    + _FLOOR_ABROAD
    + r"|(?P<that>that|this)\b(?!\s+(?:month|week|year|day|time|period|quarter|season|many|much|order|purchase))|"
    r"(?P<past>(?:everything|all|what|the amount)\s+(?:(?:she|he|they)(?:'s|'ve|\u2019s|\u2019ve|\s+has|\s+have)?\s+)?"
    r"spent(?:\s+(?:so far|to date|in total))?|(?:her|his|their)\s+(?:total\s+|lifetime\s+|past\s+)?"
    r"spend(?:ing)?(?:\s+(?:so far|to date))?|(?:her|his|their)\s+(?:historic|lifetime)\s+value)|"
    # an amount named right there ("roughly ten times the $12.66 they've spent so far")
    r"(?P<money>" + MONEY.pattern + r"))",
    re.I,
)
# How often they buy, as a rate ("more than three times a month", "twice a week", "dreimal im Monat"): the purchase
# cadence's rate, not a count of purchases (which the first look had read it as)
_RATE = re.compile(
    _HEDGE
    + r"(?:(?P<n>\d+(?:\.\d+)?)\s*(?:times|x|fois|mal|veces|volte|keer|vezes)|(?P<word>once|twice|zweimal|dreimal))"
    r"\s+(?:a|an|per|each|every|par|pro|im|al|por|in de|in|a la|ao)\s+"
    r"(?P<per>" + PERIOD_WORDS + r")\b",
    re.I,
)
_RATE_WORDS = {"once": 1.0, "twice": 2.0, "zweimal": 2.0, "dreimal": 3.0}
# The forecast as a share of an amount named there ("less than 4% of the $147.77 they have spent so far")
_SHARE_OF_AMOUNT = re.compile(
    _HEDGE + r"(?:(?P<pct>\d+(?:\.\d+)?)\s?%|(?P<frac>half|(?:a|one|two|three|four|\d)[- ](?:thirds?|quarters?|fifths?|"
    r"tenths?)))\s+(?:of|von|de|del|di|van|do|da)\s+(?:the\s+|their\s+|her\s+|his\s+|"
    r"(?:los|las|der|den|die|les|le|la|el|il|o|a|os|as)\s+)?"
    # what the amount is, named before it ("43% of lifetime $463.26", "4% of total spend $147.77")
    r"(?:(?:lifetime|total|past|historic|spend|spent|so far|to date|gesamt\w*|bisherig\w*)\s+){0,2}(?:of\s+)?"
    r"(?P<money>" + MONEY.pattern + r")",
    re.I,
)
_TIER_WORD = re.compile(r"\b(VIP|High|Medium|Low)\b")
_PAST = re.compile(r"\b(spent|spend (?:so far|to date)|so far|to date|lifetime|historic\w*)\b", re.I)


def multiple_spans(text: str) -> list[tuple[int, int]]:
    """Where a multiple or a rate of purchases is stated: checked here only (the first look read '5 times' as five
    purchases)."""
    return (
        [m.span() for m in _MULTIPLE.finditer(text)]
        + [m.span() for m in _RATE.finditer(text)]
        + [m.span() for m in _SHARE_OF_AMOUNT.finditer(text)]
    )


def share_of_amount_reasons(text: str, f: Facts) -> list[str]:
    """The forecast as a percentage of an amount named right after it, as hedged: 'less than 4%' of $147.77 holds for
    a forecast of $5.72."""
    reasons = []
    for m in _SHARE_OF_AMOUNT.finditer(text):
        base = amount_of(MONEY.match(m["money"]))  # type: ignore[arg-type]
        if base <= 0:
            continue
        said = float(m["pct"]) / 100.0 if m["pct"] else _fraction(m["frac"]) / 100.0  # "roughly a fifth of the $14.22"
        cmp = (m["cmp"] or "").lower()
        if not _holds(_HEDGE_ABROAD.get(cmp, cmp), f.predicted_value / base, said):
            reasons.append(
                f"\u201c{m.group(0).strip()}\u201d: the forecast is {100 * f.predicted_value / base:.0f}% of it"
            )
    return reasons


def rate_reasons(text: str, f: Facts) -> list[str]:
    """A rate of purchases ('three times a month') must be the period over the days between their orders, as hedged;
    without that fact it is not known."""
    reasons = []
    days = f.figures.get("avg_days_between_orders") or f.figures.get("ipi_mean_days")
    for m in _RATE.finditer(text):
        n = _RATE_WORDS[m["word"].lower()] if m["word"] else float(m["n"])
        if not days:
            reasons.append(f"\u201c{m.group(0).strip()}\u201d: no fact says how often they buy")
            continue
        rate = PERIOD_DAYS[m["per"].lower()] / float(days)
        cmp = (m["cmp"] or "").lower()
        if not _holds(_HEDGE_ABROAD.get(cmp, cmp), rate, n):
            reasons.append(f"\u201c{m.group(0).strip()}\u201d: they buy about {rate:.1f} times a {m['per'].lower()}")
    return reasons


def multiple_reasons(text: str, f: Facts) -> list[str]:
    """A multiple of a floor ('almost five times the Medium floor', 'more than three times that floor') or of an amount
    just named ('Medium starts at $25.72; the forecast is about double that') must be the forecast's (or, said of spend
    so far, the spend's) ratio to it, as hedged: 'almost' at most the multiple, 'more than' above it, bare within
    10%."""
    reasons = []
    for m in _MULTIPLE.finditer(text):
        base = _reference(text, m, f)
        if base is None or base <= 0:
            continue
        word = m["n"].lower()
        n = _MULTIPLE_WORDS.get(word) or float(re.findall(r"\d+(?:\.\d+)?", word)[0])
        sentence_start = max(
            text.rfind(".", 0, m.start()), text.rfind(";", 0, m.start()), text.rfind("\n", 0, m.start())
        )
        said_of = text[sentence_start + 1 : m.start()]
        past = f.figures.get("monetary_total")
        subjects = [past] if past is not None and _PAST.search(said_of) and not m["past"] else [f.predicted_value]
        cmp = (m["cmp"] or "").lower()
        if not any(_holds(_HEDGE_ABROAD.get(cmp, cmp), s / base, n) for s in subjects):
            ratio = subjects[0] / base
            reasons.append(f"\u201c{m.group(0).strip()}\u201d: the ratio is {ratio:.2f}")
    return reasons


def _reference(text: str, m: re.Match, f: Facts) -> float | None:
    """What a multiple is of: the spend so far when its words name it, the floor of the tier it names, else of the tier
    named last before it, else the customer's own floor; for 'that' / 'this' alone, the amount named last before it in
    its sentence or the one before."""
    before = text[max(0, m.start() - 160) : m.start()]
    if m["money"]:  # "ten times the $12.66 they've spent": that amount
        return amount_of(MONEY.match(m["money"]))  # type: ignore[arg-type]
    if m["past"]:  # "more than double everything they've spent to date": the forecast against the spend so far
        past = f.figures.get("monetary_total")
        return float(past) if past is not None else None
    if m["that"]:
        amounts = list(MONEY.finditer(before))
        return amount_of(amounts[-1]) if amounts else None
    tier = m["tier"] or m["tier2"] or next((t.group(1) for t in reversed(list(_TIER_WORD.finditer(before)))), None)
    if tier is not None:
        name = "VIP" if tier.lower() == "vip" else tier.capitalize()
        floor = f.figures.get(f"floor_{name}")
        if floor is not None:
            return float(floor)
    return f.tier_floor


def _holds(cmp: str, ratio: float, n: float) -> bool:
    if cmp in ("more than", "over", "above", "at least", "just over", "well over"):
        return ratio >= n * 0.98
    if cmp in ("less than", "under", "below"):
        return ratio <= n * 1.02
    if cmp in ("almost", "nearly", "just under"):
        return n * 0.8 <= ratio <= n * 1.02
    if cmp:  # about, around, roughly, close to
        return abs(ratio - n) <= 0.2 * n
    return abs(ratio - n) <= 0.1 * n


# --- shares of customers ---------------------------------------------------------------------------------------------

_BOUNDS = {"half": 50.0, "most": 50.0, "the majority": 50.0, "a majority": 50.0}
_PARTS = {"third": 3, "quarter": 4, "fifth": 5, "tenth": 10}
_COUNT_OF = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "nine": 9}


def _fraction(said: str) -> float:
    """A share said in words, in percent: 'most' 50, 'two-thirds' (or '2-thirds', as number words are read) 66.7,
    'three quarters' 75."""
    said = said.lower()
    if said in _BOUNDS:
        return _BOUNDS[said]
    count, part = re.split(r"[- ]", said, maxsplit=1)
    n = int(count) if count.isdigit() else _COUNT_OF[count]
    return 100.0 * n / _PARTS[part.rstrip("s")]


_MORE = (
    r"more|higher|greater|larger|bigger|above|ahead of|better|longer|further|stronger|outspends?|outranks?|beats?|"
    r"beating|outperforms?|outdoes|tops"
)
_LESS = r"less|fewer|lower|smaller|below|behind|shorter|worse|not as \w+ as|under"
_SHARE = re.compile(
    rf"\b(?P<dir>{_MORE}|{_LESS})\b(?:\s+(?P<how>often|frequently|actively))?(?:\s+than)?\s+"
    r"(?P<hedge>about\s+|around\s+|roughly\s+|nearly\s+|almost\s+)?(?:just\s+|only\s+|barely\s+|merely\s+|a mere\s+)?"
    r"(?:(?P<pct>\d+(?:\.\d+)?)\s?%|(?P<frac>half|most|the majority|a majority|"
    r"(?:a|one|two|three|four|nine|\d)[- ](?:thirds?|quarters?|fifths?|tenths?))|"
    r"(?P<k>\d+)\s+(?:in|out of)\s+(?P<n>\d+))\s+(?:of\s+)?(?:the\s+|all\s+|our\s+|other\s+)?"
    r"(?:scored\s+)?(?:customers|clients|buyers|shoppers|accounts)\b",
    re.I,
)


# The same comparison in the other languages the service reads ("liegt er vor mehr als 95 % der Kunden", "devant 80 %
# des clients", "por delante del 79 % de los clientes")
_MORE_ABROAD = (
    r"vor|(?:\u00fc|ue)ber|devant|au-dessus de|por (?:delante|encima) del?|davanti al?|sopra il|boven|"
    r"v(?:\u00f3\u00f3|oo)r|"
    r"[a\u00e0] frente de|acima de|mehr als|plus que|m[a\u00e1]s que|pi[u\u00f9] di|meer dan|mais (?:do )?que"
)
_LESS_ABROAD = (
    r"unter|hinter|derri[e\u00e8]re|en dessous de|por debajo del?|detr[a\u00e1]s del?|dietro al?|sotto il|achter|onder|"
    r"atr[a\u00e1]s de|abaixo de|weniger als|moins que|menos que|meno di|minder dan"
)
_SHARE_ABROAD = re.compile(
    rf"\b(?P<dir>{_MORE_ABROAD}|{_LESS_ABROAD})\s+(?P<hedge>(?:rund|etwa|environ|alrededor del?|circa|ongeveer|"
    rf"cerca de)\s+)?"
    r"(?:(?:mehr als|plus de|m[a\u00e1]s del?|pi[u\u00f9] del?|meer dan|mais de)\s+)?(?P<pct>\d+(?:\.\d+)?)\s?%\s+"
    r"(?:der|des|de los|de las|del|dei|delle|degli|van de|van alle|dos|das|de)\s+(?:\w+\s+)?"
    r"(?:kunden|kundinnen|clients|clientes|clienti|klanten)\b",
    re.I,
)


def fraction_spans(text: str) -> list[tuple[int, int]]:
    """Where a share of customers is said in words ('two-thirds', read as '2-thirds', 'nine in ten'): checked here only
    (the first look read its numbers as numbers of something)."""
    found = [m.span("frac") for m in _SHARE.finditer(text) if m["frac"]]
    return found + [(m.start("k"), m.end("n")) for m in _SHARE.finditer(text) if m["k"]]  # "nine in ten"


_FORECAST_WORDS = re.compile(
    r"\b(?:forecast|expect\w*|predict\w*|worth|spend in the next|model|ranks?|ranked|(?:we|the model) scored)\b", re.I
)


def share_reasons(text: str, f: Facts) -> list[str]:
    """A comparison with a share of customers, in its direction: said of a driver ('longer than 68% of customers'),
    its percentile (more than N%) or its complement (less than N%); said of the forecast ('more than half of scored
    customers'), its rank. Both a percentile and its complement are facts, so either number had passed in either
    direction."""
    reasons = []
    for clause in clauses(text):
        for m in [*_SHARE.finditer(clause), *_SHARE_ABROAD.finditer(clause)]:
            # what the share is of: the driver named last before it, by name or in other words ("their average order
            # of $108, although it's higher than 88% of customers"), and the forecast when the clause speaks of one
            # ("... more than 86% of customers, mainly thanks to frequency" names its driver after the share)
            # ... unless its words compare what only one driver measures ("shorter than most customers" is the tenure,
            # "browse more actively than most" the browsing): then that driver alone, and nothing when it is none of
            # the customer's top drivers
            compared = driver_compared(clause[max(0, m.start() - 60) : m.start()], m.group(0))
            if compared is None:
                d = driver_named_last(clause[: m.start()], f)
            else:
                d = next((x for x in f.drivers if x.name == compared), None)
            of = [(d.percentile, f"{d.name}'s percentile")] if d is not None and d.percentile is not None else []
            if _FORECAST_WORDS.search(clause) and compared is None:
                of.append((f.value_rank_pct, "the forecast's rank"))
            if not of:
                continue
            g = m.groupdict()
            more = (
                re.fullmatch(_MORE, g["dir"], re.I) is not None
                or re.fullmatch(_MORE_ABROAD, g["dir"], re.I) is not None
            )
            if g["pct"]:
                x, loose = float(g["pct"]), False
            elif g.get("frac"):
                x, loose = _fraction(g["frac"]), True
            else:
                x, loose = 100.0 * int(g["k"]) / max(int(g["n"]), 1), True
            slack = 3.0 if g["hedge"] else 0.0
            stated = [above if more else 100.0 - above for above, _ in of]  # the share they beat (or trail)
            if not any(_share_holds(s, x, loose, slack) for s in stated):
                side = "above" if more else "below"
                reasons.append(f"\u201c{m.group(0)}\u201d: {of[0][1]} puts them {side} {stated[0]:.1f}% of customers")
    return reasons


def _share_holds(stated: float, x: float, loose: bool, slack: float) -> bool:
    if loose:  # "more than half": a bound, not a figure
        return stated >= x - max(slack, 0.5)
    return abs(stated - x) <= max(slack, 1.0) or int(stated) == int(x)
