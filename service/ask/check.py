"""The grounding check of an answer: every number in its words appears in the facts returned with it."""

from __future__ import annotations

import math
import re

from pydantic import BaseModel

from service.ask.models import AskAnswer
from service.explain import CheckResult
from service.fact_check import allowed_numbers, exact_numbers

# ----------------------------------------------------------------------------- grounding check

_QUOTE = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")


def _numbers_in(obj, out: list[float], exact: set[float]) -> None:
    """Numbers of the facts: measured ones into ``out`` (matched within rounding), those inside text (dates, words) into
    ``exact``."""
    if isinstance(obj, BaseModel):
        _numbers_in(obj.model_dump(), out, exact)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str) and k.isdigit():  # e.g. reviews per rating {"5": 3}
                exact.add(float(k))
            _numbers_in(v, out, exact)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _numbers_in(v, out, exact)
    elif isinstance(obj, bool) or obj is None:
        return
    elif isinstance(obj, (int, float)):
        out += [float(obj), float(obj) * 100, float(math.floor(obj))]  # whole days are stated floored ("3 days ago")
    elif isinstance(obj, str):
        exact.update(
            abs(float(n.replace(",", "")))
            for n in _NUMBER.findall(obj)
            if n.replace(",", "").lstrip("+-").replace(".", "", 1).isdigit()
        )


# Numbers the answers' own wording uses, not facts: the rating scale ("rated 1 or 2 out of 5", "below 3"), the 80%
# interval.
PHRASE_NUMBERS = (1.0, 2.0, 3.0, 5.0, 80.0)


def check_numbers(text: str, result: AskAnswer, customer_id: str, facts=None) -> CheckResult:
    """Every number in ``text`` (outside quotes) must match, within rounding, a number in the structured facts of
    ``result`` (or a difference of two of them, for "X short" / "X above")."""
    allowed: list[float] = list(PHRASE_NUMBERS)
    exact: set[float] = set()
    # the customer's facts as plain words state them (whole days, months of tenure, 100 - percentile)
    if facts is not None:
        allowed += [float(x) for x in allowed_numbers(facts)]
        exact |= {abs(x) for x in exact_numbers(facts)}
    _numbers_in(result.model_dump(exclude={"answer", "check", "suggestions", "question"}), allowed, exact)
    body = _QUOTE.sub(" ", text).replace(customer_id, " ")
    reasons = []
    for raw in _NUMBER.findall(body):
        try:
            x = abs(float(raw.replace(",", "")))
        except ValueError:
            continue
        if x not in exact and not any(abs(x - abs(a)) <= max(0.51, 0.005 * abs(a)) for a in allowed):
            reasons.append(f"number {raw} matches no fact")
    return CheckResult(passed=not reasons, reasons=list(dict.fromkeys(reasons)))
