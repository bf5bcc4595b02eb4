"""Explanations: facts first (deterministic, from the stored profile), prose second (a narrator), then a
faithfulness check of the prose against the facts.

The facts are the only source a narrator may use. Customer texts appear in them as evidence, i.e.
data to quote, never instructions: the template narrator only ever quotes them inside quotation
marks, and the check refuses any narrative whose tier, numbers, driver directions or quotes do not
match the facts.

Where each step lives:

- the facts: ``service.facts`` (``Facts``, ``facts_from_profile``);
- the narrators: the template narrator in ``service.template_narrator``, the LLM narrators in ``service.narrators``;
- the fact check: ``service.fact_check`` (``check_narrative``);
- this module: the narrator interface and the flow that ties the steps together (``narrate_checked``: narrate,
  check, retry once with the failures fed back, fall back to the template; ``explain_facts``: that, through the
  explanation cache, as the returned ``Explanation``). The names other modules import from here are re-exported.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol, cast

from pydantic import BaseModel, Field

from service.fact_check import (
    ALL_DRIVER_NAMES,
    CheckResult,
    check_narrative,
)
from service.facts import TOP_DRIVERS, Driver, Evidence, Facts, facts_from_profile
from service.plain import money
from service.template_narrator import TemplateNarrator

__all__ = [
    # the flow and its contract (defined here)
    "Attempt",
    "Draft",
    "Explanation",
    "LLM_RETRIES",
    "Narrator",
    "NarratorName",
    "Outcome",
    "explain_facts",
    "explain_profile",
    "narrate_checked",
    # re-exported from the step modules, for the code and tests that import them from here
    "ALL_DRIVER_NAMES",
    "CheckResult",
    "Driver",
    "Evidence",
    "Facts",
    "TOP_DRIVERS",
    "TemplateNarrator",
    "check_narrative",
    "facts_from_profile",
    "money",
]

# The narrators an explanation can name (``Explanation.narrator``).
NarratorName = Literal["template", "openai", "hf"]


class Explanation(BaseModel):
    """The contract of `insight explain ID --json` and `GET /v1/customers/{id}/explanation`."""

    customer_id: str = Field(examples=["C000042"])
    tier: str = Field(examples=["VIP"])
    predicted_value: float = Field(description="Expected spend over the horizon, in currency.", examples=[1234.56])
    narrative: str = Field(description="Plain-language answer to 'why is this customer in this tier'.")
    drivers: list[Driver]
    evidence: list[Evidence]
    narrator: NarratorName = Field(description="Which narrator wrote the narrative that is returned.")
    check: CheckResult
    fallback: bool = Field(description="True when an LLM narrative failed the check and was replaced by the template.")
    model_version: str
    horizon_days: int
    churn_probability: float
    rfm_segment: str
    prompt_version: str | None = Field(
        default=None,
        description="Version of the LLM prompt files behind the narrative (also kept on a fallback, naming the prompt "
        "whose narrative was rejected); None for the template narrator.",
        examples=["narrator-v1-1a2b3c4d"],
    )
    next_action: str | None = Field(
        default=None,
        description="The suggested next action for the agent: the playbook's action for the customer's tier and "
        "churn band (prompts/playbook.toml), as the LLM narrator phrased it when its narrative passed the check.",
    )
    churn_band: str | None = Field(
        default=None, description="Churn risk as low / medium / high (bands from the playbook).", examples=["low"]
    )


# ----------------------------------------------------------------------------- the narrator interface


class Narrator(Protocol):
    name: str

    def narrate(self, facts: Facts, question: str | None = None) -> str: ...


class Draft(BaseModel):
    """One narration attempt as a narrator that can take feedback returns it (see service.narrators.llm)."""

    narrative: str = ""
    reasons: list[str] = Field(
        default_factory=list,
        description="Failures the narrator found itself (unparseable output, unknown driver, ...).",
    )
    quotes: list[str] = Field(default_factory=list, description="The verbatim quotes the narrative contains.")
    checked_facts: Facts | None = Field(
        default=None,
        description="The facts as the narrator saw them (texts redacted and capped); the check uses these.",
    )
    next_action: str | None = None
    raw: str | None = Field(default=None, description="The model's raw answer, fed back on a retry.")
    prompt_version: str | None = None
    error: bool = Field(
        default=False, description="The call itself failed (timeout, connection): no retry, nothing cached."
    )


# ----------------------------------------------------------------------------- narrate, check, retry, fall back


class Attempt(BaseModel):
    """One narration attempt and its check."""

    draft: Draft
    check: CheckResult
    seconds: float


class Outcome(BaseModel):
    """Every attempt of one narrator on one customer, and what is returned: the accepted narrative or the template."""

    attempts: list[Attempt]
    narrative: str
    narrator: str
    check: CheckResult
    fallback: bool
    next_action: str | None = None
    prompt_version: str | None = None
    cacheable: bool = True

    @property
    def seconds(self) -> float:
        return sum(a.seconds for a in self.attempts)


LLM_RETRIES = 1  # a failing LLM narrative is retried once, with the failures fed back


def narrate_checked(
    facts: Facts, narrator: Narrator, question: str | None = None, retries: int = LLM_RETRIES
) -> Outcome:
    """Narrate and check; a failing LLM narrative is retried with its failures fed back, then replaced by the template.

    A narrator with a ``draft(facts, question, feedback=..., previous=...)`` method (service.narrators.llm)
    takes the feedback; a plain ``narrate`` narrator is simply asked again.
    """
    is_template = narrator.name == TemplateNarrator.name
    attempts: list[Attempt] = []
    feedback: list[str] | None = None
    previous: Draft | None = None
    for _ in range(1 + (0 if is_template else max(0, retries))):
        attempt = _checked_attempt(facts, narrator, question, feedback, previous)
        attempts.append(attempt)
        if attempt.check.passed or attempt.draft.error:
            break
        feedback, previous = attempt.check.reasons, attempt.draft
    last = attempts[-1]
    if last.check.passed or is_template:
        return Outcome(
            attempts=attempts,
            narrative=last.draft.narrative,
            narrator=narrator.name,
            check=last.check,
            fallback=False,
            next_action=last.draft.next_action,
            prompt_version=last.draft.prompt_version,
        )
    # Fall back. The reasons of the rejected LLM narratives are kept: they are what the caller needs to see.
    return Outcome(
        attempts=attempts,
        narrative=TemplateNarrator().narrate(facts, question),
        narrator=TemplateNarrator.name,
        check=CheckResult(passed=False, reasons=_rejection_reasons(attempts)),
        fallback=True,
        prompt_version=last.draft.prompt_version,
        cacheable=not any(a.draft.error for a in attempts),
    )


def _checked_attempt(
    facts: Facts, narrator: Narrator, question: str | None, feedback: list[str] | None, previous: Draft | None
) -> Attempt:
    """One narration, timed, and its check: the narrator's own failures first, then the fact check's."""
    t0 = time.perf_counter()
    draft = _draft(facts, narrator, question, feedback, previous)
    if draft.narrative:
        check = check_narrative(draft.narrative, draft.checked_facts or facts, ALL_DRIVER_NAMES, quotes=draft.quotes)
        reasons = list(dict.fromkeys([*draft.reasons, *check.reasons]))
    else:
        reasons = draft.reasons or ["the narrator returned no narrative"]
    return Attempt(
        draft=draft, check=CheckResult(passed=not reasons, reasons=reasons), seconds=time.perf_counter() - t0
    )


def _draft(
    facts: Facts, narrator: Narrator, question: str | None, feedback: list[str] | None, previous: Draft | None
) -> Draft:
    """The narrator's draft (with the feedback, for a narrator that takes it); a failing LLM call is a failed draft."""
    try:
        if hasattr(narrator, "draft"):
            return narrator.draft(facts, question, feedback=feedback, previous=previous)
        return Draft(narrative=narrator.narrate(facts, question))
    except Exception as exc:  # noqa: BLE001 - an LLM call that fails is a failed narrative, not a failed request
        if narrator.name == TemplateNarrator.name:
            raise
        return Draft(reasons=[f"the narrator failed: {_safe_error(exc)}"], error=True)


def _safe_error(exc: BaseException) -> str:
    from service.privacy import redact

    return f"{type(exc).__name__}: {redact(str(exc), cards=True) or ''}"[:300]


def _rejection_reasons(attempts: list[Attempt]) -> list[str]:
    """The reasons of the rejected attempts; with several, each reason once, naming the attempts that gave it."""
    if len(attempts) == 1:
        return attempts[-1].check.reasons
    # "attempts 1, 2: same reason" once, rather than the same line per attempt
    seen: dict[str, list[int]] = {}
    for i, a in enumerate(attempts, 1):
        for r in a.check.reasons:
            seen.setdefault(r, []).append(i)
    return [f"attempt{'s' if len(ix) > 1 else ''} {', '.join(map(str, ix))}: {r}" for r, ix in seen.items()]


# ----------------------------------------------------------------------------- the explanation


def explain_facts(facts: Facts, narrator: Narrator, question: str | None = None) -> Explanation:
    """Narrate, check, retry once with the failures fed back, and fall back to the template narrative.

    A narrator with a ``cache`` (service.narrators.cache) answers repeat questions from it: the key holds
    the customer, the facts, the model version, the prompt version and the provider and model.
    """
    cache = getattr(narrator, "cache", None)
    if cache is not None:
        hit = cache.get(facts, narrator, question)
        if hit is not None:
            return hit
    outcome = narrate_checked(facts, narrator, question)
    exp = Explanation(
        customer_id=facts.customer_id,
        tier=facts.tier,
        predicted_value=facts.predicted_value,
        narrative=outcome.narrative,
        drivers=facts.drivers,
        evidence=facts.evidence,
        narrator=cast(NarratorName, outcome.narrator),
        check=outcome.check,
        fallback=outcome.fallback,
        model_version=facts.model_version,
        horizon_days=facts.horizon_days,
        churn_probability=facts.churn_probability,
        rfm_segment=facts.rfm_segment,
        prompt_version=outcome.prompt_version,
        next_action=outcome.next_action or facts.next_action,
        churn_band=facts.churn_band,
    )
    if cache is not None and outcome.cacheable:
        cache.put(facts, narrator, question, exp)
    return exp


def explain_profile(profile: dict, meta: dict, narrator: Narrator) -> Explanation:
    return explain_facts(facts_from_profile(profile, meta), narrator)
