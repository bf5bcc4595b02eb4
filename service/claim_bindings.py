"""Numbers bound to the fact their words name, part two: a chance bound to its event, a rating to its review, a change
of spend and the forecast's rank (the date of the next order: ``service.claim_dates``); and ``bound_number_reasons``,
every binding of both parts (part one, amounts, spans and counts: ``service.claim_numbers``)."""

from __future__ import annotations

import re

from service.claim_dates import dated_ratings, next_order_reasons
from service.claim_drivers import driver_named_last
from service.claim_numbers import (
    NUMBER,
    clauses,
    driver_values,
    money_reasons,
    near,
    per_period_spans,
    shown,
    span_and_count_reasons,
    within_bound,
)
from service.claim_ratios import (
    fraction_spans,
    multiple_reasons,
    multiple_spans,
    rate_reasons,
    share_of_amount_reasons,
    share_reasons,
)
from service.facts import Facts

# the event of a chance: no purchase (or leaving), or a purchase; in the languages the service reads ("de que no
# compre nada", "dass kein Kauf erfolgt", "de ne rien acheter")
_NO_PURCHASE = re.compile(
    r"\b(?:no[- ](?:purchase|order)|not (?:buy|order|purchase|return|come back)\w*|won't (?:buy|order|come back|"
    r"return)|"
    r"churn\w*|lapse\w*|leav\w*|stop\w* (?:buying|ordering|shopping)|los(?:e|ing) (?:her|him|them)|drop\w* off|"
    r"walk\w* away|never (?:buy|order)\w*|go(?:es|ing)? quiet|inactive|"
    r"no (?:\w+ )?(?:compr\w*|vuelv\w*|pid\w*)|sin compra\w*|ninguna compra|abandon\w*|"
    r"kein\w* (?:\w+ )?(?:kauf\w*|bestellung\w*|einkauf\w*)|nicht (?:mehr )?(?:kauf\w*|bestell\w*)|abwander\w*|"
    r"ne (?:\w+ )?(?:rien )?(?:ach[e\u00e8]t\w*|command\w*)|n'ach[e\u00e8]t\w*|aucun (?:achat|commande)|attrition|"
    r"non (?:\w+ )?(?:acquist\w*|compr\w*|ordin\w*)|nessun (?:acquisto|ordine)|abbandon\w*|"
    r"geen (?:aankoop|aankopen|bestelling\w*)|niet (?:meer )?(?:koop\w*|kopen|bestel\w*)|"
    r"n[a\u00e3]o (?:\w+ )?(?:compr\w*|volt\w*)|nenhuma compra|nichts (?:mehr )?(?:zu )?(?:kauf\w*|bestell\w*)|"
    r"(?:kauf\w*|bestell\w*) nichts|rien (?:acheter|commander)|niets (?:meer )?(?:te )?(?:koop\w*|kopen|bestel\w*)|"
    r"nada|niente|nulla)\b",
    re.I,
)
_PURCHASE = re.compile(
    r"\b(?:buy\w*|bought|order\w*|purchas\w*|come back|comes back|coming back|shop\w* again|stay\w*|retain\w*|"
    r"compr\w*|pedid\w*|kauf\w*|k(?:\u00e4|a)uf\w*|bestell\w*|achat\w*|ach[e\u00e8]t\w*|command\w*|acquist\w*|ordin\w*|"
    r"aankoop\w*|koop\w*|kopen)\b",
    re.I,
)
# a chance named, in the languages the service reads
_CHANCE_WORD = re.compile(
    r"\b(?:chance\w*|probabilit\w*|probabilidad\w*|probabilidade\w*|likel\w*|odds|risk\w*|churn\w*|"
    r"wahrscheinlich\w*|risiko|risque|riesgo|rischio|risico|kans|probabile)\b",
    re.I,
)
_ODDS = r"\b(\d+)\s+in\s+(\d+)\b(?=[^.;]{0,20}\b(?:chance|odds|risk|likel))|\b(even odds)\b"
_CHANCE = re.compile(
    rf"{NUMBER}\s?%|\b{NUMBER}\s+(?:percent|per cent|pct)\b|{_ODDS}|"
    r"\b(?:probability|chance|likelihood|risk|score)\s+(?:is|of|at|=)\s+(0?\.\d+)\b(?!\s?%)",
    re.I,
)


# a rank said as a share of customers ("top 5%", "bottom 10%"), checked by ``claim_words.rank_reasons``
TOP_OR_BOTTOM = re.compile(r"\b(top|best|bottom|lowest)\s+(\d+(?:\.\d+)?)\s?%", re.I)
# the same in the other languages the service reads: "zu den oberen 30 %", "en el 1 % superior", "dans les 5 %
# sup\u00e9rieurs", "nel 10% pi\u00f9 alto", "bij de bovenste 5%"
TOP_ABROAD = re.compile(
    r"\b(?:(?P<top>oberen|obersten|bovenste|premiers)|(?P<low>unteren|untersten|onderste|derniers))\s+(?P<n>\d+(?:\.\d+)?)\s?%|"
    r"\b(?P<n2>\d+(?:\.\d+)?)\s?%\s+(?:(?P<top2>superior(?:es)?|sup[e\u00e9]rieurs?|pi[u\u00f9] alt[oi]|"
    r"mais alt[oa]s?)|"
    r"(?P<low2>inferior(?:es)?|inf[e\u00e9]rieurs?|pi[u\u00f9] bass[oi]|mais baix[oa]s?))\b",
    re.I,
)


def bound_spans(text: str) -> list[tuple[int, int]]:
    """Where a number is checked here only: a chance given as odds ('1 in 6'), a change in spend ('grew 150%'), a
    rank ('top 6%', checked against the rank by the fact check), a multiple ('5 times the floor'), a share in words
    ('two-thirds of customers'): the first look, which knows no such fact, skips them."""
    found = [m.span() for m in re.finditer(_ODDS, text, re.I)] + [m.span() for m in _GROWTH.finditer(text)]
    found += multiple_spans(text) + fraction_spans(text) + per_period_spans(text)
    found += [m.span() for m in TOP_ABROAD.finditer(text)]  # "zu den oberen 30 %", "en el 1 % superior"
    return found + [m.span() for m in TOP_OR_BOTTOM.finditer(text)]


_NOT_A_CHANCE = re.compile(
    r"\b(?:of (?:scored |our |all )?customers|top|bottom|rank\w*|percentile|off\b|discount)", re.I
)


def chance_reasons(text: str, f: Facts) -> list[str]:
    """A chance bound to its event: of no purchase, the churn probability; of a purchase, its complement."""
    reasons = []
    no_buy = f.churn_probability * 100
    edge = [1.0, 99.0] if not 0.01 <= f.churn_probability <= 0.99 else []
    for clause in clauses(text):
        if not _CHANCE_WORD.search(clause):
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
    """The event a chance is of: the one its chance word names just before it ("the chance that they buy anything is
    about 6%, so the churn risk is high": a purchase), else the first named after it in its clause, else the last
    named before it."""
    tail, head = clause[after_at : after_at + 60], clause[:before_at]
    named = list(_CHANCE_WORD.finditer(head))
    said = named and _CHANCE_OF.match(head, named[-1].end())
    if said:
        for at in [said.end()] + [said.end() + w.end() for w in re.finditer(r"\w+\s+", head[said.end() :])][:2]:
            if _NO_PURCHASE.match(head, at):
                return "no purchase"
            if _PURCHASE.match(head, at):
                return "a purchase"
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


# what joins a chance word to its event ("the chance that they buy", "la probabilit\u00e0 che compri", "kans dat")
_CHANCE_OF = re.compile(r",?\s+(?:that|of|to|che|di|de|que|dass|zu|dat|om)\s+", re.I)


_RATING = re.compile(
    r"\b(\d(?:\.\d)?)\s*(?:/\s*5\b|out of (?:5|five)\b|-?stars?\b|[e\u00e9]toiles?\b|estrellas?\b|sterne?n?\b|"
    r"stelle\b|sterren\b)",
    re.I,
)
_STOP = {"that", "this", "with", "from", "they", "them", "have", "were", "your", "what", "when", "review", "reviews",
         "rated", "gave", "stars", "star", "wrote", "said", "about", "their", "there", "which", "would",
         "could"}  # fmt: skip


_ISO_IN = re.compile(r"\b\d{4}-\d\d-\d\d\b")


def dated_rating_reasons(text: str, f: Facts) -> list[str]:
    """Stars given beside a review's date ("(5/5, 2025-12-07)", "rated 5/5 on 2025-12-07") must be that review's,
    whatever the language of the words around them. ``text``: the narrative with its dates as ISO dates."""
    rated = dict(dated_ratings(f))
    reasons = []
    for clause in clauses(text):
        days = [d for d in _ISO_IN.findall(clause) if d in rated]
        for m in _RATING.finditer(clause):
            if len(days) == 1 and float(m.group(1)) != rated[days[0]]:
                reasons.append(f"states a rating of {m.group(0).strip()} for the review of {days[0]}, rated "
                               f"{rated[days[0]]:g}/5")  # fmt: skip
    return reasons


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
                means = driver_values(f, ("rating_mean",)) + ([sum(about) / len(about)] if about else [])
                if not near(x, means, approx=True, tight=True):
                    reasons.append(f"states an average rating of {m.group(0).strip()}; the facts give {shown(means)}")
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
    rf"declined|decreased|lower)\b(?:\s+by)?\s+(?:about\s+|around\s+|some\s+)?{NUMBER}\s?%",
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
    rf"\b(?:more|higher|greater|larger|bigger|above|better)\s+than\s+(?:about\s+)?{NUMBER}\s?%\s+of\s+(?:the\s+)?(?:scored\s+|"
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
        if driver_named_last(clause, f) is not None:
            continue
        for m in _RANK_CLAIM.finditer(clause):
            x = float(m.group(1))  # "more than 94%" of 94.8: a bound, within a point
            if not (near(x, [f.value_rank_pct], tight=True) or within_bound(x, [f.value_rank_pct], "lower", share=0.0)):
                reasons.append(
                    f"\u201c{m.group(0)}\u201d: the forecast ranks above {f.value_rank_pct:.1f}% of customers"
                )
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
        + multiple_reasons(text, f)
        + rate_reasons(text, f)
        + share_of_amount_reasons(text, f)
        + share_reasons(text, f)
    )
