"""DuckDB's arithmetic and input types, reproduced exactly in Python for ``service.features_small``.

- ``amount::DECIMAL(38, 9)``: ``round(amount * 1e9)`` in double, halves away from zero, as an exact integer;
  sums of those are exact (Python ints), and ``::DOUBLE`` of a DECIMAL(38, 9) is the correctly rounded quotient;
- ``avg`` of a DECIMAL(38, 9) or a BIGINT: the integer sum over ``count`` (times 1e9 for decimals) in ``long double``,
  rounded to double (``numpy.longdouble`` is the platform's ``long double``, as in DuckDB's build); except where the
  query also sums the same expression (the order amounts): DuckDB's optimizer then computes ``sum(x)::DOUBLE / count``;
- HUGEINT to DOUBLE, ``epoch()`` (microseconds / 1e6) and divisions by whole numbers are correctly rounded.

The column readers accept only what was checked against DuckDB; anything else raises ``Unsupported`` and the caller
runs DuckDB instead.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

US_PER_DAY = 86_400_000_000
DECIMAL_SCALE = 10**9
LD_SCALE = np.longdouble(1e9)
_INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1)
# Timestamps this reproduces: within what a nanosecond timestamp holds (the query casts to one where a table is empty).
US_MIN = (datetime(1678, 1, 1) - _EPOCH) // timedelta(microseconds=1)
US_MAX = (datetime(2261, 12, 31) - _EPOCH) // timedelta(microseconds=1)


class Unsupported(Exception):
    """An input this module does not reproduce exactly: the caller runs DuckDB instead."""


def as_decimal(x: float) -> int:
    """DOUBLE -> DECIMAL(38, 9) as DuckDB casts it: round(x * 1e9) in double, halves away from zero."""
    p = x * 1e9
    a = abs(p)
    f = math.floor(a)
    r = int(f) + 1 if a - f >= 0.5 else int(f)  # a - f is exact for a double
    return r if p >= 0 else -r


def decimal_to_double(n: int) -> float:
    """DECIMAL(38, 9) -> DOUBLE: correctly rounded (Python's int / int is)."""
    return n / DECIMAL_SCALE


def long_double_avg(total: int, count: int, scale: np.longdouble | None = None) -> float:
    """DuckDB's avg of integers and decimals: ``(long double) sum / ((long double) count * scale)``, then double."""
    if abs(total) > _INT64_MAX:
        raise Unsupported("sum beyond int64")
    divisor = np.longdouble(count) if scale is None else np.longdouble(count) * scale
    return float(np.longdouble(np.int64(total)) / divisor)


def required_micros(values: pd.Series, what: str) -> list[int]:
    """``micros`` of a column that must not miss any value."""
    out = micros(values)
    if any(t is None for t in out):
        raise Unsupported(f"missing {what}")
    return out  # type: ignore[return-value]


def micros(values: pd.Series) -> list[int | None]:
    """UTC timestamps (zone-aware, as ``feature_sql.naive_utc`` requires) as whole microseconds since 1970, None for
    NaT.

    Zone-naive columns (which ``naive_utc`` refuses) and timestamps finer than a microsecond are left to DuckDB."""
    dtype = values.dtype
    if not isinstance(dtype, pd.DatetimeTZDtype):
        raise Unsupported("not a zone-aware timestamp column")
    if dtype.unit not in ("s", "ms", "us", "ns"):
        raise Unsupported(f"timestamp unit {dtype.unit}")
    arr = values.to_numpy(dtype=f"datetime64[{dtype.unit}]")  # UTC, zone dropped
    nat = np.isnat(arr)
    i8 = arr.view("i8")
    if dtype.unit == "ns":
        if (i8[~nat] % 1000).any():
            raise Unsupported("timestamps finer than a microsecond")
        us = i8 // 1000
    else:
        us = arr.astype("datetime64[us]").view("i8")
    if ((us[~nat] < US_MIN) | (us[~nat] > US_MAX)).any():
        raise Unsupported("a timestamp outside 1678-2261")  # DuckDB fails on some (nanosecond casts): let it
    out: list[int | None] = us.tolist()
    if nat.any():
        out = [None if m else v for v, m in zip(out, nat.tolist())]
    return out


def plain_amount(a: float) -> bool:
    """Finite, not negative (nor -0.0) and below 1e15 (so no DECIMAL(38, 9) sum can overflow): what validation lets
    through by default, and what was checked."""
    return math.isfinite(a) and 0 <= a < 1e15 and math.copysign(1.0, a) > 0


def text_values(values: pd.Series, what: str) -> list[str]:
    out = values.tolist()
    if not all(isinstance(v, str) for v in out):
        raise Unsupported(f"missing or non-text {what}")
    return out


def float_values(values: pd.Series) -> list[float]:
    return values.to_numpy(dtype="float64").tolist()


def days_since(cut_s: float, us: int) -> float:
    """``(epoch($cutoff) - epoch(ts)) / 86400.0`` as DuckDB computes it."""
    return (cut_s - us / 1e6) / 86400.0


def datetime_us(ts: datetime) -> int:
    return (ts - _EPOCH) // timedelta(microseconds=1)
