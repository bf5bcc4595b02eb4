"""What every adapter shares: reading a dataset's files (``Source``: a directory, a single file or a ``.zip``),
turning columns into the contract's strings, finding each customer's first row, and validating the raw tables
into a ``Dataset``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from eval.adapters.dataset import Dataset, DatasetDefaults
from service.tables import DataError, validate_tables


class Source:
    """Files of a dataset inside a directory, a single file, or a .zip archive; found by name stem."""

    SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".zip", ".parquet", ".txt", ".txt.gz")

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f"{self.path}: dataset path does not exist")
        self._zip = zipfile.ZipFile(self.path) if self.path.is_file() and self.path.suffix == ".zip" else None

    @property
    def is_archive(self) -> bool:
        """The source is a .zip archive (its files are found by name inside it)."""
        return self._zip is not None

    def names(self) -> list[str]:
        if self._zip is not None:
            return [n for n in self._zip.namelist() if not n.endswith("/")]
        if self.path.is_file():
            return [self.path.name]
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    @overload
    def find(self, stem: str, required: Literal[True] = True) -> str: ...
    @overload
    def find(self, stem: str, required: bool) -> str | None: ...
    def find(self, stem: str, required: bool = True) -> str | None:
        """The one file whose name (without folders and compression suffixes) is ``stem`` + a known suffix."""
        hits = [n for n in self.names() if any(Path(n).name == stem + s for s in self.SUFFIXES)]
        if not hits and required:
            raise DataError(f"{self.path}: no file named {stem}{{{','.join(self.SUFFIXES)}}}")
        if len(hits) > 1:
            hits.sort(key=lambda n: (n.count("/"), n))  # prefer the shallowest copy inside an archive
        return hits[0] if hits else None

    def read(self, name: str, **kw) -> pd.DataFrame:
        """Read one file by name: CSV (plain, gzip or zip-compressed) or Parquet."""
        label = f"{self.path}!{name}" if self._zip is not None else str(self._file(name))
        try:
            if self._zip is not None:
                raw = self._zip.read(name)
                buf: io.BytesIO | Path = io.BytesIO(raw)
            else:
                buf = self._file(name)
            if name.endswith(".parquet"):
                return pd.read_parquet(buf)
            compression = "gzip" if name.endswith(".gz") else "zip" if name.endswith(".zip") else None
            return pd.read_csv(buf, compression=compression, **kw)
        except DataError:
            raise
        except Exception as exc:  # pandas/pyarrow/zipfile raise many types
            raise DataError(f"{label}: cannot read file: {exc}") from exc

    def _file(self, name: str) -> Path:
        return self.path if self.path.is_file() else self.path / name

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def iso(ts: pd.Series) -> pd.Series:
    """Timestamps as ISO 8601 strings (None for missing) so the contract validation parses them itself."""
    t = pd.to_datetime(ts, errors="coerce")
    return t.dt.strftime("%Y-%m-%dT%H:%M:%S").where(t.notna(), None).astype(object)


def strings(s: pd.Series) -> pd.Series:
    """Values as strings, None for missing."""
    return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))


def money(x: pd.Series) -> pd.Series:
    """Amounts as strings with two decimals, None for missing."""
    return x.round(2).map(lambda v: None if pd.isna(v) else f"{v:.2f}").astype(object)


def parse_ts(s: pd.Series) -> pd.Series:
    """Timestamps parsed as the contract parses them (``service.tables``: ISO 8601, naive = UTC)."""
    return pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")


def first_seen(customer: pd.Series, ts: pd.Series, tiebreak: pd.Series | None = None) -> pd.DataFrame:
    """Per customer, the position (index label) of their earliest row and its time; rows without a time come last."""
    df = pd.DataFrame(
        {"c": customer, "ts": ts, "tb": tiebreak if tiebreak is not None else np.arange(len(customer))},
        index=customer.index,
    ).dropna(subset=["c"])
    df = df.sort_values(["ts", "tb"], na_position="last", kind="mergesort").drop_duplicates("c")
    return pd.DataFrame(
        {"customer_id": df["c"].to_numpy(), "row": df.index.to_numpy(), "ts": df["ts"].reset_index(drop=True)}
    )


def validate(name: str, raw: dict[str, pd.DataFrame], defaults: DatasetDefaults, source: str, **kw) -> Dataset:
    """The raw tables through the input contract (``service.tables.validate_tables``), as a ``Dataset``."""
    # validate_tables only prints a source, so a description serves as well as a path
    loaded = validate_tables(raw, sources={k: f"{source} ({name} {k})" for k in raw})  # type: ignore[misc]
    return Dataset(name=name, loaded=loaded, defaults=defaults, source=source, **kw)
