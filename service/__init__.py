"""customer-insight application layer: data contracts, features, models, tiers, explanations, store, API, CLI."""
import os

# OpenBLAS worker threads (numpy/scipy, woken by PCA) spin and starve XGBoost's OpenMP threads on
# small machines: measured 30x slower boosting on 2 cores (train stage 162 s -> 0.9 s on 2,000
# customers). Our BLAS work is small, so one BLAS thread costs nothing. Must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
