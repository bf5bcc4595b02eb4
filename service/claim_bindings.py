"""Numbers bound to the fact their words name: the fact check's second look at numbers (``service.fact_check``).

The first look lets a number through when it is within rounding of any fact, so a narrative that puts the spend to date
where the forecast goes, the days between orders where the days since the last one go, or the chance of buying where
the chance of not buying goes, passed (a red team's round of 156 such claims: 145 passed). Here a number whose wording
names its fact must match that fact:

- an amount with a currency mark is money, in the facts' currency; "per order" is the average order, "short of" the
  gap to the next tier, "starts at" a tier's floor, "spent" or "to date" the spend so far, "expects" the forecast;
- "N days ago" is the last purchase, "every N days" the time between orders, "a customer for N months" the tenure,
  "the next N days" the horizon;
- "bought N times" counts the purchases so far, "N orders expected" the forecast, "N reviews" the reviews;
- a chance of not buying (churning, lapsing) is the churn probability, a chance of buying its complement, and "1 in N"
  is a chance too;
- "N stars" or "N/5" is the rating of one of the customer's reviews.

A number whose words name none of these is left to the first look. Number words are read as digits before either look
(``words_to_digits``: "three months", "twice", "a dozen"), so they are checked rather than refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.facts import Facts

APPROX = re.compile(
    r"(?:about|around|roughly|approximately|approx\.?|nearly|almost|just (?:under|over|below|above)|close to|some|"
    r"~|\u2248)\s*$",
    re.I,
)
APPROX_SHARE = 0.05  # "roughly $1,400" of $1,380.15: a rounding an agent accepts, said as one


def near(x: float, allowed: Iterable[float], approx: bool = False, tight: bool = False) -> bool:
    """Within rounding of one of ``allowed``: to whole units or one decimal as people round (``tight``: a number under
    1 must round from the fact: 0.23% is no rounding of 23%); within 5% when the words say it is approximate."""
    slack = 0.51 if not tight or abs(x) >= 1 else 0.051
    share = APPROX_SHARE if approx else 0.005
    return any(abs(x - a) <= max(slack, share * abs(a)) or abs(x - round(a)) < 1e-9 for a in allowed)


# --- number words ----------------------------------------------------------------------------------------------------

_UNITS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD = re.compile(
    rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?:[- ](?P<unit>{'|'.join(_UNITS)}))?|(?P<small>{'|'.join(_UNITS)}))"
    r"(?P<half> and a half)?\b(?![- ](?:hundred|thousand|million|billion))",
    re.I,
)


def words_to_digits(text: str) -> str:
    """'three months' -> '3 months', 'twenty-five' -> '25', 'two and a half' -> '2.5', 'twice' -> '2 times', 'a dozen'
    -> '12'. 'one' stays a word ('one of our best customers'), and so do amounts in words ('two thousand dollars'),
    which the fact check refuses."""

    def number(m: re.Match) -> str:
        n = _TENS[m["tens"].lower()] + (_UNITS[m["unit"].lower()] if m["unit"] else 0) if m["tens"] else 0
        n = n or _UNITS[m["small"].lower()]
        return f"{n}.5" if m["half"] else str(n)

    text = re.sub(r"\btwice\b", "2 times", text, flags=re.I)
    text = re.sub(r"\b(only|just|exactly|bought|ordered|purchased|shopped)((?: from us)?) once\b", r"\1\2 1 time", text,
                  flags=re.I)  # fmt: skip
    text = re.sub(r"\b(?:a|one) dozen\b", "12", text, flags=re.I)
    text = re.sub(r"\bhalf a year\b", "6 months", text, flags=re.I)
    # a span after words that measure it ("a customer for more than a year", "about a month ago"); not "once a week"
    text = re.sub(r"\b(for|than|about|around|almost|nearly|over|under) (?:a|one) (year|month)\b", r"\1 1 \2", text,
                  flags=re.I)  # fmt: skip
    return _WORD.sub(number, text)


_CURRENCY_NEXT = r"(?=\s?(?:R\$|US\$|[$\u20ac\u00a3]|USD|EUR|GBP|BRL|dollars?|euros?|reais)(?!\w))"


def normalise_numbers(text: str) -> str:
    """Amounts written the European way next to a currency ('1.380,15 $', '122,14 \u20ac') as '1380.15', '122.14'; even
    odds ('50/50', 'fifty-fifty') as words the number checks read as a chance of 50%."""
    text = re.sub(
        r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+|\d+),(\d{2})(?!\d)" + _CURRENCY_NEXT,
        lambda m: m.group(1).replace(".", "") + "." + m.group(2),
        text,
    )
    return re.sub(r"\b(?:50\s?/\s?50|50-50|fifty[- ]fifty)\b", "even odds", text, flags=re.I)


# --- the facts by kind -----------------------------------------------------------------------------------------------


def _driver_values(f: Facts, features: tuple[str, ...]) -> list[float]:
    return [d.value for d in f.drivers if d.value is not None and (d.feature or "") in features]


def _figures(f: Facts, keys: tuple[str, ...]) -> list[float]:
    return [f.figures[k] for k in keys if k in f.figures]


def average_orders(f: Facts) -> list[float]:
    aov = _driver_values(f, ("avg_order_value",))
    total, n = f.figures.get("monetary_total"), f.figures.get("frequency")
    return aov + ([total / n] if total is not None and n else [])


def floors(f: Facts) -> list[float]:
    found = [x for x in (f.tier_floor, f.next_tier_floor) if x is not None]
    return found + [v for k, v in f.figures.items() if k.startswith("floor_")]


def gaps(f: Facts) -> list[float]:
    return [x - f.predicted_value for x in floors(f) if x > f.predicted_value]


def past_spend(f: Facts) -> list[float]:
    keys = ("monetary_total", "historic_value", "spend_recent", "spend_prior")
    return _figures(f, keys) + _driver_values(f, ("monetary_total", "spend_recent", "spend_prior"))


def forecast(f: Facts) -> list[float]:
    return [f.predicted_value, *_figures(f, ("predicted_value_exact",))]


def interval(f: Facts) -> list[float]:
    return list(f.value_interval or [])


def contributions(f: Facts) -> list[float]:
    return [abs(d.contribution) for d in f.drivers]


def money(f: Facts) -> list[float]:
    return average_orders(f) + floors(f) + gaps(f) + past_spend(f) + forecast(f) + interval(f) + contributions(f)


# --- amounts ---------------------------------------------------------------------------------------------------------

_CURRENCIES = {
    "$": "$", "us$": "$", "usd": "$", "dollar": "$", "dollars": "$", "€": "€", "eur": "€", "euro": "€", "euros": "€",
    "£": "£", "gbp": "£", "pound": "£", "pounds": "£", "r$": "R$", "brl": "R$", "real": "R$", "reais": "R$",
}  # fmt: skip
_CUR = r"R\$|US\$|[$€£]|USD|EUR|GBP|BRL"
_AMOUNT = r"\d[\d,]*(?:\.\d+)?"
_MONEY = re.compile(
    rf"(?:(?P<c1>{_CUR})\s?(?P<n1>{_AMOUNT})|(?P<n2>{_AMOUNT})\s?(?P<c2>{_CUR}|dollars?|euros?|pounds?|reais)(?!\w))"
    r"(?:\s?(?P<scale>k|K|M|bn)\b)?",
)
# What an amount is, by the words around it: (kind, facts, words before it in its clause, words just after it)
_MONEY_KINDS = (
    ("the average order", average_orders, r"\baverage (?:order|basket|purchase)|\border value|\btypical order",
     r"^\s*(?:per|a|an|each) (?:order|purchase|basket|visit)\b|^\s*on average\b|^\s*(?:par|pro|por|per|je) "
     r"(?:commande|bestellung|pedido|ordine|bestelling|achat|compra)\b|"
     r"^\s*(?:en moyenne|im schnitt|en promedio|in media)\b"),
    ("the gap to the next tier", gaps, r"\b(?:short of|away from|gap|more to (?:reach|get)|needs? (?:another|only|just)"
     r"|to (?:reach|get to|move up))\b", r"^\s*(?:short|away|more|off|below) (?:of |from |to |before )?"),
    ("a tier's floor", floors, r"\b(?:starts?|begins?|threshold|floor|cut-?off|entry point|at least|below|under|"
     r"above)\s+(?:at\s+|of\s+)?$",
     r"^\s*(?:threshold|floor|cut-?off|mark|line)\b|^,?\s*where \w+ (?:starts|begins)\b"),
    ("the spend so far", past_spend, r"\b(?:spent|has spent|paid|spend(?:ing)? (?:so far|to date)|lifetime|historic\w*|"
     r"to date|so far|in total|total spend|last \d+ days|past \d+ days|recent|(?:down|up) from|gastado|hasta ahora|"
     r"ausgegeben|bisher|"
     r"d[e\u00e9]pens[e\u00e9]|jusqu'[a\u00e0] pr[e\u00e9]sent|speso|finora|uitgegeven|tot nu toe)\b",
     r"^\s*(?:so far|to date|in total|hasta ahora|bisher|jusqu|finora|tot nu toe)\b|"
     r"^\s*in the (?:last |past |previous )?"
     r"\d+ days\b"),
    ("an end of the 80% range", interval, r"\b(?:range|interval|between|up to|as (?:much|high|low|little) as|at most|"
     r"anywhere from)\b[^.;$\u20ac\u00a3]{0,12}$|\b(?:range|interval)\b[^.;]{0,30}\b(?:to|and)\s+$",
     r"^\s*(?:and|to) [$\u20ac\u00a3R]"),
    ("the forecast", forecast,
     r"\b(?:expect\w*|forecast\w*|predict\w*|will (?:\w+ )?spend|projected|worth|likely to spend)\b",
     r"^\s*(?:of spend )?(?:in|over) the (?:next|coming)\b"),
    ("a driver's effect", contributions, r"\b(?:add|rais|lift|lower|reduc|cut|contribut|push|pull|knock|subtract|"
     r"tak|boost|cost)\w*\b[^.;]{0,20}$|\bby\s+(?:about\s+|around\s+|roughly\s+|some\s+)?$",
     r"^\s*(?:to|from|off) (?:her|his|their|the)\b"),
)  # fmt: skip
_CLAUSE = re.compile(r"(?<=[.;!?])\s+|\n|\s[-\u2013\u2014]\s|[()]|,\s+(?:and|but|while|whereas)\s+")


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text) if c and c.strip()]


def _kind_of(clause: str, start: int, end: int, kinds) -> tuple[str, list[float] | None] | None:
    """The kind the words nearest an amount name: words just after it first ('$919 per order'), then the kind whose
    words end closest before it in its clause."""
    after, before = clause[end : end + 30], clause[:start]
    for name, facts_of, _, after_words in kinds:
        if re.search(after_words, after, re.I):
            return name, facts_of
    best, best_at = None, -1
    for name, facts_of, before_words, _ in kinds:
        for m in re.finditer(before_words, before, re.I):
            if m.end() > best_at:
                best, best_at = (name, facts_of), m.end()
    return best


def money_reasons(text: str, f: Facts) -> list[str]:
    reasons = []
    own = _CURRENCIES.get(f.currency.strip().lower())
    for clause in clauses(text):
        for m in _MONEY.finditer(clause):
            mark, raw = m["c1"] or m["c2"], m["n1"] or m["n2"]
            stated = _CURRENCIES.get(mark.lower())
            if own and stated and stated != own:
                reasons.append(
                    f"states an amount in {mark} ({m.group(0).strip()}) but the facts' currency is {f.currency}"
                )
                continue
            x = float(raw.replace(",", "")) * {"k": 1e3, "K": 1e3, "M": 1e6, "bn": 1e9}.get(m["scale"] or "", 1.0)
            approx = APPROX.search(clause[: m.start()]) is not None
            kind = _kind_of(clause, m.start(), m.end(), _MONEY_KINDS)
            if kind is not None:
                kind = _narrowed(kind, clause[: m.start()], f)
            if kind is not None and not near(x, kind[1](f), approx):
                reasons.append(f"{m.group(0).strip()} is given as {kind[0]}, which it is not")
            elif not near(x, money(f), approx):
                reasons.append(f"amount {m.group(0).strip()} matches no amount in the facts")
            elif kind is None:
                continue
            if kind and kind[0] == "the forecast":
                reasons += _period_reasons(clause[m.end() : m.end() + 30], f)
                sure = re.search(r"\b(?:definitely|certainly|surely|guaranteed|for sure|without doubt)\b", clause, re.I)
                if sure:
                    reasons.append(
                        f"states the forecast as a certainty (\u201c{sure.group(0)}\u201d); it is an expectation"
                    )
    return reasons


def _narrowed(kind, before: str, f: Facts):
    """A driver's effect of the one driver its clause names ('monetary adds $759.67'); a floor of the tier named just
    before it ('Medium starts at $25.72')."""
    if kind[0] == "a driver's effect":
        named = [d for d in f.drivers if re.search(rf"\b{re.escape(d.name)}\b", before, re.I)]
        if len(named) == 1:
            return f"the effect of {named[0].name}", lambda _f: [abs(named[0].contribution)]
    if kind[0] == "a tier's floor":
        m = re.search(
            r"\b(VIP|High|Medium|Low)\W+(?:tier\W+)?(?:starts?|begins?|threshold|floor)\b[^.;]{0,15}$", before, re.I
        )
        name = m and ("VIP" if m.group(1).lower() == "vip" else m.group(1).capitalize())
        floor = f.figures.get(f"floor_{name}") if name else None
        if floor is not None:
            return f"the floor of {name}", lambda _f: [floor]
    return kind


_PERIOD_DAYS = {"year": 365.25, "annum": 365.25, "month": 30.44, "quarter": 91.3, "week": 7.0}


def _period_reasons(after: str, f: Facts) -> list[str]:
    """'$1,380 a year' of a 90-day forecast: the forecast is over the horizon."""
    m = re.match(r"\s*(?:a|per|each|every|/)\s*(year|annum|month|quarter|week)\b|\s*(annually|monthly|weekly)\b", after,
                 re.I)  # fmt: skip
    if not m:
        return []
    word = (m.group(1) or {"annually": "year", "monthly": "month", "weekly": "week"}[m.group(2).lower()]).lower()
    if abs(_PERIOD_DAYS[word] - f.horizon_days) <= 0.15 * f.horizon_days:
        return []
    return [f"states the forecast per {word}, but it is for the next {f.horizon_days} days"]


# --- days, counts, chances, ratings ----------------------------------------------------------------------------------

_N = r"(\d+(?:\.\d+)?)"
_DAY_UNITS = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
# (what, facts in days, pattern: group 1 the number, group 2 the unit)
_SPANS = (
    ("the days since the last purchase",
     lambda f: _figures(f, ("recency_days",)) + _driver_values(f, ("recency_days",)),
     rf"\b{_N}\s*(day|week|month|year)s?\s+(?:ago\b|since (?:her|his|their|the) last (?:order|purchase))"),
    ("the time between orders", lambda f: _figures(f, ("avg_days_between_orders", "ipi_mean_days"))
     + _driver_values(f, ("ipi_mean_days", "avg_days_between_orders")),
     rf"\bevery\s+{_N}\s*(day|week|month|year)s?\b|"
     rf"\b{_N}\s*(day|week|month|year)s?\s+(?:apart|between (?:orders|purchases))"),
    ("the tenure", lambda f: _driver_values(f, ("tenure_days",)),
     rf"\b(?:customer|shopping with us|with us|buying from us) for\s+"
     rf"(?:about\s+|around\s+|almost\s+|nearly\s+|over\s+|(?P<cmp>more than|less than|under|over|at least)\s+)?"
     rf"{_N}\s*(day|week|month|year)s?\b"),
    ("the horizon", lambda f: [float(f.horizon_days)], rf"\b(?:next|coming)\s+{_N}\s*(day|week|month|year)s?\b"),
)  # fmt: skip
_COUNTS = (
    ("the purchases so far", lambda f: _figures(f, ("frequency",)) + _driver_values(f, ("frequency", "n_orders")),
     rf"\b(?:bought|ordered|purchased|placed|made|shopped|pass[e\u00e9]|command[e\u00e9]|achet[e\u00e9]|bestellt|gekauft|"
     rf"comprado|pedido|hecho|realizado|effettuato|gedaan|geplaatst|aufgegeben)\b[^.;]{{0,25}}?\b{_N}\s*(?:times?|orders?|purchases?|commandes?|achats?|bestellungen|"
     rf"k[a\u00e4]ufe|pedidos|compras|ordini|bestellingen|mal|veces|fois)\b|"
     rf"\b{_N}\s*(?:orders|purchases)\s+(?:so far|to date|in total|with us|placed)\b|"
     rf"\b{_N}(?:st|nd|rd|th) (?:order|purchase)\b"),
    ("the orders expected", lambda f: _figures(f, ("expected_orders",)) + _driver_values(f, ("btyd_expected_orders",)),
     rf"\b{_N}\s*(?:more\s+)?(?:orders|purchases)\s+(?:are\s+|is\s+)?(?:expected|predicted|forecast)\b|"
     rf"\bexpect\w*\s+(?:to\s+(?:place|make|buy|order)\s+)?(?:about\s+|around\s+|roughly\s+)?{_N}\s*(?:more\s+)?"
     rf"(?:orders|purchases)\b"),
    ("the reviews", lambda f: _figures(f, ("review_count",)), rf"\b{_N}\s*reviews\b"),
)  # fmt: skip


def _number(m: re.Match) -> float:
    return float(next(g for g in m.groups() if g is not None and re.fullmatch(r"\d+(?:\.\d+)?", g)))


def span_and_count_reasons(text: str, f: Facts) -> list[str]:
    reasons = []
    for what, facts_of, pattern in _SPANS:
        for m in re.finditer(pattern, text, re.I):
            unit = next(g for g in m.groups() if g is not None and g.lower() in _DAY_UNITS).lower()
            x, allowed = _number(m), [d / _DAY_UNITS[unit] for d in facts_of(f)]
            if not allowed:
                continue  # a fact these facts do not carry (no tenure driver): left to the first look
            cmp = (m.groupdict().get("cmp") or "").lower()
            if cmp in ("more than", "over", "at least"):  # "a customer for more than a year": an inequality
                ok = any(a >= x * 0.95 for a in allowed)
            elif cmp in ("less than", "under"):
                ok = any(a <= x * 1.05 for a in allowed)
            else:
                ok = near(x, allowed + [a // 1 for a in allowed], APPROX.search(text[: m.start()]) is not None)
            if not ok:
                reasons.append(f"\u201c{m.group(0)}\u201d is not {what} ({_shown(allowed, unit)})")
    for what, facts_of, pattern in _COUNTS:
        for m in re.finditer(pattern, text, re.I):
            x, allowed = _number(m), facts_of(f)
            if not allowed:
                continue
            if not near(x, allowed + [a // 1 for a in allowed]):
                reasons.append(f"\u201c{m.group(0)}\u201d is not {what} ({_shown(allowed)})")
    return reasons


def _shown(values: list[float], unit: str | None = None) -> str:
    if not values:
        return "the facts do not hold it"
    return "the facts say " + " or ".join(f"{v:,.1f}" for v in values[:2]) + (f" {unit}s" if unit else "")


_NO_PURCHASE = re.compile(
    r"\b(?:no (?:purchase|order)|not (?:buy|order|purchase|return|come back)\w*|won't (?:buy|order|come back|return)|"
    r"churn\w*|lapse\w*|leav\w*|stop\w* (?:buying|ordering|shopping)|los(?:e|ing) (?:her|him|them)|drop\w* off|"
    r"walk\w* away|never (?:buy|order)\w*|go(?:es|ing)? quiet|inactive)\b",
    re.I,
)
_PURCHASE = re.compile(
    r"\b(?:buy\w*|bought|order\w*|purchas\w*|come back|comes back|coming back|shop\w* again|stay\w*|retain\w*)\b", re.I
)
_ODDS = r"\b(\d+)\s+in\s+(\d+)\b(?=[^.;]{0,20}\b(?:chance|odds|risk|likel))|\b(even odds)\b"
_CHANCE = re.compile(
    rf"{_N}\s?%|\b{_N}\s+(?:percent|per cent|pct)\b|{_ODDS}|"
    r"\b(?:probability|chance|likelihood|risk|score)\s+(?:is|of|at|=)\s+(0?\.\d+)\b(?!\s?%)",
    re.I,
)


def bound_spans(text: str) -> list[tuple[int, int]]:
    """Where a number is checked here only: a chance given as odds ('1 in 6'), a change in spend ('grew 150%'), a
    rank ('top 6%', checked against the rank by the fact check): the first look, which knows no such fact, skips
    them."""
    found = [m.span() for m in re.finditer(_ODDS, text, re.I)] + [m.span() for m in _GROWTH.finditer(text)]
    return found + [m.span() for m in re.finditer(r"\b(?:top|best|bottom|lowest)\s+\d+(?:\.\d+)?\s?%", text, re.I)]


_NOT_A_CHANCE = re.compile(
    r"\b(?:of (?:scored |our |all )?customers|top|bottom|rank\w*|percentile|off\b|discount)", re.I
)


def chance_reasons(text: str, f: Facts) -> list[str]:
    """A chance bound to its event: of no purchase, the churn probability; of a purchase, its complement."""
    reasons = []
    no_buy = f.churn_probability * 100
    edge = [1.0, 99.0] if not 0.01 <= f.churn_probability <= 0.99 else []
    for clause in clauses(text):
        if not re.search(r"\b(?:chance|probability|likel\w*|odds|risk|churn\w*)\b", clause, re.I):
            continue
        for m in _CHANCE.finditer(clause):
            around = clause[max(0, m.start() - 30) : m.end() + 30]
            if _NOT_A_CHANCE.search(around):
                continue
            odds = m.group(3) is not None or m.group(5) is not None
            if m.group(5):
                x = 50.0
            elif m.group(3):
                x = 100 * int(m.group(3)) / max(int(m.group(4)), 1)
            else:
                x = float(m.group(1) or m.group(2)) if m.group(6) is None else 100 * float(m.group(6))
            event = event_of(clause, m.end(), m.start())
            if event is None and m.group(6) is not None:
                event = "no purchase"  # "churn probability is 0.6"
            if event is None:
                continue
            target = no_buy if event == "no purchase" else 100 - no_buy
            ok = abs(x - target) <= 5.0 if odds else near(x, [target] + edge, tight=True)
            if not ok:
                reasons.append(f"\u201c{m.group(0)}\u201d chance of {event}, but it is {target:.0f}%")
    return reasons


def event_of(clause: str, after_at: int, before_at: int) -> str | None:
    """The event a chance is of: the first named after it in its clause, else the last named before it."""
    tail, head = clause[after_at : after_at + 60], clause[:before_at]
    for part in (tail, None):
        if part is None:
            found = [(m.start(), "no purchase") for m in _NO_PURCHASE.finditer(head)]
            found += [(m.start(), "a purchase") for m in _PURCHASE.finditer(head) if not _NO_PURCHASE.search(head)]
            return max(found)[1] if found else None
        no, yes = _NO_PURCHASE.search(part), _PURCHASE.search(part)
        if no and (not yes or no.start() <= yes.start() or no.end() >= yes.end()):
            return "no purchase"
        if yes:
            return "a purchase"
    return None


_RATING = re.compile(
    r"\b(\d(?:\.\d)?)\s*(?:/\s*5\b|out of (?:5|five)\b|-?stars?\b|[e\u00e9]toiles?\b|estrellas?\b|sterne?n?\b|"
    r"stelle\b|sterren\b)",
    re.I,
)
_STOP = {"that", "this", "with", "from", "they", "them", "have", "were", "your", "what", "when", "review", "reviews",
         "rated", "gave", "stars", "star", "wrote", "said", "about", "their", "there", "which", "would",
         "could"}  # fmt: skip


def rating_reasons(text: str, f: Facts) -> list[str]:
    """A stated rating must be the rating of the review it is about: of a review whose product (any word of four
    letters or more) the clause names, else of any review; 'both' or 'all' reviews must all have it."""
    reviews = [
        (float(r.group(1)), set(re.findall(r"[a-z]{4,}", e.text.lower())) - _STOP)
        for e in f.evidence
        if (r := re.search(r"(\d(?:\.\d)?)/5\b", e.source))
    ]
    reasons = []
    for clause in clauses(text):
        for m in _RATING.finditer(clause):
            x, words = float(m.group(1)), set(re.findall(r"[a-z]{4,}", clause.lower())) - _STOP
            about = [r for r, w in reviews if w & words] or [r for r, _ in reviews]
            if re.search(r"\b(?:average|mean|overall)\b", clause, re.I):  # "rates us 3.5 out of 5 on average"
                means = _driver_values(f, ("rating_mean",)) + ([sum(about) / len(about)] if about else [])
                if not near(x, means, approx=True, tight=True):
                    reasons.append(f"states an average rating of {m.group(0).strip()}; the facts give {_shown(means)}")
                continue
            if re.search(r"\b(?:both|all|every|each)\b", clause, re.I):
                about = [r for r, _ in reviews]
                ok = bool(about) and all(r == x for r in about)
            else:
                ok = x in about
            if not ok:
                held = ", ".join(f"{r:g}/5" for r in about) if about else "nowhere in the facts"
                reasons.append(f"states a rating of {m.group(0).strip()}; the review it is about is rated {held}")
    return reasons


_GROWTH = re.compile(
    rf"\b(?:grew|grown|growing|rose|risen|rising|up|increased|increasing|higher|fell|fallen|falling|down|dropped|"
    rf"declined|decreased|lower)\b(?:\s+by)?\s+(?:about\s+|around\s+|some\s+)?{_N}\s?%",
    re.I,
)


def growth_reasons(text: str, f: Facts) -> list[str]:
    """'spending grew 22%': the change from the prior window's spend to the recent one's, when the facts hold both."""
    recent, prior = f.figures.get("spend_recent"), f.figures.get("spend_prior")
    change = abs(recent - prior) / prior * 100 if recent is not None and prior else None
    return [
        f"\u201c{m.group(0)}\u201d: "
        + (f"spend changed by {change:.0f}%" if change is not None else "the facts hold no change in spend")
        for m in _GROWTH.finditer(text)
        if re.search(
            r"\b(?:spend\w*|purchases|orders|buying|revenue|sales)\b", text[max(0, m.start() - 40) : m.end()], re.I
        )
        and (change is None or not near(float(m.group(1)), [change], approx=True))
    ]


_RANK_CLAIM = re.compile(
    rf"\b(?:more|higher|greater|larger|bigger|above|better)\s+than\s+(?:about\s+)?{_N}\s?%\s+of\s+(?:the\s+)?(?:scored\s+|"
    r"all\s+|our\s+|other\s+)?(?:customers|clients|buyers)",
    re.I,
)


def rank_reasons(text: str, f: Facts) -> list[str]:
    """'higher than 82% of customers' said of the forecast is the forecast's rank, not a driver's percentile (a clause
    that names a driver is about that driver)."""
    reasons = []
    for clause in clauses(text):
        if not re.search(r"\b(?:forecast|value|expect\w*|worth|predict\w*|spend in the next)\b", clause, re.I):
            continue
        if any(re.search(rf"\b{re.escape(d.name)}\b", clause, re.I) for d in f.drivers):
            continue
        for m in _RANK_CLAIM.finditer(clause):
            if not near(float(m.group(1)), [f.value_rank_pct], tight=True):
                reasons.append(
                    f"\u201c{m.group(0)}\u201d: the forecast ranks above {f.value_rank_pct:.1f}% of customers"
                )
    return reasons


_MONTHS = (
    ("jan", "j[a\u00e4]n|janv|ene|genn"), ("feb", "feb|f[e\u00e9]v"), ("mar", "mar|m[a\u00e4]r|maerz"),
    ("apr", "apr|avr|abr"),
    ("may", "may|mai|mag"), ("jun", "jun|juin|giu"), ("jul", "jul|juil|lug"), ("aug", "aug|ao[u\u00fb]t|ago"),
    ("sep", "sep|set"), ("oct", "oct|okt|ott"), ("nov", "nov"), ("dec", "dec|dez|d[e\u00e9]c|dic"),
)  # fmt: skip
_MONTH_WORD = re.compile(r"\b(" + "|".join(p for _, p in _MONTHS) + r")[a-z\u00e0-\u00ff]*\.?\b", re.I)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b")


def next_order_reasons(text: str, f: Facts) -> list[str]:
    """A month or a day given for the next order must be the facts' expected date (within a week); a dotted date
    ('03.03.2026') too."""
    if not f.next_order_date:
        return []
    try:
        year, month, day = (int(x) for x in f.next_order_date[:10].split("-"))
    except ValueError:
        return []
    reasons = []
    for clause in clauses(text):
        if not re.search(r"\bnext (?:order|purchase|one)\b|\b(?:order|buy|purchase)\w* again\b|\bdue\b", clause, re.I):
            continue
        for m in _NUMERIC_DATE.finditer(clause):
            d, mo = int(m.group(1)), int(m.group(2))
            if (mo, d) != (month, day) and (d, mo) != (month, day) and not (mo == month and abs(d - day) <= 7):
                reasons.append(f"next order on {m.group(0)}; the facts expect it around {f.next_order_date}")
        for m in _MONTH_WORD.finditer(clause):
            named = next(i for i, (_, p) in enumerate(_MONTHS, 1) if re.fullmatch(p, m.group(1), re.I))
            around = clause[max(0, m.start() - 6) : m.end() + 6]
            day_m = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", around)
            stated_day = int(day_m.group(1)) if day_m and int(day_m.group(1)) <= 31 else None
            if named != month or (stated_day is not None and abs(stated_day - day) > 7):
                reasons.append(f"next order in {m.group(0)}; the facts expect it around {f.next_order_date}")
    return reasons


def bound_number_reasons(text: str, f: Facts) -> list[str]:
    """Every number whose words name a fact, checked against that fact (``text``: the narrative without quotes, with
    number words as digits)."""
    return (
        money_reasons(text, f)
        + span_and_count_reasons(text, f)
        + chance_reasons(text, f)
        + rating_reasons(text, f)
        + growth_reasons(text, f)
        + rank_reasons(text, f)
        + next_order_reasons(text, f)
    )
