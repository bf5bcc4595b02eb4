"""The synthetic adapter: the project's own generator, or tables it wrote earlier."""

from __future__ import annotations

from pathlib import Path

from eval.adapters.common import validate
from eval.adapters.dataset import Dataset, DatasetDefaults
from service.tables import load_tables


def load_synthetic(path: str | Path | None = None, customers: int = 5000, seed: int = 0) -> Dataset:
    """The project's generator (``service.synth.generate``), or tables it wrote earlier (``insight data synth``).

    The tables already are the contract's, so they pass through unchanged (point in time by construction;
    note that the generator itself writes a later return as the ``returned`` status of the original order).
    """
    defaults = DatasetDefaults(cutoff=None, horizon_days=90, note="cutoff: last order minus 90 days; horizon 90 days")
    if path is not None:
        loaded = load_tables(path)
        return Dataset("synthetic", loaded, defaults, source=str(path))
    from service.synth import generate

    tables = generate(customers, seed=seed)
    raw = {k: tables[k] for k in ("customers", "orders", "reviews", "events")}
    return validate("synthetic", raw, defaults, source=f"service.synth.generate({customers}, seed={seed})")
