"""Row validation of the input tables: each row that breaks the contract is rejected with its reason and kept.

Validation works on numpy arrays and Python lists, one pass per rule: a pandas operation costs tens of microseconds
whatever the length, and the API validates a handful of rows per request (POST /v1/score) with these same rules.
The first reason found for a row wins, so the order of the rules below is the order of the reasons.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from service.privacy import INVISIBLE
from service.table_schema import (
    CLEANED_COLUMNS,
    ID_MAX_CHARS,
    ISO_TIMESTAMP,
    PRIMARY_KEY,
    REASON_COLUMN,
    REQUIRED,
    ROW_COLUMN,
    TABLES,
    TEXTS,
    TIMESTAMPS,
    YEAR_PREFIX,
    Bounds,
    DataError,
    LoadedData,
    iso_normal,
    other_separator,
)
from service.table_values import (
    ANY_CONTROL,
    LONE_SURROGATE,
    as_strings,
    clean_text,
    object_column,
    redact_free_text,
)


def _bools(values) -> np.ndarray:
    """A boolean mask as a numpy array (missing values count as False)."""
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=bool, na_value=False)
    return np.asarray(values, dtype=bool)


class _RowChecker:
    """Collects per-row rejection reasons for one table; the first reason found for a row wins."""

    def __init__(self, name: str, raw: pd.DataFrame):
        self.name = name
        self.raw = raw
        self.reason = np.full(len(raw), None, dtype=object)
        self.ok = np.ones(len(raw), dtype=bool)  # rows without a reason so far

    def flag(self, mask: pd.Series | np.ndarray, reason: str) -> None:
        hit = _bools(mask) & self.ok
        if hit.any():
            self.reason[hit] = reason
            self.ok &= ~hit

    def split(self, typed: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        # Rejected rows are kept as written, except for contact data in their free-text columns (rejects files).
        bad = ~self.ok
        if bad.any():
            rejects = redact_free_text(self.raw[bad].copy())
            rejects.insert(0, REASON_COLUMN, object_column(self.reason[bad].tolist(), rejects.index))
            rejects.insert(0, ROW_COLUMN, rejects.index + 1)
            return typed[self.ok].reset_index(drop=True), rejects.reset_index(drop=True)
        # Nothing rejected (the usual case): the same frames, built without indexing and inserting.
        none = {ROW_COLUMN: np.zeros(0, dtype=np.int64), REASON_COLUMN: np.zeros(0, dtype=object)}
        cols = {c: self.raw[c].to_numpy()[:0] for c in self.raw.columns}
        rejects = pd.DataFrame({**none, **cols}, index=pd.RangeIndex(0))
        return typed.reset_index(drop=True), rejects


def _blank(values: list) -> np.ndarray:
    return np.array(
        [v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" for v in values], dtype=bool
    )


def _parse_ts(s: pd.Series) -> pd.Series:
    # ISO 8601 with or without zone; naive values are taken as UTC. Anything else (01/02/2025, epoch numbers) is NaT.
    text = [
        iso_normal(v.strip()) if isinstance(v, str) and ISO_TIMESTAMP.match(v.strip()) else None for v in s.tolist()
    ]
    out = pd.to_datetime(object_column(text, s.index), errors="coerce", utc=True, format="ISO8601")
    return out.astype("datetime64[us, UTC]") if len(out) else out


def _strip(v):
    return v.strip() if isinstance(v, str) else v


def _id_problems(chk: _RowChecker, values: list, col: str) -> None:
    strs = [v.strip() if isinstance(v, str) else "" for v in values]
    chk.flag([bool(LONE_SURROGATE.search(v)) for v in strs], f"{col} is not valid Unicode (lone surrogate)")
    chk.flag([bool(ANY_CONTROL.search(v)) for v in strs], f"{col} contains a control character (e.g. NUL)")
    chk.flag(
        [bool(INVISIBLE.search(v)) for v in strs],
        f"{col} contains an invisible character (zero-width space, direction mark or byte order mark)",
    )
    chk.flag([len(v) > ID_MAX_CHARS for v in strs], f"{col} is longer than {ID_MAX_CHARS} characters")
    # 'José' with the accent as a separate mark (NFD, as macOS writes file names) looks like 'José' (NFC) but is another
    # id: the same customer's rows had become two customers with half the history each
    chk.flag(
        [not v.isascii() and not unicodedata.is_normalized("NFC", v) for v in strs],
        f"{col} is not in Unicode normal form NFC (an accent typed as a separate mark), so it would look like another "
        "id; save the file with composed characters (NFC)",
    )


def _utc_naive(ts: pd.Timestamp) -> np.datetime64:
    return np.datetime64(ts.tz_convert("UTC").tz_localize(None).as_unit("us").to_datetime64())


def _ts_reasons(
    chk: _RowChecker, values: list, parsed: pd.Series, col: str, required: bool, bounds: Bounds
) -> pd.Series:
    """Flag unparseable and out-of-range timestamps; returns the parsed values with rejected ones as NaT."""
    blank = _blank(values)
    # the year as written guards the parser against years it cannot hold; one year of slack either way, so a local time
    # whose UTC instant is inside the range ("1969-12-31T23:30-01:00") is judged in UTC below like every other value
    lo, hi = bounds.date_min.year - 1, bounds.date_max.year + 1
    out_year = np.array(
        [
            isinstance(v, str) and (m := YEAR_PREFIX.match(v)) is not None and not lo <= int(m.group(1)) <= hi
            for v in values
        ],
        dtype=bool,
    )
    at = parsed.to_numpy(dtype="datetime64[us]") if len(parsed) else np.array([], dtype="datetime64[us]")
    missing = np.isnat(at)
    with np.errstate(invalid="ignore"):
        out_range = ~missing & ((at < _utc_naive(bounds.date_min)) | (at > _utc_naive(bounds.date_max)))
    range_msg = f"{col} outside the accepted range {bounds.describe_dates()}"
    chk.flag(out_year & ~blank, range_msg)
    chk.flag(out_range, range_msg)
    chk.flag(
        missing & (~blank | required),
        f"unparseable {col} (not an ISO 8601 date or timestamp)" if not required else f"unparseable {col}",
    )
    drop = out_range | out_year
    return parsed.where(~drop) if drop.any() else parsed


def _numbers(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``pd.to_numeric`` (non-numbers as NaN) and its values as float64."""
    num = pd.to_numeric(s, errors="coerce")
    return num, num.to_numpy(dtype="float64", na_value=np.nan)


# --------------------------------------------------------------------------- the rules of one table, in order
# Each step flags rows on ``chk`` and writes typed columns into ``typed``; ``values`` holds the raw columns as lists.


def _require_columns(name: str, raw: pd.DataFrame, source: str) -> None:
    missing = [c for c in REQUIRED[name] if c not in raw.columns]
    if missing:
        # one header column holding the required names with another separator: a file saved with ';' or tabs
        sep = other_separator(list(raw.columns))
        hint = f"; the header looks separated by {sep!r}: save the file with commas" if sep else ""
        raise DataError(
            f"{source}: required column '{missing[0]}' is missing (table '{name}' needs "
            f"{', '.join(REQUIRED[name])}; found {', '.join(raw.columns) or 'no columns'}){hint}"
        )


def _check_ids(chk: _RowChecker, typed: pd.DataFrame, values: dict[str, list]) -> None:
    """customer_id and the primary key: stripped; empty, non-Unicode, control characters or too long rejected."""
    for col in dict.fromkeys(c for c in ("customer_id", PRIMARY_KEY[chk.name]) if c):
        typed[col] = object_column([_strip(v) for v in values[col]], chk.raw.index)
        chk.flag(_blank(values[col]), f"empty {col}")
        _id_problems(chk, values[col], col)


def _check_timestamps(chk: _RowChecker, typed: pd.DataFrame, values: dict[str, list], bounds: Bounds) -> None:
    for col in TIMESTAMPS[chk.name]:
        if col in chk.raw.columns:
            parsed = _parse_ts(chk.raw[col])
            typed[col] = _ts_reasons(chk, values[col], parsed, col, col in REQUIRED[chk.name], bounds)


_LATIN = re.compile(r"[a-z]")
_LOOKALIKE = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")  # Greek and Cyrillic


def _check_orders(chk: _RowChecker, typed: pd.DataFrame, values: dict[str, list], bounds: Bounds) -> None:
    """Amounts (numbers, finite, not negative, within bounds), statuses (lower case, default "completed"), n_items."""
    raw = chk.raw
    amount, a = _numbers(raw["amount"])
    chk.flag(np.isnan(a), "non-numeric amount")
    chk.flag(np.isinf(a), "non-finite amount")
    chk.flag(a < 0, "negative amount")
    chk.flag(a > bounds.amount_max, f"amount above the accepted maximum {bounds.amount_max:,.0f}")
    typed["amount"] = amount.astype("float64")
    if "status" in raw.columns:
        statuses = [
            INVISIBLE.sub("", clean_text(v)).strip().lower() if isinstance(v, str) else "completed"
            for v in values["status"]
        ]
        # a status mixing Latin letters with look-alikes of another script ("r\u0435turned", a Cyrillic e) reads as
        # a non-spend status but would count as spend: refused, not guessed
        mixed = [bool(_LATIN.search(s) and _LOOKALIKE.search(s)) for s in statuses]
        chk.flag(np.array(mixed, dtype=bool), "status mixes Latin letters with look-alike letters of another script")
        typed["status"] = object_column(statuses, raw.index)
    else:
        typed["status"] = "completed"
    if "n_items" in raw.columns:
        n_items, k = _numbers(raw["n_items"])
        chk.flag(k < 0, "negative n_items")
        chk.flag(np.isnan(k) & ~_blank(values["n_items"]), "non-numeric n_items")
        chk.flag(np.isinf(k), "non-finite n_items")
        chk.flag(k > bounds.n_items_max, f"n_items above the accepted maximum {bounds.n_items_max:,.0f}")
        typed["n_items"] = n_items.astype("float64")


def _check_ratings(chk: _RowChecker, typed: pd.DataFrame) -> None:
    rating, r = _numbers(chk.raw["rating"])
    chk.flag(np.isnan(r), "non-numeric rating")
    whole = np.isnan(r) | (np.mod(np.nan_to_num(r), 1) == 0)
    chk.flag(~whole, "rating is not a whole number of stars (1-5)")
    chk.flag(~np.isin(r, [1, 2, 3, 4, 5]) & ~np.isnan(r) & whole, "rating outside 1-5")
    typed["rating"] = rating.astype("float64")


def _check_event_types(chk: _RowChecker, typed: pd.DataFrame, values: dict[str, list]) -> None:
    kinds = [clean_text(v).strip().lower() if isinstance(v, str) else "" for v in values["event_type"]]
    typed["event_type"] = object_column(kinds, chk.raw.index)
    chk.flag([k == "" for k in kinds], "empty event_type")


def _clean_feature_columns(chk: _RowChecker, typed: pd.DataFrame, values: dict[str, list]) -> None:
    """Columns that only feed features (categories, product ids, ...): cleaned, never a reason to reject."""
    for col in CLEANED_COLUMNS.get(chk.name, ()):
        if col in chk.raw.columns and col != "status" and col != "event_type":
            typed[col] = object_column([clean_text(v) for v in values[col]], chk.raw.index)


def _check_texts(chk: _RowChecker, typed: pd.DataFrame, values: dict[str, list]) -> None:
    if chk.name in TEXTS:
        col = TEXTS[chk.name]
        cleaned = [clean_text(v).strip() if isinstance(v, str) else "" for v in values[col]]
        chk.flag([c == "" for c in cleaned], f"empty {col}")
        typed[col] = object_column(cleaned, chk.raw.index)


def _check_references(
    chk: _RowChecker, typed: pd.DataFrame, known_customers: pd.Index | None, dropped: dict[str, str] | None = None
) -> None:
    """Rows of a customer the customers table does not know (or, without one, who never ordered). A customer whose
    own rows were rejected (``dropped``: id -> why) is named as such: 'unknown customer_id' had sent the user looking
    for a missing customer when one bad optional value (a signup date) had rejected the customer's row."""
    if known_customers is None or chk.name == "customers":
        return
    ids = typed["customer_id"]
    unknown = ~ids.isin(known_customers).to_numpy() & ids.notna().to_numpy()
    if dropped and unknown.any():
        why = ids.map(dropped).to_numpy()
        for reason in pd.unique(why[unknown & pd.notna(why)]):
            chk.flag(unknown & (why == reason), reason)
    chk.flag(unknown, "unknown customer_id")


def _check_duplicates(chk: _RowChecker, typed: pd.DataFrame) -> None:
    key = PRIMARY_KEY[chk.name]
    if key:
        # Only rows still valid compete for an id, so a broken first copy does not hide a good second one.
        dup = typed[key].where(chk.ok).duplicated(keep="first").to_numpy() & chk.ok
        chk.flag(dup, f"duplicate {key}")


def validate_table(
    name: str,
    raw: pd.DataFrame,
    source: str,
    known_customers: pd.Index | None,
    bounds: Bounds | None = None,
    dropped: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check one raw table against the contract; returns (typed clean rows, rejected raw rows). ``dropped``: customers
    whose defining rows were rejected, with the reason their other rows are rejected for."""
    bounds = bounds or Bounds.from_env()
    _require_columns(name, raw, source)
    chk = _RowChecker(name, raw)
    typed = raw.copy()
    values = {col: raw[col].tolist() for col in raw.columns}
    _check_ids(chk, typed, values)
    _check_timestamps(chk, typed, values, bounds)
    with np.errstate(invalid="ignore"):  # comparisons with NaN are False, as pandas' are
        if name == "orders":
            _check_orders(chk, typed, values, bounds)
        elif name == "reviews":
            _check_ratings(chk, typed)
        elif name == "events":
            _check_event_types(chk, typed, values)
    _clean_feature_columns(chk, typed, values)
    _check_texts(chk, typed, values)
    _check_references(chk, typed, known_customers, dropped)
    _check_duplicates(chk, typed)
    return chk.split(redact_free_text(typed))


# --------------------------------------------------------------------------- every table


def _dropped_customers(name: str, clean: pd.DataFrame, rej: pd.DataFrame, sources: dict) -> dict[str, str]:
    """Customers none of whose rows of ``name`` (customers, or orders without a customers table) were kept, with the
    reason their other rows are rejected for: the first of their own rows' reasons."""
    if not len(rej) or "customer_id" not in rej.columns:
        return {}
    gone = rej[~rej["customer_id"].isin(clean["customer_id"])].drop_duplicates("customer_id")
    where = Path(str(sources.get(name, name))).name
    return {
        str(cid): f"its {name} row{'s were' if name == 'orders' else ' was'} rejected ({where} row {row}: {why})"
        for cid, row, why in zip(gone["customer_id"], gone[ROW_COLUMN], gone[REASON_COLUMN])
        if isinstance(cid, str) and cid
    }


def validate_tables(
    raw_tables: dict[str, pd.DataFrame], sources: dict[str, Path] | None = None, bounds: Bounds | None = None
) -> LoadedData:
    """Validate raw (string) tables in dependency order: customers first, so the others can be checked against it.

    Used by the batch path (files) and by the API's cold-start scoring (JSON rows) alike.
    """
    sources = dict(sources or {})
    bounds = bounds or Bounds.from_env()
    unknown = set(raw_tables) - set(TABLES)
    if unknown:
        raise DataError(f"unknown table(s) {', '.join(sorted(unknown))}; expected {', '.join(TABLES)}")
    if "orders" not in raw_tables:
        raise DataError("no orders table given; orders is the one mandatory table")
    tables: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    rows_read: dict[str, int] = {}
    known: pd.Index | None = None
    dropped: dict[str, str] = {}
    for name in TABLES:
        if name not in raw_tables:
            continue
        raw = as_strings(raw_tables[name].reset_index(drop=True))
        reserved = [c for c in (ROW_COLUMN, REASON_COLUMN) if c in raw.columns]
        if reserved:  # the rejects file adds these two: an input column of that name stopped the run unnamed
            raise DataError(
                f"{sources.get(name, name)}: column '{reserved[0]}' is reserved (the rejects file adds it to say "
                "each rejected row's number and reason); rename it"
            )
        rows_read[name] = len(raw)
        clean, rej = validate_table(name, raw, str(sources.get(name, name)), known, bounds, dropped)
        tables[name] = clean
        rejects[name] = rej
        if name == "customers" or (name == "orders" and known is None):
            dropped = _dropped_customers(name, clean, rej, sources)
        if name == "customers":
            known = pd.Index(clean["customer_id"].unique())
        elif name == "orders" and known is None:
            # Without a customers table, the customers are those who ordered.
            known = pd.Index(clean["customer_id"].unique())
            tables["customers"] = pd.DataFrame(
                {"customer_id": clean["customer_id"].drop_duplicates().reset_index(drop=True)}
            )
    for name in ("reviews", "events"):
        if name not in tables:  # not setdefault: an empty table costs a millisecond to build, for nothing if present
            tables[name] = _empty(name)
            rejects[name] = pd.DataFrame()
    return LoadedData(tables=tables, rejects=rejects, sources=sources, rows_read=rows_read)


def _empty(name: str) -> pd.DataFrame:
    cols = {c: pd.Series(dtype=object) for c in REQUIRED[name]}
    for c in TIMESTAMPS[name]:
        cols[c] = pd.Series(dtype="datetime64[ns, UTC]")
    if name == "reviews":
        cols["rating"] = pd.Series(dtype="float64")
    return pd.DataFrame(cols)
