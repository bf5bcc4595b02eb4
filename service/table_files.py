"""Reading input table files (CSV, Parquet, JSON Lines; gzip where named) as all-string columns.

Every problem that makes a file unusable (not UTF-8, a duplicate header, a bad JSON line, no rows) is a DataError naming
the file, and the line where the format has lines; row-level problems are left to ``service.table_validation``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import warnings
from pathlib import Path

import pandas as pd

from service.table_schema import EXTENSIONS, TIMESTAMPS, DataError, other_separator
from service.table_values import as_strings, object_frame


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
            if k.strip() in keys:  # names are stripped later: "amount" and " amount" are one column
                raise DataError(f"{path} line {line_no}: key '{k.strip()}' appears more than once in the object")
            keys.add(k.strip())
        return dict(pairs)

    return hook


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines read line by line, so a bad row is reported by its line number (pandas reports a byte position)."""
    records = []
    with _open_bytes(path) as f:
        for line_no, raw in enumerate(f, start=1):
            if line_no == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]  # a BOM, as CSV allows one: Windows tools write it
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
            except RecursionError:
                raise DataError(f"{path} line {line_no}: nested too deeply to be a row") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path} line {line_no}: expected one JSON object per line, found {type(obj).__name__}")
            # keys stripped here, as CSV and Parquet headers are: " category" in one row is the category column
            records.append({k.strip(): (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in obj.items()})
    if not records:
        raise DataError(f"{path}: the file is empty (no rows)")
    return object_frame(records)


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV file as strings, after checking that it is UTF-8 throughout and has a header without duplicates."""
    _check_utf8(path)
    with _open_bytes(path) as f:
        header = next(csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline="")), None)
    if header is None:
        raise DataError(f"{path}: the file is empty (no header, no rows)")
    _check_header(path, header)
    # index_col=False: when every row has one field more than the header, pandas otherwise takes the first field as
    # the index and shifts every column by one (ids became timestamps). A trailing comma on every line is then read
    # right; a value beyond the header's columns would be dropped, with only a warning: that is an error here.
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                on_bad_lines="error",
                encoding="utf-8-sig",
                index_col=False,
            )
        except pd.errors.ParserWarning:
            sep = other_separator(header)
            if sep:  # a ';'-separated file with decimal commas: the separator is the cause, not a quoting slip
                raise DataError(
                    f"{path}: the header looks separated by {sep!r} (one column: {header[0][:80]!r}); save the file "
                    "with commas"
                ) from None
            raise DataError(
                f"{path} line {_first_overlong_line(path, len(header))}: more fields than the header's {len(header)} "
                "(a value after the last column, e.g. an unquoted comma); quote the field or name the column"
            ) from None
        except pd.errors.ParserError as exc:
            if "EOF inside string" in str(exc):  # pandas counts rows from 0 after the header: name the file's line
                raise DataError(
                    f"{path} line {_unclosed_quote_line(path)}: a quote is opened and never closed"
                ) from None
            raise


def _unclosed_quote_line(path: Path) -> int | str:
    """The line where the quote that never closes opens: the start of the last record the csv module reads."""
    start: int | str = "?"
    line = 0
    # a field longer than the csv module's default limit (131,072 characters) is no error here: it had stopped the
    # scan there and named the long field's line, not the quote's (only this error path lifts the limit, and restores
    # it)
    limit = csv.field_size_limit(2**31 - 1)
    try:
        with _open_bytes(path) as f:
            reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""), strict=False)
            try:
                for _ in reader:
                    start = line + 1
                    line = reader.line_num
            except csv.Error:
                return line + 1
    finally:
        csv.field_size_limit(limit)
    return start


def _first_overlong_line(path: Path, n_columns: int) -> int | str:
    """The line number of the first row with a non-empty field beyond the header's columns."""
    with _open_bytes(path) as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))
        for row in reader:
            if len(row) > n_columns and any(x.strip() for x in row[n_columns:]):
                return reader.line_num
    return "?"


def _read_parquet(path: Path, table: str | None) -> pd.DataFrame:
    """A Parquet file; a timestamp column of ``table`` stored as plain numbers is refused (no unit to read them in)."""
    import pyarrow.parquet as pq

    # the names first: a column written twice made pyarrow fail with a 13-line dump ("Multiple matches for FieldRef")
    _check_header(path, pq.read_schema(path).names)
    df = pd.read_parquet(path)
    for col in TIMESTAMPS.get(table or "", ()):
        if col in df.columns and (pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])):
            raise DataError(
                f"{path}: column '{col}' holds numbers ({df[col].dtype}), not timestamps; "
                "write it as a Parquet timestamp or as ISO 8601 text (e.g. 2025-12-31T10:00:00Z)"
            )
    return df


def read_raw(path: Path, table: str | None = None) -> pd.DataFrame:
    """Read one file as all-string columns (None for missing), by extension.

    Stops with a DataError naming the file (and line, for text formats) when the file is unreadable, not UTF-8, empty or
    header-only, has a duplicate header, or (Parquet) stores a timestamp column of ``table`` as plain numbers.
    """
    suffixes = _kind(path)
    if path.exists() and not path.is_file():
        # a device, FIFO or socket (e.g. a link to /dev/zero) never ends or blocks on open: the run hung
        what = "a folder" if path.is_dir() else "not a regular file (a device, pipe or socket)"
        raise DataError(f"{path}: cannot read file: it is {what}; point it at a data file")
    try:
        if suffixes in (".csv", ".csv.gz"):
            df = _read_csv(path)
        elif suffixes == ".parquet":
            df = _read_parquet(path, table)
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
        header = ", ".join(df.columns) or "no columns"
        escaped = repr(header)[1:-1]  # control characters (a file of NUL bytes) shown as escapes, and cut
        shown = escaped if len(escaped) <= 120 else f"{escaped[:120]}... ({len(header):,} characters)"
        raise DataError(f"{path}: no data rows (only a header: {shown})")
    return as_strings(df)
