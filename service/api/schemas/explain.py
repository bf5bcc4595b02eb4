"""The explanation and the answer to an agent's question: the application layer's ``Explanation`` and ``AskAnswer``
(service.explain, service.ask) with the documentation the OpenAPI contract adds to them."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict, Field

from service.api.schemas.examples import EXAMPLE_ID, EXAMPLE_VERSION
from service.ask import AskAnswer
from service.explain import CheckResult, Explanation


class CheckResultDoc(CheckResult):
    passed: bool = Field(description="True when every statement of the narrative matches the facts.", examples=[True])
    reasons: list[str] = Field(
        default_factory=list,
        description="Why the check failed (empty when it passed).",
        examples=[["number 812.00 matches no fact"]],
    )


# Descriptions and examples for Explanation fields that do not carry their own (the model lives in service.explain
# and keeps growing: a new field without documentation fails
# tests/test_api.py::test_openapi_describes_every_field_with_an_example).
_EXPLANATION_DOCS: dict[str, tuple[str, Any]] = {
    "customer_id": ("Customer id.", EXAMPLE_ID),
    "tier": ("Tier: VIP, High, Medium or Low.", "VIP"),
    "predicted_value": ("Expected spend over the horizon, in currency.", 5276.3),
    "narrative": (
        "Plain-language answer to 'why is this customer in this tier', built only from the facts below.",
        "Customer C000127 is in the VIP tier: the model expects $5,276.30 of spend in the next 90 days, "
        "more than 99.9% of scored customers.",
    ),
    "drivers": ("Top drivers (SHAP families), largest absolute contribution first.", None),
    "evidence": ("The customer's own words quoted by the narrative (contact data masked).", None),
    "narrator": ("Which narrator wrote the narrative that is returned.", "template"),
    "check": ("Faithfulness check of the narrative against the facts.", None),
    "fallback": ("True when an LLM narrative failed the check and was replaced by the template.", False),
    "model_version": ("Model bundle version that scored the customer.", EXAMPLE_VERSION),
    "horizon_days": ("Prediction horizon in days.", 90),
    "churn_probability": ("Probability of no purchase over the horizon.", 0.0984),
    "rfm_segment": ("RFM segment (Champions, Loyal, At risk, ...).", "Champions"),
    "prompt_version": (
        "Version of the LLM prompt files behind the narrative; None for the template narrator.",
        "narrator-v1-1a2b3c4d",
    ),
    "next_action": (
        "The LLM narrator's suggested next action for the agent (None for the template narrator or a fallback).",
        "Thank her for the repeat orders and offer early access to the new audio range.",
    ),
}


def _has_ref(prop: dict) -> bool:
    return "$ref" in json.dumps(prop)


def _document(schema: dict, docs: dict[str, tuple[str, Any]]) -> None:
    for name, prop in schema.get("properties", {}).items():
        desc, example = docs.get(name, (None, None))
        if desc and "description" not in prop:
            prop["description"] = desc
        if example is not None and "examples" not in prop and not _has_ref(prop):
            prop["examples"] = [example]


class ExplanationResponse(Explanation):
    """Why the customer is in their tier: the same JSON as `insight explain ID --json` (service.explain.Explanation)."""

    model_config = ConfigDict(json_schema_extra=lambda schema, cls: _document(schema, _EXPLANATION_DOCS))

    check: CheckResultDoc = Field(description="Faithfulness check of the narrative against the facts.")


class AskResponse(AskAnswer):
    """A grounded answer to a CRM agent's question: the prose plus the facts it was built from."""

    explanation: ExplanationResponse | None = Field(
        default=None, description="For why_tier: the full explanation (same as the explanation endpoint)."
    )
    check: CheckResultDoc = Field(
        description="Whether every number in the answer appears in the facts returned with it."
    )
