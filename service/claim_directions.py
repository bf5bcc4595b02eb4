"""What a narrative says about the drivers: which ones it names, the direction it gives each ("tenure lowers the
forecast"), the amount it gives each, and "the biggest factor". The fact check (``service.fact_check``) asks it; the
LLM narrator reads directions with ``direction_of``."""

from __future__ import annotations

import re

from service.claim_drivers import DRIVER_ALIAS, driver_named_last, named_positions
from service.claim_numbers import MONEY, SENTENCES, amount_of, near, normalise_numbers
from service.facts import Facts


def driver_reasons(unquoted: str, facts: Facts, all_driver_names: set[str]) -> list[str]:
    """Sentence by sentence: drivers named that are not among the customer's top drivers; then clause by clause, top
    drivers said to move the value the other way than their contribution does (a "not" before the verb turns it), a
    signed amount of the wrong sign or another driver's amount; and "the biggest factor" said of a driver that is not
    the largest."""
    reasons: list[str] = []
    known = {d.name: d for d in facts.drivers}
    for sentence in SENTENCES.split(unquoted):
        for name in sorted(all_driver_names, key=len, reverse=True):
            if (
                re.search(rf"\b{re.escape(name)}\b", sentence, re.I)
                and name not in known
                and (direction_of(sentence)[0] is not None or _AS_A_REASON.search(sentence))
            ):  # "that is browsing activity, not their words" names no driver
                reasons.append(f"names driver '{name}', which is not among the customer's top drivers")
        reasons += _listed_after_colon(sentence, known)
        reasons += _superlative_reasons(sentence, facts)
        reasons += _signed_amount_reasons(sentence, facts)
        for clause in _CLAUSE.split(sentence):
            names = [n for n in known if re.search(rf"\b{re.escape(n)}\b", clause, re.I)]
            said, verb_end = direction_of(clause)
            if not names and said is not None and not any(re.search(rf"\b{re.escape(n)}\b", clause, re.I)
                                                            for n in all_driver_names):  # fmt: skip
                aliased = [n for n, pattern in DRIVER_ALIAS.items() if pattern.search(clause)]
                if len(aliased) == 1 and aliased[0] not in known:
                    reasons.append(
                        f"says '{aliased[0]}' moves the value, but it is not among the customer's top drivers"
                    )
                names = aliased if len(aliased) == 1 and aliased[0] in known else []
            # a list of drivers with one direction ("hold it back: their tenure, ..., and their spend to date"), named
            # by their names or in other words
            # ... but not in a clause that opens with a driver's name, whose words after it explain that driver
            # ("expected orders adds $49.28: how often and how recently they have bought" names no second driver)
            opens_with_name = said is not None and any(_named_at(clause, n) < verb_end for n in names)
            listed = names + [
                n
                for n, pat in DRIVER_ALIAS.items()
                if not opens_with_name and n in known and n not in names and pat.search(clause)
            ]
            if len(listed) >= 2 and said is not None and re.search(r"\bboth\b|\band\b", clause, re.I):
                wrong = [n for n in listed if (known[n].contribution > 0) != (said == "up")]
                reasons += [f"driver '{n}' is said to {'raise' if said == 'up' else 'lower'} the value, but its "
                            f"contribution is {known[n].contribution:+,.2f}" for n in wrong]  # fmt: skip
            if len(names) != 1:
                continue
            name, d = names[0], known[names[0]]
            at = _named_at(clause, name)  # "... adds $342.98 and the purchase pattern adds $268.92": its own verb
            said_after, verb_end_after = direction_of(clause[at:])
            if at and said_after is not None:
                said, verb_end = said_after, at + verb_end_after
            if said is not None and (d.contribution > 0) != (said == "up"):
                reasons.append(
                    f"driver '{name}' is said to {'raise' if said == 'up' else 'lower'} the value, but its "
                    f"contribution is {d.contribution:+,.2f}"
                )
            given = _AMOUNT_AFTER_VERB.match(clause[verb_end:]) if said is not None else None
            if given and not near(float(given.group(1).replace(",", "")), [abs(d.contribution)]):
                reasons.append(
                    f"driver '{name}' is said to move the value by {given.group(1)}, but its contribution is "
                    f"{d.contribution:+,.2f}"
                )
            signed = list(_SIGNED_MONEY.finditer(clause))
            for m in signed:
                sign, said_amount = m.group(1) or m.group(3), m.group(2) or m.group(4)
                wrong_sign = bool(sign) and (sign == "+") != (d.contribution > 0)
                # ... and, the clause's one signed amount, its own ("browsing activity (12 events): +$413.22" of another
                # driver's effect); several may be other drivers' named in words no alias knows ("seasonality
                # (-$18.67)")
                other_amount = len(signed) == 1 and not near(float(said_amount.replace(",", "")), [abs(d.contribution)])
                if wrong_sign or other_amount:
                    reasons.append(
                        f"driver '{name}' is given {sign}{said_amount}, but its contribution is {d.contribution:+,.2f}"
                    )
    return reasons


_AS_A_REASON = re.compile(
    r"\b(driv\w*|factors?|reasons?|because|due to|thanks to|behind|explain\w*|weigh\w*|matters?|counts?|key|main|"
    r"biggest|largest|most important|influenc\w*|affect\w*|impact\w*|effect)\b",
    re.I,
)


def _listed_after_colon(sentence: str, known: dict) -> list[str]:
    """A direction given to a list ("Several things hold the forecast back: their tenure, their average order, their
    purchase pattern, and their spend to date"): each driver of the list, by name or in other words, moves the value
    that way. (The clause split below had cut the list from its verb.)"""
    head, colon, tail = sentence.partition(":")
    said = direction_of(head)[0] if colon else None
    items = [i for i in re.split(r",\s*(?:and\s+)?|\s+and\s+", tail) if i.strip()]
    if said is None or len(items) < 2 or re.search(r"\d\s*$", head):  # "adds $31.34: ..." explains one driver
        return []
    reasons = []
    for item in items:
        named = [n for n in known if re.search(rf"\b{re.escape(n)}\b", item, re.I)]
        named = named or [n for n, pat in DRIVER_ALIAS.items() if n in known and pat.search(item)]
        if len(named) == 1 and (known[named[0]].contribution > 0) != (said == "up"):
            d = known[named[0]]
            reasons.append(
                f"driver '{d.name}' is said to {'raise' if said == 'up' else 'lower'} the value, but its contribution "
                f"is {d.contribution:+,.2f}"
            )
    return reasons


def _signed_amount_reasons(sentence: str, facts: Facts) -> list[str]:
    """Each signed amount ("(+$458.15)") is the effect of the driver named last before it, after the amount before it
    ("Up: spend to date of $2,009.69 (+$458.15), 205 browsing events (+$111.57)": the first is the spend's, which
    added $546.04; the list had no verb, so the clause checks above read no driver in it)."""
    reasons, start = [], 0
    sentence = normalise_numbers(sentence)  # "(−18,15 $)" is 18.15
    for m in _SIGNED_MONEY.finditer(sentence):
        segment = sentence[start : m.start()]
        start = m.end()
        if sum(bool(named_positions(segment, x.name)) for x in facts.drivers) != 1:
            continue  # none, or several before their amounts ("A and B ... (+$63.09 and +$26.38)"): not bound here
        d = driver_named_last(segment, facts)
        sign, said = m.group(1) or m.group(3), m.group(2) or m.group(4)
        if d is not None and (
            (sign == "+") != (d.contribution > 0) or not near(float(said.replace(",", "")), [abs(d.contribution)])
        ):
            reasons.append(f"driver '{d.name}' is given {sign}{said}, but its contribution is {d.contribution:+,.2f}")
    return reasons


def _named_at(clause: str, name: str) -> int:
    """Where ``clause`` first names the driver ``name`` (by name, else in other words); 0 when it does not."""
    return next(iter(named_positions(clause, name)), 0)


_UP_WORDS = (
    r"adds?|adding|lifts?|lifting|raises?|raising|increases?|increasing|pushes?\s+(?:\w+\s+){0,3}(?:up|higher)|boosts?|"
    r"boosting|helps?|helped|lifted|raised|boosted|improves?|improved|strengthens?|supports?|supported|"
    r"drives?\s+(?:\w+\s+){0,3}up|driven\s+up|pushed\s+(?:\w+\s+){0,3}up|positive|"
    r"(?:pushing|driving)\s+(?:\w+\s+){0,3}(?:up|higher)|"
    r"in (?:her|his|their) favou?r|a plus|tailwind|"
    # in the other languages the service reads ("le suma otros 22,65 US$", "erh\u00f6ht die Prognose")
    r"suma|aporta|a(?:\u00f1|n)ade|sube|eleva|aumenta|ajoute|augmente|erh(?:\u00f6|o)ht|steigert|aggiunge|alza|voegt|"
    r"verhoogt|acrescenta|soma"
)
_DOWN_WORDS = (
    r"takes?\s+off|took\s+off|lowers?|lowered|reduces?|reduced|held\s+(?:\w+\s+){0,3}back|dragged\s+(?:\w+\s+){0,3}down|"
    r"holds?\s+(?:\w+\s+){0,3}back|pulls?\s+(?:\w+\s+){0,3}down|subtracts?|cuts?|drags?|hurts?|"
    r"weighs?\s+on|dampens?|negative|counts? against|works? against|lowering|reducing|pulling\s+(?:\w+\s+){0,3}down|"
    r"costs?|a drag|headwind|a minus|"
    r"resta|quita|reduce|baja|disminuye|retire|enl(?:\u00e8|e)ve|r(?:\u00e9|e)duit|baisse|senkt|reduziert|verringert|"
    r"toglie|sottrae|riduce|abbassa|verlaagt|vermindert|subtrai|reduz|diminui"
)
_UP = re.compile(rf"\b({_UP_WORDS})\b", re.I)
_DOWN = re.compile(rf"\b({_DOWN_WORDS})\b", re.I)
_NEGATED = re.compile(r"\b(?:not|n't|never|no longer|hardly)\b[^,;]{0,20}$", re.I)
_CLAUSE = re.compile(r",\s*(?:while|whereas|but|and|although)\s+|\s+(?:while|whereas|but|although)\s+|,\s*(?=[a-z]+\s)")
# an amount written with its sign ("+$93.46", "-93.46"): the sign must be the contribution's
_SIGNED_MONEY = re.compile(
    r"(?<![\w.])([+\-\u2212])\s?[$\u20ac\u00a3]\s?(\d[\d,]*(?:\.\d+)?)|(?<![\w.$])([+\-\u2212])(\d[\d,]*\.\d\d)\b"
)
# the amount a verb gives its driver: "adds $9.66", "takes off about $93"
_AMOUNT_AFTER_VERB = re.compile(
    r"\s*(?:\w+\s+){0,2}?(?:by\s+|about\s+|roughly\s+|some\s+)?[$\u20ac\u00a3]\s?(\d[\d,]*(?:\.\d+)?)"
)
_SUPERLATIVE = re.compile(
    # "adds more to the forecast than anything else"
    r"\bmore\s+(?:\w+\s+){0,4}than\s+(?:anything|any other \w+)(?:\s+else)?\b|"
    r"\b(?:biggest|largest|strongest|main|most important|primary|principal|chief|dominant|leading|single biggest|top)"
    r"\s+(?:\w+\s+)?"
    r"(?:factor|driver|reason|contributor|influence|thing|drag|lift|boost|weight|headwind|tailwind|plus|minus)\b|"
    # in the other languages the service reads: "el principal motivo", "der Hauptgrund", "la raison principale"
    r"\b(?:(?:el|la|il|o|a) principal(?:e)? (?:motivo|factor|fator|raz[o\u00f3]n|ragione|fattore)|"
    r"(?:motivo|factor|fator|fattore|ragione) principal(?:e)?|raison principale|principale raison|facteur principal|"
    r"hauptgrund|wichtigste\w* (?:faktor|grund)|belangrijkste (?:reden|factor))\b",
    re.I,
)
_SAID_DOWN = re.compile(r"\b(?:drag\w*|down|hold\w* (?:\w+ )?back|held back|hurt\w*|lower\w*|takes? off|weigh\w*|"
                        r"headwind|minus|resta\w*|senkt|pesa)\b", re.I)  # fmt: skip
_SAID_UP = re.compile(r"\b(?:propp\w* (?:\w+ )?up|lift\w*|boost\w*|help\w*|adds?|adding|rais\w*|tailwind|plus|suma|"
                      r"aporta|ajoute|support\w*|in (?:her|his|their) favou?r)\b", re.I)  # fmt: skip


def _superlative_reasons(sentence: str, facts: Facts) -> list[str]:
    """'The biggest thing dragging them down is their browsing', 'el principal motivo es su gasto acumulado (413,22
    $)': the driver called the largest (by its name, in other words, or by the amount the sentence gives it) must be the
    largest, of those that lower the value when the words say it lowers it, of those that raise it when they say so."""
    m = _SUPERLATIVE.search(sentence)
    if m is None or not facts.drivers:
        return []
    named = _the_one_called_largest(sentence, m, facts)
    if not named:
        amounts = [amount_of(a) for a in MONEY.finditer(normalise_numbers(sentence))]
        named = [d for d in facts.drivers if any(abs(abs(d.contribution) - x) < 0.006 for x in amounts)]
    if len(named) != 1:
        return []
    after = sentence[m.end() : m.end() + 40]
    down, up = _SAID_DOWN.search(after), _SAID_UP.search(after)
    pool = facts.drivers
    if down and not up:
        pool = [d for d in facts.drivers if d.contribution < 0] or pool
    elif up and not down:
        pool = [d for d in facts.drivers if d.contribution > 0] or pool
    largest = max(pool, key=lambda d: abs(d.contribution))
    if named[0].name == largest.name:
        return []
    return [f"calls '{named[0].name}' the largest driver, but '{largest.name}' moves the value most"]


def _the_one_called_largest(sentence: str, m: re.Match, facts: Facts) -> list:
    """The driver a superlative is said of, by name or in other words: the first named after it when it is followed by
    'is' ('the biggest single driver is what they've already spent ..., followed by their purchase pattern'), else the
    last named before it ('browsing is the biggest factor'), else the first after it."""
    at = [(p, d) for d in facts.drivers for p in named_positions(sentence, d.name)]
    after = sorted((p, i) for i, (p, _) in enumerate(at) if p >= m.end())
    before = sorted((p, i) for i, (p, _) in enumerate(at) if p < m.start())
    if after and (_IS_AFTER.match(sentence, m.end()) or not before):
        return [at[after[0][1]][1]]
    return [at[before[-1][1]][1]] if before else []


_IS_AFTER = re.compile(
    r"\s*(?:(?:of all|overall|here|by far)\s+)?(?:is|are|was|remains|being|ist|est|es|\u00e8|[:=\u2014\u2013-])", re.I
)


# What a driver usually does, said as a caveat ("the first and last of these usually count against a customer", the
# template's own "although this usually counts against a customer"): no direction of this customer's driver
_CAVEAT = re.compile(
    r"\b(?:usually|normally|typically|generally|ordinarily|otherwise|tend to|tends to)\s+(?:\w+\s+)?"
    r"(?:counts?|works?|goes|go|weighs?|is|are|would be)\s+(?:against|in (?:her|his|their|a customer's) favou?r|"
    r"a (?:minus|plus|negative|positive))\b[^,;.]*",
    re.I,
)


def direction_of(clause: str) -> tuple[str | None, int]:
    """('up' or 'down', where its verb ends), or (None, 0) with no verb or both: the direction a clause gives its
    driver, a "not" before the verb turning it; a caveat of what the driver usually does gives none."""
    clause = _CAVEAT.sub(lambda m: " " * len(m.group(0)), clause)  # blanked, so positions stay the clause's
    up, down = _UP.search(clause), _DOWN.search(clause)
    if bool(up) == bool(down):
        return None, 0
    m = up or down
    assert m is not None
    said = "up" if up else "down"
    if _NEGATED.search(clause[: m.start()]):
        said = "down" if said == "up" else "up"
    return said, m.end()
