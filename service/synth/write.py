"""Writing the generated tables as CSV, Parquet or JSON Lines files."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .common import STR, TABLES

_FORMATS = {"csv": ".csv", "parquet": ".parquet", "jsonl": ".jsonl"}


def _for_writing(df: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns (only in ``truth``) become ISO 8601 UTC strings like the tables' own timestamps."""
    out = df
    for c in df.columns:
        if isinstance(df[c].dtype, pd.DatetimeTZDtype):
            if out is df:
                out = df.copy()
            s = df[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            out[c] = s.astype(STR)
    return out


def write_tables(
    tables: dict[str, pd.DataFrame], out_dir: str | Path, fmt: str = "csv", include_truth: bool = False
) -> dict[str, Path]:
    """Write the tables as ``<out_dir>/<name>.<csv|parquet|jsonl>`` and return ``{name: path}``.

    Only ``customers``, ``orders``, ``reviews`` and ``events`` are written (those present), plus
    ``truth`` and ``errors`` when ``include_truth``. Timestamps are ISO 8601 UTC strings; CSV
    amounts have two decimals. Each file is written to a temporary name and renamed into place.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {sorted(_FORMATS)}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [t for t in TABLES if t in tables]
    if include_truth:
        names += [t for t in ("truth", "errors") if t in tables]
    written: dict[str, Path] = {}
    for name in names:
        df = _for_writing(tables[name])
        path = out_dir / f"{name}{_FORMATS[fmt]}"
        tmp = path.with_name(f".{path.name}.tmp")
        if fmt == "csv":
            df.to_csv(
                tmp, index=False, lineterminator="\n", encoding="utf-8", float_format="%.2f" if name in TABLES else None
            )
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False, engine="pyarrow")
        else:
            df.to_json(
                tmp, orient="records", lines=True, force_ascii=False, double_precision=10 if name in TABLES else 15
            )
        os.replace(tmp, path)
        written[name] = path
    return written
