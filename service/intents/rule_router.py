"""The previous, keyword-only router (first matching rule wins), kept to measure the router against it
(tests/test_intents.py reports both on a labelled set)."""

from __future__ import annotations

import re

_RULES_V1: list[tuple[str, re.Pattern]] = [
    (
        "unsupported",
        re.compile(
            r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|above|previous|prompt|guidelines)\b|"
            r"\b(system prompt|jailbreak|pretend (to be|you are)|act as|you are now)\b",
            re.I,
        ),
    ),
    (
        "contact",
        re.compile(
            r"\b(e-?mails?|e-?mail address|phone|telephone|mobile number|cell number|contact (details|info\w*)|"
            r"home address|postal address|(street )?address|credit card|card number|iban|password|date of birth)\b",
            re.I,
        ),
    ),
    (
        "upgrade",
        re.compile(
            r"\b(what would (it take|move|get|make|push|bring)|what (does|do) (it|they|he|she) (take|need)|"
            r"move (him|her|them|this customer|the customer)?\s*(up|to|into)|upgrade\w*|promot\w*|bump\w*|"
            r"next tier|higher tier|tier up|up a tier|level up|get (him|her|them) (to|into)|reach\w*|become|"
            r"what if|how (can|could|do|would) (we|i|they|he|she) (increase|raise|grow|boost|lift|improve|get)|"
            r"(increase|raise|grow|boost|lift) (his|her|their|the) (value|tier|spend))\b",
            re.I,
        ),
    ),
    (
        "similar",
        re.compile(
            r"\b(similar|alike|look-?alikes?|(customers|others|people|anyone|who) (else )?like (this|him|her|them)|"
            r"who else|peers|neighbou?rs|comparable|resembl\w*)\b",
            re.I,
        ),
    ),
    (
        "churn",
        re.compile(
            r"\b(churn\w*|leav(e|es|ing)|lose|losing|lost|at risk|risk\w*|stop(s|ped)? (buying|ordering|shopping|"
            r"purchasing)|"
            r"come back|coming back|buy again|order again|retain\w*|retention|lapse\w*|inactive|drop(ping)? off|"
            r"going away|about to go|still (active|buying|around)|slipping|dormant)\b",
            re.I,
        ),
    ),
    (
        "why_tier",
        re.compile(
            r"\b(why|how come|explain\w*|reasons?|what makes|driv(e|es|ers?|ing)|factors?|tier|segment|rfm|"
            r"is (he|she|it|they|this customer|the customer) (a |an )?(vip|high|medium|low))\b",
            re.I,
        ),
    ),
    (
        "value",
        re.compile(
            r"\b(how much|spend\w*|value|worth|predict\w*|forecast\w*|expect\w*|revenue|clv|ltv|lifetime|"
            r"next (quarter|month|90 days)|big spender)\b",
            re.I,
        ),
    ),
    (
        "evidence",
        re.compile(
            r"\b((did|does|do) (he|she|they|this customer|the customer) (say|write|think|feel|browse|search|look)|"
            r"said|wrote|written|reviews?|own words|feedback|complain\w*|quotes?|opinions?|browsed|searched|"
            r"look(ed|ing) at|interested in)\b",
            re.I,
        ),
    ),
]


def route_rules(question: str) -> str:
    """The intent the previous keyword router (first matching rule) gave ``question``."""
    for intent, pattern in _RULES_V1:
        if pattern.search(question):
            return intent
    if re.search(r"\bVIP\b|\b(High|Medium|Low)\b", question):
        return "why_tier"
    return "unsupported"
