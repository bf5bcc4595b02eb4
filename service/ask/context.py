"""What an answer may use (``CustomerContext``), and the small readers of a stored profile the handlers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from service.ask.models import SimilarCustomer
from service.explain import Narrator, TemplateNarrator
from service.intents import Route


@dataclass
class CustomerContext:
    """Everything an answer may use. ``profile`` is a stored profile row (redacted by the caller or here)."""

    profile: dict
    meta: dict
    narrator: Narrator = field(default_factory=TemplateNarrator)
    bundle: object | None = None  # ModelBundle, for what-if re-predictions
    similar: Callable[[int], list[SimilarCustomer]] | None = None
    population_churn: float | None = None
    mask: bool = True
    encoder: object | None = None  # the product's sentence encoder: routes questions by meaning (words only without it)


def currency_of(facts) -> str:
    return facts.currency


def stored_activity(profile: dict) -> dict:
    return (profile.get("profile") or {}).get("activity") or {}


def stored_features(profile: dict) -> dict:
    return (profile.get("profile") or {}).get("features") or {}


def data_cutoff(profile: dict, ctx) -> pd.Timestamp:
    c = (profile.get("profile") or {}).get("cutoff") or ctx.meta.get("cutoff")
    return pd.Timestamp(c) if c else pd.Timestamp.now(tz="UTC")


def round4_or_none(x) -> float | None:
    return None if x is None else round(float(x), 4)


def purchases_phrase(n: float) -> str:
    k = int(round(n))
    return "one purchase" if k == 1 else f"{k:,} purchases" if k else "no kept purchases"


def question_text(r: Route) -> str:
    return getattr(r, "text", "") or ""
