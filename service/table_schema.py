"""The input tables' contract (DESIGN.md): table names and columns by role, the accepted value ranges, strict
timestamps, and what a validated read gives back (``LoadedData``).

Reading files is ``service.table_files``, the row rules are ``service.table_validation``; ``service.tables`` is the
entry point callers import from.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

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
# Order statuses that do not count as spend (any other status does: completed, delivered, shipped, pending ...), with
# the synonyms shops export ("refund", "void", "chargeback" had counted as spend)
NON_SPEND_STATUSES = (
    "returned", "canceled", "cancelled", "refunded", "return", "refund", "cancel", "void", "voided", "chargeback",
    "chargedback", "charged back", "reversed", "failed", "declined", "rejected", "unavailable",
    "storniert", "retourniert", "erstattet", "annul\u00e9", "annul\u00e9e", "rembours\u00e9", "retourn\u00e9",
    "cancelado",
    "cancelada", "devuelto", "reembolsado", "annullato", "rimborsato", "reso", "geannuleerd", "geretourneerd",
    "terugbetaald", "devolvido", "reembolsado",
)  # fmt: skip
ROW_COLUMN = "_row"  # 1-based data-row number in the source file (header excluded)
REASON_COLUMN = "_reason"
# Ids are stored in VARCHAR(128) columns (service.store): longer ids are rejected here, for every store alike.
ID_MAX_CHARS = 128
# Columns that only feed features; their text is cleaned (lone surrogates, control characters) like review texts.
CLEANED_COLUMNS = {"orders": ("status", "category"), "events": ("event_type", "product_id"), "reviews": ("order_id",)}
# Never free text, so never redacted: ids are kept as given (a 16-digit order id is an id, not a card), and timestamps
# and numbers are checked by their own rules. Every other column (review and event texts, categories, statuses, extra
# columns such as a customers table's "email") has contact data masked at validation; see
# service.table_values.redact_free_text.
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
# ISO 8601 calendar date, optionally with a time (T or space) and a zone; nothing else is a timestamp here.
ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?)?$")
YEAR_PREFIX = re.compile(r"^\s*([+-]?\d{4,})-")


class DataError(ValueError):
    """A table cannot be used at all (unreadable file, missing required column). Stops the run."""


class NoValidOrders(DataError):
    """Not one order row is valid: the run stops, and ``loaded`` holds the rejected rows for the rejects file."""

    def __init__(self, message: str, loaded):
        super().__init__(message)
        self.loaded = loaded


BOUND_LIMIT = 1e15  # the largest INSIGHT_AMOUNT_MAX / INSIGHT_N_ITEMS_MAX accepted


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
                # above 1e15 an amount no longer fits the feature SQL's DECIMAL(38,9) sums (1e30 had crashed DuckDB);
                # zero, a negative or NaN would reject every row
                if not (math.isfinite(kw[key]) and 0 < kw[key] <= BOUND_LIMIT):
                    raise DataError(
                        f"{name}={os.environ[name]!r} must be a number above 0 and at most {BOUND_LIMIT:.0e}"
                    )
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


_COMMA_FRACTION = re.compile(r"(:\d{2}),(\d)")


def other_separator(header: list[str]) -> str | None:
    """The separator a one-column header holds instead of commas (a file saved with ';', tabs or '|'), else None."""
    return next((d for d in (";", "\t", "|") if len(header) == 1 and d in str(header[0])), None)


def iso_normal(text: str) -> str:
    """An ISO 8601 text in the form pandas parses: the standard also allows a lower-case 'z' and a decimal comma
    ('10:00:00,5z'), which ISO_TIMESTAMP admits and pandas refused, so such rows were rejected as unparseable."""
    text = _COMMA_FRACTION.sub(r"\1.\2", text)
    return text[:-1] + "Z" if text.endswith("z") else text


def _shown(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error message must not echo a 100 kB value back."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value)):,} characters)"


def _iso(value, what: str, end_of_day: bool = False) -> pd.Timestamp:
    text = str(value).strip()
    if not ISO_TIMESTAMP.match(text):
        raise DataError(
            f"{what} {_shown(value)} is not an ISO 8601 date or timestamp (YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])"
        )
    try:
        ts = pd.Timestamp(iso_normal(text))
    except (ValueError, OverflowError) as exc:
        raise DataError(f"{what} {_shown(value)} is not a valid date ({str(exc)[:120]})") from None
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
    m = YEAR_PREFIX.match(str(value))
    if (
        m
        and ISO_TIMESTAMP.match(str(value).strip())
        and not (bounds.date_min.year <= int(m.group(1)) <= bounds.date_max.year)
    ):
        raise DataError(f"{what} {value!r} is outside the accepted range {bounds.describe_dates()}")
    ts = _iso(value, what, end_of_day)
    if not (bounds.date_min <= ts <= bounds.date_max):
        raise DataError(f"{what} {value!r} is outside the accepted range {bounds.describe_dates()}")
    return ts


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
