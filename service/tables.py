"""Input tables: reading a data directory and validating it, with rejected rows kept (``load_tables``).

A table is read as strings first so that every bad value can be reported with its row number
and kept verbatim in the rejects file; only then are columns converted to their types.

The work is split by job: ``service.table_schema`` (the contract of DESIGN.md: tables, columns, bounds, timestamps),
``service.table_files`` (reading files), ``service.table_values`` (object columns, text cleaning, redaction) and
``service.table_validation`` (the row rules). The names other modules use are importable from here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from service.crash import recover_swap
from service.table_files import find_table_file, read_raw
from service.table_schema import (
    EXTENSIONS,
    ID_MAX_CHARS,
    NON_SPEND_STATUSES,
    REASON_COLUMN,
    ROW_COLUMN,
    TABLES,
    Bounds,
    DataError,
    LoadedData,
    NoValidOrders,
    parse_timestamp,
)
from service.table_validation import validate_tables
from service.table_values import object_frame

__all__ = [
    "ID_MAX_CHARS",
    "NON_SPEND_STATUSES",
    "REASON_COLUMN",
    "ROW_COLUMN",
    "TABLES",
    "Bounds",
    "DataError",
    "LoadedData",
    "NoValidOrders",
    "find_table_file",
    "load_tables",
    "object_frame",
    "parse_timestamp",
    "read_raw",
    "validate_tables",
]


def load_tables(data_dir: str | Path) -> LoadedData:
    """Read and validate every table present in ``data_dir``. Only ``orders`` is mandatory."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        recover_swap(data_dir)  # `insight data synth` killed between its two renames had set the folder aside
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data directory does not exist")
    raws: dict[str, tuple[pd.DataFrame, Path]] = {}
    for name in TABLES:
        path = find_table_file(data_dir, name)
        if path is not None:
            raws[name] = (read_raw(path, name), path)
    if "orders" not in raws:
        raise DataError(f"{data_dir}: no orders table found (expected orders{{{','.join(EXTENSIONS)}}})")
    loaded = validate_tables({k: v[0] for k, v in raws.items()}, sources={k: v[1] for k, v in raws.items()})
    if len(loaded.tables["orders"]) == 0:
        first = loaded.rejects["orders"].iloc[0]
        raise NoValidOrders(
            f"{raws['orders'][1]}: none of the {loaded.rows_read['orders']:,} orders is valid "
            f"(row {first[ROW_COLUMN]}: {first[REASON_COLUMN]}; every row's reason goes to the rejects file)",
            loaded,
        )
    return loaded
