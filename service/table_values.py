"""Values of the input tables as written: plain object columns, text cleaning and contact-data redaction.

Columns are kept as plain numpy object arrays, never pandas' inferred (Arrow-backed) string dtype, which raises on a
lone surrogate (JSON allows "\\ud800"): such a value must reach validation, which rejects it with a reason.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from service.privacy import redact
from service.table_schema import NOT_FREE_TEXT, REASON_COLUMN, ROW_COLUMN

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters other than tab and newlines
# Every character that can break a line or hide in one (C0, DEL, C1, U+2028/9): never in an id nor a log line.
ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def object_column(values: list, index: pd.Index) -> pd.Series:
    """A plain object column (never pandas' inferred string dtype, which cannot hold a lone surrogate)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return pd.Series(arr, index=index, dtype=object, copy=False)


def object_frame(records: list[dict]) -> pd.DataFrame:
    """Rows (dicts) as a DataFrame of object columns, missing keys as None.

    Not pandas' inferred string dtype: that is Arrow-backed and raises on a lone surrogate (JSON allows "\\ud800"), so
    such a value could not even reach validation, which rejects it with a reason.
    """
    cols = list(dict.fromkeys(k for r in records for k in r))
    return pd.DataFrame(
        {c: pd.Series([r.get(c) for r in records], dtype=object) for c in cols}, index=pd.RangeIndex(len(records))
    )


def as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as Python strings with None for missing, so validation sees values as written."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            s = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        values = s.to_numpy(dtype=object)
        missing = pd.isna(values)
        # Plain object columns built from lists: pandas' inferred (Arrow) string dtype cannot hold a lone surrogate.
        vals = [None if m else _as_text(v) for v, m in zip(values.tolist(), missing.tolist())]
        out[col] = object_column(vals, df.index)
    return pd.DataFrame(out, index=df.index)


def _as_text(v) -> str:
    """One value as written: a Parquet binary column holds UTF-8 bytes, which str() turned into "b'C000000'" (and every
    order into an unknown customer); bytes that are not UTF-8 keep their escapes, so validation sees them as odd; a
    whole number stored as a float is written without its '.0'."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            return v.decode("utf-8", "backslashreplace")
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        # a whole number a JSON or Parquet export wrote as a float (an integer id column holding a missing value):
        # id 12346.0 had become another customer than 12346
        return str(int(v))
    return str(v)


def clean_text(value):
    """Texts are kept, but never with lone surrogates (not encodable as UTF-8) or control characters other than
    tab/newline."""
    if not isinstance(value, str):
        return value
    if LONE_SURROGATE.search(value):
        value = LONE_SURROGATE.sub("\ufffd", value)
    if CONTROL_CHARS.search(value):
        value = CONTROL_CHARS.sub(" ", value)
    return value


def redact_free_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with e-mail addresses, phone numbers and Luhn-valid card numbers masked in every free-text column.

    This is the one boundary for personal data in customer texts (service.privacy): files and ``POST /v1/score`` rows
    both pass here before anything else sees them, so the profile store, the embedding cache (keyed by text), the
    explanation cache, the rejects files and every output hold placeholders only. Masking at the entrance, rather
    than at each exit, also covers what no exit knows about: texts capped to 300 characters for evidence would cut a
    card number in two and hide it from the Luhn check.
    """
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
            df[col] = object_column(masked, df.index)
    return df


# A cell a spreadsheet would run as a formula ("=HYPERLINK(...)", "@SUM(...)", "+cmd|..."); a plain number stays
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def rejects_for_people(rej: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows as written for a person to open, often in a spreadsheet: contact data masked in every column (a
    card number typed into ``amount`` or an address into ``order_ts`` is rejected as it stands, and had been written
    as it stood) and a cell that starts like a formula prefixed with an apostrophe, so it is shown, not run."""
    out = rej.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = object_column([_for_people(v) for v in out[col].tolist()], out.index)
    return out


def _for_people(v):
    if not isinstance(v, str):
        return v
    v = redact(v)
    return "'" + v if _FORMULA_START.match(v) and not _PLAIN_NUMBER.match(v) else v
