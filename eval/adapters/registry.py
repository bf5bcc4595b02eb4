"""The adapters by dataset name, where each dataset's data is looked for by default, and ``load_dataset``, which
dispatches to them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eval.adapters.cdnow import load_cdnow
from eval.adapters.dataset import Dataset
from eval.adapters.olist import load_olist
from eval.adapters.online_retail import load_online_retail
from eval.adapters.synthetic import load_synthetic
from service.tables import DataError

ADAPTERS: dict[str, Callable[..., Dataset]] = {
    "synthetic": load_synthetic,
    "cdnow": load_cdnow,
    "olist": load_olist,
    "online-retail": load_online_retail,
}
# Where ``--data`` is looked for when omitted (under $INSIGHT_EVAL_DATA, then ../shared/data).
DEFAULT_PATHS = {"cdnow": "cdnow", "olist": "olist-brazilian-ecommerce", "online-retail": "uci-online-retail"}


def default_data_path(name: str) -> Path | None:
    import os

    sub = DEFAULT_PATHS.get(name)
    if sub is None:
        return None
    for base in (os.environ.get("INSIGHT_EVAL_DATA"), "../shared/data", "shared/data"):
        if base and (Path(base) / sub).exists():
            return Path(base) / sub
    return None


def load_dataset(name: str, path: str | Path | None = None, **kw) -> Dataset:
    """Dispatch to the adapter of ``name`` (one of ADAPTERS)."""
    if name not in ADAPTERS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(ADAPTERS)}")
    if name == "synthetic":
        return load_synthetic(path, **kw)
    if path is None:
        path = default_data_path(name)
        if path is None:
            raise DataError(
                f"--data is required for {name} (no default copy found under $INSIGHT_EVAL_DATA or ../shared/data)"
            )
    return ADAPTERS[name](path)
