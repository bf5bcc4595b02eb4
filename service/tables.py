"""Input tables: the contract of DESIGN.md, reading files, and row validation with kept rejects.

A table is read as strings first so that every bad value can be reported with its row number
and kept verbatim in the rejects file; only then are columns converted to their types.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

TABLES = ("customers", "orders", "reviews", "events")
EXTENSIONS = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz", ".ndjson")

# Columns by role; the order of REQUIRED is the order of checks.
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "orders": ("order_id", "customer_id", "order_ts", "amount"),
    "reviews": ("review_id", "customer_id", "review_ts", "rating", "text"),
    "events": ("customer_id", "event_ts", "event_type", "text"),
}
PRIMARY_KEY = {"customers": "customer_id", "orders": "order_id", "reviews": "review_id", "events": None}
TIMESTAMPS = {"customers": ("signup_ts",), "orders": ("order_ts",), "reviews": ("review_ts",), "events": ("event_ts",)}
TEXTS = {"reviews": "text", "events": "text"}
# Order statuses that do not count as spend.
NON_SPEND_STATUSES = ("returned", "canceled", "cancelled", "refunded")
ROW_COLUMN = "_row"  # 1-based data-row number in the source file (header excluded)
REASON_COLUMN = "_reason"


class DataError(ValueError):
    """A table cannot be used at all (unreadable file, missing required column). Stops the run."""


@dataclass
class LoadedData:
    """Clean tables (typed) plus the rejected rows of each table, kept verbatim with their reason."""

    tables: dict[str, pd.DataFrame]
    rejects: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return sum(len(r) for r in self.rejects.values())

    @property
    def n_read(self) -> int:
        return sum(self.rows_read.values())

    def summary(self) -> dict[str, dict[str, int]]:
        return {
            name: {"read": self.rows_read.get(name, 0), "kept": len(self.tables[name]), "rejected": len(self.rejects.get(name, ()))}
            for name in self.tables
        }

    def write_rejects(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every non-empty rejects table as ``<table>.rejects.csv``; returns the paths written."""
        out = Path(out_dir)
        written = {}
        for name, rej in self.rejects.items():
            if len(rej):
                out.mkdir(parents=True, exist_ok=True)
                path = out / f"{name}.rejects.csv"
                rej.to_csv(path, index=False)
                written[name] = path
        return written


# --------------------------------------------------------------------------- reading files


def find_table_file(data_dir: Path, name: str) -> Path | None:
    matches = [data_dir / f"{name}{ext}" for ext in EXTENSIONS if (data_dir / f"{name}{ext}").exists()]
    if len(matches) > 1:
        raise DataError(f"{data_dir}: table '{name}' is present more than once: {', '.join(m.name for m in matches)}")
    return matches[0] if matches else None


def read_raw(path: Path) -> pd.DataFrame:
    """Read one file as all-string columns (None for missing), by extension."""
    suffixes = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    try:
        if suffixes in (".csv", ".csv.gz"):
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], on_bad_lines="error")
        elif suffixes == ".parquet":
            df = pd.read_parquet(path)
        elif suffixes in (".jsonl", ".jsonl.gz", ".ndjson"):
            df = pd.read_json(path, lines=True, dtype=False)
        else:
            raise DataError(f"{path}: unsupported file type '{suffixes}' (use one of {', '.join(EXTENSIONS)})")
    except DataError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; the message names the row where it can
        raise DataError(f"{path}: cannot read file: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return _as_strings(df)


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as Python strings with None for missing, so validation sees values as written."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            strs = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        else:
            strs = s.astype(object).where(s.notna(), None)
            strs = strs.map(lambda v: v if v is None or isinstance(v, str) else str(v))
        out[col] = strs.astype(object).where(s.notna(), None)
    return pd.DataFrame(out, index=df.index)


# --------------------------------------------------------------------------- validation


class _RowChecker:
    """Collects per-row rejection reasons for one table; the first reason found for a row wins."""

    def __init__(self, name: str, raw: pd.DataFrame):
        self.name = name
        self.raw = raw
        self.reason = pd.Series(None, index=raw.index, dtype=object)

    def flag(self, mask: pd.Series | np.ndarray, reason: str) -> None:
        mask = pd.Series(mask, index=self.raw.index).fillna(False).astype(bool) & self.reason.isna()
        self.reason[mask] = reason

    @property
    def ok(self) -> pd.Series:
        return self.reason.isna()

    def split(self, typed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        rejects = self.raw[~self.ok].copy()
        rejects.insert(0, REASON_COLUMN, self.reason[~self.ok])
        rejects.insert(0, ROW_COLUMN, rejects.index + 1)
        return typed[self.ok.to_numpy()].reset_index(drop=True), rejects.reset_index(drop=True)


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def _parse_ts(s: pd.Series) -> pd.Series:
    # ISO 8601 with or without zone; naive values are taken as UTC.
    return pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")


def validate_table(name: str, raw: pd.DataFrame, source: str, known_customers: pd.Index | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check one raw table against the contract; returns (typed clean rows, rejected raw rows)."""
    missing = [c for c in REQUIRED[name] if c not in raw.columns]
    if missing:
        raise DataError(f"{source}: required column '{missing[0]}' is missing (table '{name}' needs {', '.join(REQUIRED[name])}; found {', '.join(raw.columns) or 'no columns'})")
    chk = _RowChecker(name, raw)
    typed = raw.copy()

    for col in ("customer_id", PRIMARY_KEY[name]):
        if col:
            typed[col] = raw[col].astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
            chk.flag(_blank(raw[col]), f"empty {col}")

    for col in TIMESTAMPS[name]:
        if col in raw.columns:
            parsed = _parse_ts(raw[col])
            required = col in REQUIRED[name]
            bad = parsed.isna() & (~_blank(raw[col]) | required)
            chk.flag(bad, f"unparseable {col}" if required else f"unparseable {col}")
            typed[col] = parsed

    if name == "orders":
        amount = pd.to_numeric(raw["amount"], errors="coerce")
        chk.flag(amount.isna(), "non-numeric amount")
        chk.flag(~np.isfinite(amount.fillna(0)), "non-finite amount")
        chk.flag(amount < 0, "negative amount")
        typed["amount"] = amount.astype("float64")
        typed["status"] = (raw["status"].fillna("completed").str.strip().str.lower() if "status" in raw.columns else "completed")
        if "n_items" in raw.columns:
            n_items = pd.to_numeric(raw["n_items"], errors="coerce")
            chk.flag(n_items.notna() & (n_items < 0), "negative n_items")
            chk.flag(n_items.isna() & ~_blank(raw["n_items"]), "non-numeric n_items")
            typed["n_items"] = n_items.astype("float64")
    elif name == "reviews":
        rating = pd.to_numeric(raw["rating"], errors="coerce")
        chk.flag(rating.isna(), "non-numeric rating")
        chk.flag(~rating.isin([1, 2, 3, 4, 5]) & rating.notna(), "rating outside 1-5")
        typed["rating"] = rating.astype("float64")
    elif name == "events":
        typed["event_type"] = raw["event_type"].fillna("").str.strip().str.lower()
        chk.flag(typed["event_type"] == "", "empty event_type")

    if name in TEXTS:
        col = TEXTS[name]
        chk.flag(_blank(raw[col]), f"empty {col}")
        typed[col] = raw[col].fillna("").astype(str).str.strip()

    if known_customers is not None and name != "customers":
        chk.flag(~typed["customer_id"].isin(known_customers) & typed["customer_id"].notna(), "unknown customer_id")

    key = PRIMARY_KEY[name]
    if key:
        # Only rows still valid compete for an id, so a broken first copy does not hide a good second one.
        dup = typed[key].where(chk.ok).duplicated(keep="first") & chk.ok
        chk.flag(dup, f"duplicate {key}")

    return chk.split(typed)


def load_tables(data_dir: str | Path) -> LoadedData:
    """Read and validate every table present in ``data_dir``. Only ``orders`` is mandatory."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data directory does not exist")
    raws: dict[str, tuple[pd.DataFrame, Path]] = {}
    for name in TABLES:
        path = find_table_file(data_dir, name)
        if path is not None:
            raws[name] = (read_raw(path), path)
    if "orders" not in raws:
        raise DataError(f"{data_dir}: no orders table found (expected orders{{{','.join(EXTENSIONS)}}})")
    return validate_tables({k: v[0] for k, v in raws.items()}, sources={k: v[1] for k, v in raws.items()})


def validate_tables(raw_tables: dict[str, pd.DataFrame], sources: dict[str, Path] | None = None) -> LoadedData:
    """Validate raw (string) tables in dependency order: customers first, so the others can be checked against it.

    Used by the batch path (files) and by the API's cold-start scoring (JSON rows) alike.
    """
    sources = dict(sources or {})
    unknown = set(raw_tables) - set(TABLES)
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(sorted(unknown))}; expected {', '.join(TABLES)}")
    if "orders" not in raw_tables:
        raise DataError("no orders table given; orders is the one mandatory table")
    tables: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    rows_read: dict[str, int] = {}
    known: pd.Index | None = None
    for name in TABLES:
        if name not in raw_tables:
            continue
        raw = _as_strings(raw_tables[name].reset_index(drop=True))
        rows_read[name] = len(raw)
        clean, rej = validate_table(name, raw, str(sources.get(name, name)), known)
        tables[name] = clean
        rejects[name] = rej
        if name == "customers":
            known = pd.Index(clean["customer_id"].unique())
        elif name == "orders" and known is None:
            # Without a customers table, the customers are those who ordered.
            known = pd.Index(clean["customer_id"].unique())
            tables["customers"] = pd.DataFrame({"customer_id": clean["customer_id"].drop_duplicates().reset_index(drop=True)})
    for name in ("reviews", "events"):
        tables.setdefault(name, _empty(name))
        rejects.setdefault(name, pd.DataFrame())
    return LoadedData(tables=tables, rejects=rejects, sources=sources, rows_read=rows_read)


def _empty(name: str) -> pd.DataFrame:
    cols = {c: pd.Series(dtype=object) for c in REQUIRED[name]}
    for c in TIMESTAMPS[name]:
        cols[c] = pd.Series(dtype="datetime64[ns, UTC]")
    if name == "reviews":
        cols["rating"] = pd.Series(dtype="float64")
    return pd.DataFrame(cols)
