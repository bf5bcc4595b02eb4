"""The generator's time axis: float days since the period start <-> minutes <-> ISO 8601 strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .common import MIN_PER_DAY, arrow_str


class Clock:
    """Float days since ``start`` <-> minutes <-> ISO strings."""

    def __init__(self, end: str, years: float) -> None:
        e = pd.Timestamp(end)
        e = e.tz_convert("UTC").tz_localize(None) if e.tzinfo is not None else e
        if e == e.normalize() and len(str(end).strip()) <= 10:  # a date: through the end of that day
            e = e + pd.Timedelta(days=1)
        self.end_excl = e.floor("min")
        self.start = (self.end_excl - pd.Timedelta(days=365.25 * years)).floor("min")
        self.n_min = int((self.end_excl - self.start) / pd.Timedelta(minutes=1))
        self.T = self.n_min / MIN_PER_DAY
        self.n_days = int(np.ceil(self.T))
        self._start64 = np.datetime64(self.start.to_datetime64(), "m")
        days = (self._start64 + np.arange(self.n_days) * MIN_PER_DAY).astype("M8[D]")
        self.day_month = days.astype("M8[M]").astype(np.int64) % 12  # month (0-11) of each day
        all_days = (self._start64 + np.arange(self.n_days + 1) * MIN_PER_DAY).astype("M8[D]")
        self._day_str = pa.array(np.char.add(np.datetime_as_string(all_days, unit="D"), "T").astype(object))
        mod = np.arange(MIN_PER_DAY)
        self._time_str = pa.array([f"{h:02d}:{m:02d}:00Z" for h, m in zip(mod // 60, mod % 60, strict=True)])
        self._start_mod = int((self.start - self.start.normalize()) / pd.Timedelta(minutes=1))

    def minutes(self, t: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(t * MIN_PER_DAY).astype(np.int64), 0, self.n_min - 1)

    def month(self, t: np.ndarray) -> np.ndarray:
        return self.day_month[np.clip(t.astype(np.int64), 0, self.n_days - 1)]

    def iso(self, minutes: np.ndarray) -> pd.Series:
        tot = minutes + self._start_mod
        day = tot // MIN_PER_DAY
        d = self._day_str.take(pa.array(day))
        tm = self._time_str.take(pa.array(tot % MIN_PER_DAY))
        return arrow_str(pc.binary_join_element_wise(d, tm, ""))

    def stamp(self, t: np.ndarray) -> pd.Series:
        """pandas UTC timestamps for float days; NaT where not finite or outside the period."""
        ok = np.isfinite(t) & (t >= 0) & (t < self.T)
        m = np.where(ok, np.floor(np.where(ok, t, 0) * MIN_PER_DAY), 0).astype(np.int64)
        out = (self._start64 + m).astype("M8[us]")
        out[~ok] = np.datetime64("NaT")
        return pd.Series(pd.DatetimeIndex(out).tz_localize("UTC"))
