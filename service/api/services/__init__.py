"""The glue between the routers and the application layer: each function takes a snapshot and returns a
response model. Routers stay thin (parse, authorise, call one of these); the logic lives in
service.ask, service.whatif, service.explain, service.pipeline and service.tables.

One module per resource, as the routers: ``customers`` (search, profile, explanation, similar), ``questions`` (ask),
``scoring`` (cold-start scoring), ``model`` (tiers, model); ``views`` builds the response models they share from a
stored profile. Callers use the functions through this package (``services.tiers(snap)``), so a test can replace one.
"""

from service.api.services.customers import (
    customer,
    customer_json,
    deterministic,
    explanation,
    explanation_json,
    list_customers,
    similar,
)
from service.api.services.model import model_info, tiers
from service.api.services.questions import ask, question_encoder
from service.api.services.scoring import score
from service.api.services.views import profile_view, similar_customers

__all__ = [
    "ask",
    "customer",
    "customer_json",
    "deterministic",
    "explanation",
    "explanation_json",
    "list_customers",
    "model_info",
    "profile_view",
    "question_encoder",
    "score",
    "similar",
    "similar_customers",
    "tiers",
]
