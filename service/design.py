"""The model input of one snapshot: behaviour, classic-model (BG/NBD, Gamma-Gamma), season, then text columns."""

from __future__ import annotations

import pandas as pd

from service.btyd import CLASSIC_FEATURES, ClassicFeatures
from service.features import SEASON_FEATURES, TABULAR_FEATURES, season_features
from service.text_features import TextEmbeddings, TextFeaturizer


def design_columns(text: TextFeaturizer | None) -> list[str]:
    """Model input columns, in order: behaviour, classic-model (BG/NBD, Gamma-Gamma), season, then text."""
    return (
        TABULAR_FEATURES
        + CLASSIC_FEATURES
        + SEASON_FEATURES
        + (text.feature_names() if text is not None and text.sources else [])
    )


def base_design(snapshot: pd.DataFrame, cutoff: pd.Timestamp, classic: ClassicFeatures) -> pd.DataFrame:
    """Behaviour, classic-model and season columns of one snapshot (no text)."""
    tab = snapshot.reset_index(drop=True)
    return pd.concat([tab[TABULAR_FEATURES], classic.transform(tab), season_features(cutoff, len(tab))], axis=1)


def design_matrix(
    snapshot: pd.DataFrame,
    text: TextFeaturizer,
    emb: TextEmbeddings | None,
    cutoff: pd.Timestamp,
    classic: ClassicFeatures,
):
    """Feature matrix of one snapshot: behaviour, classic-model, season, then text columns; also the pooled vectors."""
    X = base_design(snapshot, cutoff, classic)
    pooled = {}
    if emb is not None and text.sources:
        pooled = {src: emb.pooled(src, snapshot["customer_id"], cutoff) for src in text.sources}
        X = pd.concat([X, text.transform(pooled)], axis=1)
    return X, pooled


def driver_inputs(columns) -> list[str]:
    """Model-input columns that drivers show beside the snapshot's own: text counts and the classic-model features."""
    return [
        c
        for c in columns
        if (c.startswith("n_") and c.endswith("_texts")) or (c in CLASSIC_FEATURES and c != "first_purchase_days")
    ]
