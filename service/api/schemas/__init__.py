"""Request and response models of the HTTP API: the contract, rendered into /openapi.json. One module per resource:

- ``profiles``: a customer's profile, a page of a customer search, similar customers;
- ``explain``: the explanation and the answer to a question (the application layer's models, documented);
- ``scoring``: the raw rows of POST /v1/score and the profiles scored from them;
- ``model``: tiers and the model being served;
- ``admin``: liveness, readiness and reloads;
- ``errors``: the problem-details body of every error.

Every field carries a description and an example. Models of the application layer that the API
returns as they are (``Explanation``, ``Driver``, ``Evidence``, ``AskAnswer``, ``WhatIf``...) are
reused, not copied; ``ExplanationResponse`` only adds documentation to ``Explanation`` (same fields,
same JSON as ``insight explain ID --json``).
"""

from service.api.schemas.admin import Health, Readiness, ReloadResponse
from service.api.schemas.errors import problem_responses
from service.api.schemas.explain import AskResponse, ExplanationResponse
from service.api.schemas.model import ModelInfo, TierInfo, TiersResponse
from service.api.schemas.profiles import CustomerList, CustomerProfile, CustomerSummary, RFMScores, SimilarResponse
from service.api.schemas.scoring import ScoredProfile, ScoreRequest, ScoreResponse
from service.ask import AskRequest

__all__ = [
    "AskRequest",
    "AskResponse",
    "CustomerList",
    "CustomerProfile",
    "CustomerSummary",
    "ExplanationResponse",
    "Health",
    "ModelInfo",
    "RFMScores",
    "Readiness",
    "ReloadResponse",
    "ScoreRequest",
    "ScoreResponse",
    "ScoredProfile",
    "SimilarResponse",
    "TierInfo",
    "TiersResponse",
    "problem_responses",
]
