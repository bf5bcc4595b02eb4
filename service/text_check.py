"""Whether text features pay: one value booster with the text columns and one without, on held-out customers.

Training keeps the text columns only when this says so (``service.train``).
"""

from __future__ import annotations

import numpy as np

from service.btyd import CLASSIC_FEATURES
from service.features import SEASON_FEATURES, TABULAR_FEATURES
from service.metrics import normalized_gini
from service.models import ValueModel

# Text features are kept only when a booster with them ranks the held-out validation customers better than the
# same booster without them, by at least TEXT_MIN_GAIN normalized Gini (what text must add to be worth embedding
# and explaining), and not by luck: the gain stays above 0 in at least TEXT_CONFIDENCE of bootstrap resamples of
# those customers. Pure-noise text columns won by up to +0.007 and passed the bootstrap alone in tests. On the real
# datasets text did not pay (README); on a shop whose words carry signal it does, and each training run decides
# from its own data.
TEXT_MIN_GAIN = 0.01
TEXT_CONFIDENCE = 0.9
TEXT_BOOTSTRAP = 200


def text_check(X_fit, y_value, X_val, y_val, columns: list[str], kw: dict) -> dict:
    """One value booster with every column and one without the text columns, fitted alike; whether text pays."""
    tabular = [c for c in columns if c in TABULAR_FEATURES + CLASSIC_FEATURES + SEASON_FEATURES]
    y_val = np.asarray(y_val, dtype=np.float64)
    pred = {}
    for name, cols in (("with_text", columns), ("tabular_only", tabular)):
        # no row or column sampling: the two boosters then differ only by the text columns, not by which rows and
        # columns their random draws picked (a seed's luck was as large as text's effect on the real data)
        m = ValueModel(
            objective=f"tweedie:{ValueModel.POWERS[-1]}",
            n_bags=1,
            monotone=False,
            params={"subsample": 1.0, "colsample_bytree": 1.0},
            **kw,
        )
        pred[name] = m.fit(X_fit[cols], y_value, X_val[cols], y_val).predict(X_val[cols])
    gini = {k: round(float(normalized_gini(y_val, p)), 4) for k, p in pred.items()}
    rng = np.random.default_rng(kw.get("seed", 0))
    wins = 0
    for _ in range(TEXT_BOOTSTRAP):
        i = rng.integers(0, len(y_val), len(y_val))
        wins += normalized_gini(y_val[i], pred["with_text"][i]) > normalized_gini(y_val[i], pred["tabular_only"][i])
    share = wins / TEXT_BOOTSTRAP
    used = share >= TEXT_CONFIDENCE and gini["with_text"] >= gini["tabular_only"] + TEXT_MIN_GAIN
    return {**gini, "gain_share": round(share, 3), "used": bool(used), "columns": columns if used else tabular}
