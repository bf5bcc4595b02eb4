"""Input tables: the contract of DESIGN.md, reading files, and row validation with kept rejects.

A table is read as strings first so that every bad value can be reported with its row number
and kept verbatim in the rejects file; only then are columns converted to their types.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import re
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
# Ids are stored in VARCHAR(128) columns (service.store): longer ids are rejected here, for every store alike.
ID_MAX_CHARS = 128
# Columns that only feed features; their text is cleaned (lone surrogates, control characters) like review texts.
CLEANED_COLUMNS = {"orders": ("status", "category"), "events": ("event_type", "product_id"), "reviews": ("order_id",)}
# Never free text, so never redacted: ids are kept as given (a 16-digit order id is an id, not a card), and timestamps
# and numbers are checked by their own rules. Every other column (review and event texts, categories, statuses, extra
# columns such as a customers table's "email") has contact data masked at validation; see redact_free_text.
NOT_FREE_TEXT = frozenset(
    {
        "customer_id",
        "order_id",
        "review_id",
        "product_id",
        "amount",
        "n_items",
        "rating",
        *(c for cols in TIMESTAMPS.values() for c in cols),
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# ISO 8601 calendar date, optionally with a time (T or space) and a zone; nothing else is a timestamp here.
_ISO_TS = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?)?$")
_YEAR = re.compile(r"^\s*([+-]?\d{4,})-")


@dataclass(frozen=True)
class Bounds:
    """Sane ranges of the contract (configurable): values outside are rejected rows (files) or 422s naming the field
    (API).

    Without them an amount of 1e308 reaches XGBoost as infinity and a date in year 9999 overflows DuckDB and
    datetime arithmetic; both ended in stack traces before.
    """

    amount_max: float = 1e9
    n_items_max: float = 1e6
    date_min: pd.Timestamp = pd.Timestamp("1970-01-01T00:00:00Z")
    date_max: pd.Timestamp = pd.Timestamp("2100-12-31T23:59:59.999999Z")

    @classmethod
    def from_env(cls) -> Bounds:
        """INSIGHT_AMOUNT_MAX, INSIGHT_N_ITEMS_MAX, INSIGHT_DATE_MIN, INSIGHT_DATE_MAX (ISO dates) override the
        defaults."""
        kw = {}
        for key, name in (("amount_max", "INSIGHT_AMOUNT_MAX"), ("n_items_max", "INSIGHT_N_ITEMS_MAX")):
            if os.environ.get(name):
                try:
                    kw[key] = float(os.environ[name])
                except ValueError:
                    raise DataError(f"{name}={os.environ[name]!r} is not a number") from None
        for key, name, end in (("date_min", "INSIGHT_DATE_MIN", False), ("date_max", "INSIGHT_DATE_MAX", True)):
            if os.environ.get(name):
                kw[key] = _iso(os.environ[name], name, end_of_day=end)
        b = cls(**kw)
        if not (b.date_min < b.date_max) or b.date_min.year < 1678 or b.date_max.year > 2261:
            raise DataError(
                f"accepted date range {b.date_min.date()}..{b.date_max.date()} must be increasing and within 1678-2261"
            )
        return b

    def describe_dates(self) -> str:
        return f"{self.date_min.date()} to {self.date_max.date()}"


def _iso(value, what: str, end_of_day: bool = False) -> pd.Timestamp:
    text = str(value).strip()
    if not _ISO_TS.match(text):
        raise DataError(
            f"{what} {value!r} is not an ISO 8601 date or timestamp (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])"
        )
    try:
        ts = pd.Timestamp(text)
    except (ValueError, OverflowError) as exc:
        raise DataError(f"{what} {value!r} is not a valid date ({exc})") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if end_of_day and len(text) <= 10:
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return ts


def parse_timestamp(
    value, what: str = "cutoff", bounds: Bounds | None = None, end_of_day: bool = False
) -> pd.Timestamp:
    """A strict ISO 8601 date or timestamp (UTC when no zone) inside the accepted range; DataError naming ``what``
    otherwise.

    ``01/02/2025`` is refused rather than guessed (month first or day first?). With ``end_of_day`` a date alone means
    the last microsecond of that day.
    """
    bounds = bounds or Bounds.from_env()
    m = _YEAR.match(str(value))
    if (
        m
        and _ISO_TS.match(str(value).strip())
        and not (bounds.date_min.year <= int(m.group(1)) <= bounds.date_max.year)
    ):
        raise DataError(f"{what} {value!r} is outside the accepted range {bounds.describe_dates()}")
    ts = _iso(value, what, end_of_day)
    if not (bounds.date_min <= ts <= bounds.date_max):
        raise DataError(f"{what} {value!r} is outside the accepted range {bounds.describe_dates()}")
    return ts


def clean_text(value):
    """Texts are kept, but never with lone surrogates (not encodable as UTF-8) or control characters other than
    tab/newline."""
    if not isinstance(value, str):
        return value
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(" ", value)
    return value


def redact_free_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with e-mail addresses, phone numbers and Luhn-valid card numbers masked in every free-text column.

    This is the one boundary for personal data in customer texts (service.privacy): files and ``POST /v1/score`` rows
    both pass here before anything else sees them, so the profile store, the embedding cache (keyed by text), the
    explanation cache, the rejects files and every output hold placeholders only. Masking at the entrance, rather
    than at each exit, also covers what no exit knows about: texts capped to 300 characters for evidence would cut a
    card number in two and hide it from the Luhn check.
    """
    from service.privacy import redact

    memo: dict[str, str | None] = {}

    def one(v):
        if not isinstance(v, str):
            return v
        out = memo.get(v)
        if out is None:
            out = memo[v] = redact(v)
        return out

    for col in df.columns:
        if col in NOT_FREE_TEXT or col in (ROW_COLUMN, REASON_COLUMN) or df[col].dtype != object:
            continue
        values = df[col].tolist()
        masked = [one(v) for v in values]
        if any(m is not v for m, v in zip(masked, values)):  # most columns hold no contact data: left as they are
            df[col] = _objects(masked, df.index)
    return df


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
            name: {
                "read": self.rows_read.get(name, 0),
                "kept": len(self.tables[name]),
                "rejected": len(self.rejects.get(name, ())),
            }
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
                rej.to_csv(path, index=False, errors="backslashreplace")
                written[name] = path
        return written


# --------------------------------------------------------------------------- reading files


def find_table_file(data_dir: Path, name: str) -> Path | None:
    # lexists, not exists: a broken link or a symlink loop is a file that is there but cannot be read, never "no table".
    matches = [data_dir / f"{name}{ext}" for ext in EXTENSIONS if os.path.lexists(data_dir / f"{name}{ext}")]
    if len(matches) > 1:
        raise DataError(f"{data_dir}: table '{name}' is present more than once: {', '.join(m.name for m in matches)}")
    if matches and not matches[0].exists():
        raise DataError(f"{matches[0]}: cannot read file: it is a broken symbolic link or a symlink loop")
    return matches[0] if matches else None


def _kind(path: Path) -> str:
    return "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _check_utf8(path: Path) -> None:
    """Stream the file through a UTF-8 decoder; a bad byte is reported by line (and column), not byte offset."""
    dec = codecs.getincrementaldecoder("utf-8")()
    line, done_bytes = 1, b""
    with _open_bytes(path) as f:
        while True:
            chunk = f.read(1 << 20)
            try:
                dec.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = done_bytes + chunk
                # exc.start is relative to the decoder's buffered input: the pending bytes plus this chunk.
                pos = len(done_bytes) + exc.start - (len(exc.object) - len(chunk))
                pos = max(0, min(pos, len(data) - 1))
                line_no = line + data[:pos].count(b"\n")
                col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
                raise DataError(
                    f"{path} line {line_no}: not valid UTF-8 (byte 0x{data[pos]:02x} at byte {col} of the line); "
                    "save the file as UTF-8"
                ) from None
            if not chunk:
                return
            line += chunk.count(b"\n")
            done_bytes = b""


def _check_header(path: Path, columns: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(columns, start=1):
        c = str(c).strip()
        if c in seen:
            raise DataError(
                f"{path}: column '{c}' appears more than once in the header (columns {seen[c]} and {i}); "
                "rename or drop one, the rows would otherwise be read from only one of them"
            )
        seen[c] = i


def _duplicate_key_guard(path: Path, line_no: int):
    def hook(pairs):
        keys = set()
        for k, _ in pairs:
            if k in keys:
                raise DataError(f"{path} line {line_no}: key '{k}' appears more than once in the object")
            keys.add(k)
        return dict(pairs)

    return hook


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines read line by line, so a bad row is reported by its line number (pandas reports a byte position)."""
    records = []
    with _open_bytes(path) as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path} line {line_no}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1}); "
                    "save the file as UTF-8"
                ) from None
            if not text.strip():
                continue
            try:
                obj = json.loads(
                    text, object_pairs_hook=_duplicate_key_guard(path, line_no), parse_constant=_no_constant
                )
            except DataError:
                raise
            except ValueError as exc:
                raise DataError(f"{path} line {line_no}: not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path} line {line_no}: expected one JSON object per line, found {type(obj).__name__}")
            records.append({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in obj.items()})
    if not records:
        raise DataError(f"{path}: the file is empty (no rows)")
    return object_frame(records)


def object_frame(records: list[dict]) -> pd.DataFrame:
    """Rows (dicts) as a DataFrame of object columns, missing keys as None.

    Not pandas' inferred string dtype: that is Arrow-backed and raises on a lone surrogate (JSON allows "\\ud800"), so
    such a value could not even reach validation, which rejects it with a reason.
    """
    cols = list(dict.fromkeys(k for r in records for k in r))
    return pd.DataFrame(
        {c: pd.Series([r.get(c) for r in records], dtype=object) for c in cols}, index=pd.RangeIndex(len(records))
    )


def read_raw(path: Path, table: str | None = None) -> pd.DataFrame:
    """Read one file as all-string columns (None for missing), by extension.

    Stops with a DataError naming the file (and line, for text formats) when the file is unreadable, not UTF-8, empty or
    header-only, has a duplicate header, or (Parquet) stores a timestamp column of ``table`` as plain numbers.
    """
    suffixes = _kind(path)
    try:
        if suffixes in (".csv", ".csv.gz"):
            _check_utf8(path)
            with _open_bytes(path) as f:
                header = next(csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline="")), None)
            if header is None:
                raise DataError(f"{path}: the file is empty (no header, no rows)")
            _check_header(path, header)
            df = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], on_bad_lines="error", encoding="utf-8-sig"
            )
        elif suffixes == ".parquet":
            df = pd.read_parquet(path)
            _check_header(path, list(df.columns))
            for col in TIMESTAMPS.get(table or "", ()):
                if col in df.columns and (
                    pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
                ):
                    raise DataError(
                        f"{path}: column '{col}' holds numbers ({df[col].dtype}), not timestamps; "
                        "write it as a Parquet timestamp or as ISO 8601 text (e.g. 2025-12-31T10:00:00Z)"
                    )
        elif suffixes in (".jsonl", ".jsonl.gz", ".ndjson"):
            df = _read_jsonl(path)
        else:
            raise DataError(f"{path}: unsupported file type '{suffixes}' (use one of {', '.join(EXTENSIONS)})")
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (no header, no rows)") from None
    except Exception as exc:  # pandas/pyarrow raise many types; the message names the row where it can
        raise DataError(f"{path}: cannot read file: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{path}: no data rows (only a header: {', '.join(df.columns) or 'no columns'})")
    return _as_strings(df)


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as Python strings with None for missing, so validation sees values as written."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        values = s.to_numpy(dtype=object)
        missing = pd.isna(values)
        # Plain object columns built from lists: pandas' inferred (Arrow) string dtype cannot hold a lone surrogate.
        vals = [None if m else (v if isinstance(v, str) else str(v)) for v, m in zip(values.tolist(), missing.tolist())]
        out[col] = _objects(vals, df.index)
    return pd.DataFrame(out, index=df.index)


def _objects(values: list, index: pd.Index) -> pd.Series:
    """A plain object column (never pandas' inferred string dtype, which cannot hold a lone surrogate)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return pd.Series(arr, index=index, dtype=object, copy=False)


# Validation works on numpy arrays and Python lists, one pass per rule: a pandas operation costs tens of microseconds
# whatever the length, and the API validates a handful of rows per request (POST /v1/score) with these same rules.


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
            rejects.insert(0, REASON_COLUMN, _objects(self.reason[bad].tolist(), rejects.index))
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
    text = [v.strip() if isinstance(v, str) and _ISO_TS.match(v.strip()) else None for v in s.tolist()]
    out = pd.to_datetime(_objects(text, s.index), errors="coerce", utc=True, format="ISO8601")
    return out.astype("datetime64[us, UTC]") if len(out) else out


def _omap(s: pd.Series, fn) -> pd.Series:
    """``s.map(fn)`` kept as an object column (pandas would infer its string dtype, which rejects lone surrogates)."""
    return _objects([fn(v) for v in s.tolist()], s.index)


def _strip(v):
    return v.strip() if isinstance(v, str) else v


def _id_problems(chk: _RowChecker, values: list, col: str) -> None:
    strs = [v.strip() if isinstance(v, str) else "" for v in values]
    chk.flag([bool(_SURROGATE.search(v)) for v in strs], f"{col} is not valid Unicode (lone surrogate)")
    chk.flag([bool(_ID_CONTROL.search(v)) for v in strs], f"{col} contains a control character (e.g. NUL)")
    chk.flag([len(v) > ID_MAX_CHARS for v in strs], f"{col} is longer than {ID_MAX_CHARS} characters")


def _utc_naive(ts: pd.Timestamp) -> np.datetime64:
    return np.datetime64(ts.tz_convert("UTC").tz_localize(None).as_unit("us").to_datetime64())


def _ts_reasons(
    chk: _RowChecker, values: list, parsed: pd.Series, col: str, required: bool, bounds: Bounds
) -> pd.Series:
    """Flag unparseable and out-of-range timestamps; returns the parsed values with rejected ones as NaT."""
    blank = _blank(values)
    lo, hi = bounds.date_min.year, bounds.date_max.year
    out_year = np.array(
        [isinstance(v, str) and (m := _YEAR.match(v)) is not None and not lo <= int(m.group(1)) <= hi for v in values],
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


def validate_table(
    name: str, raw: pd.DataFrame, source: str, known_customers: pd.Index | None, bounds: Bounds | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check one raw table against the contract; returns (typed clean rows, rejected raw rows)."""
    bounds = bounds or Bounds.from_env()
    missing = [c for c in REQUIRED[name] if c not in raw.columns]
    if missing:
        raise DataError(
            f"{source}: required column '{missing[0]}' is missing (table '{name}' needs "
            f"{', '.join(REQUIRED[name])}; found {', '.join(raw.columns) or 'no columns'})"
        )
    chk = _RowChecker(name, raw)
    typed = raw.copy()
    values = {col: raw[col].tolist() for col in raw.columns}

    for col in dict.fromkeys(c for c in ("customer_id", PRIMARY_KEY[name]) if c):
        typed[col] = _objects([_strip(v) for v in values[col]], raw.index)
        chk.flag(_blank(values[col]), f"empty {col}")
        _id_problems(chk, values[col], col)

    for col in TIMESTAMPS[name]:
        if col in raw.columns:
            parsed = _parse_ts(raw[col])
            typed[col] = _ts_reasons(chk, values[col], parsed, col, col in REQUIRED[name], bounds)

    with np.errstate(invalid="ignore"):  # comparisons with NaN are False, as pandas' are
        if name == "orders":
            amount, a = _numbers(raw["amount"])
            chk.flag(np.isnan(a), "non-numeric amount")
            chk.flag(np.isinf(a), "non-finite amount")
            chk.flag(a < 0, "negative amount")
            chk.flag(a > bounds.amount_max, f"amount above the accepted maximum {bounds.amount_max:,.0f}")
            typed["amount"] = amount.astype("float64")
            if "status" in raw.columns:
                statuses = [
                    clean_text(v).strip().lower() if isinstance(v, str) else "completed" for v in values["status"]
                ]
                typed["status"] = _objects(statuses, raw.index)
            else:
                typed["status"] = "completed"
            if "n_items" in raw.columns:
                n_items, k = _numbers(raw["n_items"])
                chk.flag(k < 0, "negative n_items")
                chk.flag(np.isnan(k) & ~_blank(values["n_items"]), "non-numeric n_items")
                chk.flag(np.isinf(k), "non-finite n_items")
                chk.flag(k > bounds.n_items_max, f"n_items above the accepted maximum {bounds.n_items_max:,.0f}")
                typed["n_items"] = n_items.astype("float64")
        elif name == "reviews":
            rating, r = _numbers(raw["rating"])
            chk.flag(np.isnan(r), "non-numeric rating")
            chk.flag(~np.isin(r, [1, 2, 3, 4, 5]) & ~np.isnan(r), "rating outside 1-5")
            typed["rating"] = rating.astype("float64")
        elif name == "events":
            kinds = [clean_text(v).strip().lower() if isinstance(v, str) else "" for v in values["event_type"]]
            typed["event_type"] = _objects(kinds, raw.index)
            chk.flag([k == "" for k in kinds], "empty event_type")

    for col in CLEANED_COLUMNS.get(name, ()):
        if col in raw.columns and col != "status" and col != "event_type":
            typed[col] = _objects([clean_text(v) for v in values[col]], raw.index)

    if name in TEXTS:
        col = TEXTS[name]
        cleaned = [clean_text(v).strip() if isinstance(v, str) else "" for v in values[col]]
        chk.flag([c == "" for c in cleaned], f"empty {col}")
        typed[col] = _objects(cleaned, raw.index)

    if known_customers is not None and name != "customers":
        ids = typed["customer_id"]
        chk.flag(~ids.isin(known_customers).to_numpy() & ids.notna().to_numpy(), "unknown customer_id")

    key = PRIMARY_KEY[name]
    if key:
        # Only rows still valid compete for an id, so a broken first copy does not hide a good second one.
        dup = typed[key].where(chk.ok).duplicated(keep="first").to_numpy() & chk.ok
        chk.flag(dup, f"duplicate {key}")

    return chk.split(redact_free_text(typed))


def load_tables(data_dir: str | Path) -> LoadedData:
    """Read and validate every table present in ``data_dir``. Only ``orders`` is mandatory."""
    data_dir = Path(data_dir)
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
        raise DataError(
            f"{raws['orders'][1]}: none of the {loaded.rows_read['orders']:,} orders is valid "
            f"(row {first[ROW_COLUMN]}: {first[REASON_COLUMN]}; every row's reason goes to the rejects file)"
        )
    return loaded


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
    for name in TABLES:
        if name not in raw_tables:
            continue
        raw = _as_strings(raw_tables[name].reset_index(drop=True))
        rows_read[name] = len(raw)
        clean, rej = validate_table(name, raw, str(sources.get(name, name)), known, bounds)
        tables[name] = clean
        rejects[name] = rej
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
