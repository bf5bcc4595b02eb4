"""Dataset adapters: public layouts -> the input tables of DESIGN.md, validated like the product's own input.

Each adapter reads its source (a directory, a single file or a ``.zip`` archive; ``.csv``, ``.csv.gz``,
``.zip`` and ``.parquet`` are read directly, nothing is unpacked to disk), maps it onto the raw
``customers / orders / reviews / events`` tables as strings, and hands them to
``service.tables.validate_tables``: rows that break the contract are rejected, with the same reasons
and counts as ``insight train`` would give. What an adapter itself leaves out before validation
(e.g. reviews without a comment, which the contract cannot hold) is counted in ``Dataset.dropped``.

**Point in time.** Every row an adapter emits depends only on raw rows at or before that row's own
timestamp, and on static attributes (a product's category, an order's payments). So the adapter run on
the raw input cut at a cutoff gives exactly ``eval.backtest.truncate(adapter(full input), cutoff)``,
and no model fitted on the calibration side can see the holdout through the adapter
(``tests/test_eval_adapters.py`` checks this on every adapter). Customers carry ``signup_ts`` = the
time they first appear in the data, so a customer who first buys after the cutoff is not in the
calibration tables either. The one exception, Olist's final order status, is named in ``eval.adapters.olist``.

Every adapter also carries its dataset's default backtest split (calibration cutoff, horizon and
the horizon the supervised models are trained on), chosen once here and printed by the harness.

The modules: ``dataset`` (what an adapter returns), ``common`` (reading sources, converting columns, validating),
one module per dataset (``synthetic``, ``cdnow``, ``olist``, ``online_retail``), and ``registry`` (the adapters by
name, their default data folders, ``load_dataset``). A new adapter is a ``load_NAME(path) -> Dataset`` in its own
module that builds the raw tables and passes them through ``common.validate``, registered in ``registry``.
"""

from eval.adapters.cdnow import load_cdnow
from eval.adapters.dataset import Dataset, DatasetDefaults
from eval.adapters.olist import load_olist
from eval.adapters.online_retail import load_online_retail
from eval.adapters.registry import ADAPTERS, DEFAULT_PATHS, default_data_path, load_dataset
from eval.adapters.synthetic import load_synthetic

__all__ = [
    "ADAPTERS",
    "DEFAULT_PATHS",
    "Dataset",
    "DatasetDefaults",
    "default_data_path",
    "load_cdnow",
    "load_dataset",
    "load_olist",
    "load_online_retail",
    "load_synthetic",
]
