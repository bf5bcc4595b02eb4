"""Validation metrics of the value (ranking and error) and churn (AUC) predictions."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from service.metrics import normalized_gini


def value_metrics(actual, predicted) -> dict:
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    rho = spearmanr(actual, predicted).statistic if np.ptp(actual) > 0 and np.ptp(predicted) > 0 else float("nan")
    return {
        "normalized_gini": float(normalized_gini(actual, predicted)),
        "spearman": float(rho),
        "mae": float(np.mean(np.abs(actual - predicted))),
        "rmse": float(math.sqrt(np.mean((actual - predicted) ** 2))),
        "mean_actual": float(actual.mean()),
        "mean_predicted": float(predicted.mean()),
        "n": int(len(actual)),
    }


def churn_metrics(actual, prob) -> dict:
    actual, prob = np.asarray(actual), np.asarray(prob, float)
    if len(np.unique(actual)) < 2:
        return {
            "roc_auc": float("nan"),
            "pr_auc": float("nan"),
            "churn_rate": float(actual.mean()),
            "n": int(len(actual)),
        }
    return {
        "roc_auc": float(roc_auc_score(actual, prob)),
        "pr_auc": float(average_precision_score(actual, prob)),
        "churn_rate": float(actual.mean()),
        "mean_predicted": float(prob.mean()),
        "n": int(len(actual)),
    }
