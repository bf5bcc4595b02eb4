"""The application layer's public surface: train, score, explain. The CLI, the HTTP API and the eval harness call these.

Each job lives in its own module, in the order the data flows (DESIGN.md):

- ``service.runs``: what every run shares (progress reporting, the run summary, reading the input, the encoder);
- ``service.panel``: which snapshots a model learns from and which customers validate it;
- ``service.design``: the model input of one snapshot;
- ``service.train``: the models fitted on the panel, written as one bundle;
- ``service.profiles``: a batch of customers scored (predictions, SHAP drivers, evidence, profile rows);
- ``service.score``: a population scored into the profile store and the similar-customer index;
- ``service.scaleout``: the per-customer work of train and score on a Dask cluster (``--dask``).
"""

from __future__ import annotations

from pathlib import Path

from service.profiles import bundle_classic, predict_tables, score_tables
from service.runs import Reporter, RunSummary, bundle_backend, make_encoder, parse_cutoff
from service.score import ScoreResult, score
from service.store import ProfileStore
from service.train import TrainOptions, TrainResult, train

__all__ = [
    "Reporter",
    "RunSummary",
    "ScoreResult",
    "TrainOptions",
    "TrainResult",
    "bundle_backend",
    "bundle_classic",
    "explain",
    "make_encoder",
    "parse_cutoff",
    "predict_tables",
    "score",
    "score_tables",
    "train",
]


def explain(customer_id: str, store: str | Path, narrator=None):
    """The explanation of one stored profile (facts -> narrator -> check)."""
    from service.explain import TemplateNarrator, explain_profile

    profile, meta = ProfileStore.read_profile(store, customer_id)
    return explain_profile(profile, meta, narrator or TemplateNarrator())
