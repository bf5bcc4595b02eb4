"""What a reader needs of a stored profile row and of the store metadata, checked where they are read.

The store is written only by ``insight score`` and the API's cold-start writes, but it is a file (or a database) that
can be edited or damaged outside the service. A damaged row or metadata value must be one clear error naming the
customer or key and the fix (re-score), never a traceback, a 500 without a reason, or a "customer not in the store".
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from service.store_location import StoreError
from service.tiers import TIER_ORDER as TIER_NAMES

RESCORE = "re-score the store with `insight score`"


class DamagedProfile(StoreError):
    """A stored profile row, or the store metadata, that cannot be read as the service wrote it.

    ``subject`` says what is damaged without the stored values ("the stored profile of 'C1'"): what the API and the
    console tell their users; the message adds the problem and the fix."""

    def __init__(self, subject: str, problem: str):
        super().__init__(f"{subject} is damaged ({problem}); {RESCORE}")
        self.subject = subject


def profile_subject(customer_id) -> str:
    return f"the stored profile of {customer_id!r}"


def _number_problem(name: str, value, low: float | None = None, high: float | None = None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{name} is {value!r}, not a number"
    if (low is not None and value < low) or (high is not None and value > high):
        return f"{name} is {value!r}, outside [{low}, {high}]"
    return None


def columns_problem(tier, predicted_value, churn_probability) -> str | None:
    """Why a row's tier, value and churn cannot be used (the columns the server keeps in memory), or None."""
    if tier not in TIER_NAMES:
        return f"tier {tier!r} is not one of {', '.join(TIER_NAMES)}"
    return _number_problem("predicted_value", predicted_value, 0.0) or _number_problem(
        "churn_probability", churn_probability, 0.0, 1.0
    )


def row_problem(row: dict) -> str | None:
    """Why a profile row cannot be used, or None."""
    problem = columns_problem(row.get("tier"), row.get("predicted_value"), row.get("churn_probability"))
    problem = problem or _number_problem("value_rank_pct", row.get("value_rank_pct"), 0.0, 100.0)
    if problem:
        return problem
    inner = row.get("profile")
    if not isinstance(inner, dict) or not isinstance(inner.get("drivers"), list):
        return "its profile is not an object with a list of drivers"
    if not all(isinstance(d, dict) for d in inner["drivers"]):
        return "a driver is not an object"
    for key in ("features", "rfm"):
        if inner.get(key) is not None and not isinstance(inner[key], dict):
            return f"its {key} are not an object"
    if not isinstance(inner.get("evidence", []), list) or not all(
        isinstance(e, dict) for e in inner.get("evidence", [])
    ):
        return "its evidence is not a list of objects"
    return None


def checked_row(row: dict) -> dict:
    """The row, or DamagedProfile naming the customer and what is wrong."""
    problem = row_problem(row)
    if problem:
        raise DamagedProfile(profile_subject(row.get("customer_id")), problem)
    return row


def meta_problem(meta: dict) -> str | None:
    """Why the store metadata cannot serve profiles, or None."""
    tiers = meta.get("tiers")
    thresholds = tiers.get("thresholds") if isinstance(tiers, dict) else None
    if not isinstance(thresholds, dict) or not thresholds:
        return "tiers has no thresholds"
    for name, value in thresholds.items():
        if name not in TIER_NAMES[:3] or _number_problem(f"the {name} threshold", value, 0.0):
            return f"tier threshold {name!r} = {value!r} is not a tier and an amount"
    h = meta.get("horizon_days")
    if isinstance(h, bool) or not isinstance(h, int) or h < 1:
        return f"horizon_days is {h!r}, not a positive whole number"
    if not isinstance(meta.get("model_version"), str) or not meta["model_version"]:
        return "it names no model version"
    if not isinstance(meta.get("currency", "$"), str):
        return "currency is not text"
    return None


def checked_meta(meta: dict, where: str) -> dict:
    problem = meta_problem(meta)
    if problem:
        raise DamagedProfile(f"{where}: the store metadata", problem)
    return meta


@contextmanager
def reading_stored(row: dict) -> Iterator[None]:
    """Around code that builds an answer from a stored row: a value the row check lets through that still cannot be read
    (a driver's contribution in words, RFM scores of the wrong shape) is DamagedProfile naming the customer."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, StoreError):
            raise
        errors = exc.errors() if hasattr(exc, "errors") else None  # pydantic: the first field and why, on one line
        why = (
            f"{'.'.join(map(str, errors[0]['loc']))}: {errors[0]['msg']}" if errors else f"{type(exc).__name__}: {exc}"
        )
        raise DamagedProfile(profile_subject(row.get("customer_id")), why) from exc
