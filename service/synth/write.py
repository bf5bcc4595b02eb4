"""Writing the generated tables as CSV, Parquet or JSON Lines files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from embeddings.index import file_sha256

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


MARKER = ".insight-synth"  # written beside generated tables: which files were generated here, with their checksums


def _generated_files(out_dir: Path) -> dict[str, str] | None:
    """{file name: sha256} the marker lists; None for a marker of an earlier version (a line of text, no list)."""
    try:
        listed = json.loads((out_dir / MARKER).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {str(k): str(v) for k, v in listed.items()} if isinstance(listed, dict) else None


def _table_files(out_dir: Path) -> list[Path]:
    return sorted(p for p in out_dir.iterdir() if p.is_file() and p.name.split(".")[0] in TABLES)


def check_synth_out(out_dir: str | Path) -> None:
    """Refuse a folder that holds input tables this command did not generate, or generated and someone changed since
    (someone's data would be overwritten or removed); a folder of unchanged generated tables, an empty one or a new one
    is fine. A marker of an earlier version, which lists no files, is trusted as before. ValueError."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder; choose another --out")
    if not out_dir.is_dir():
        return
    if not (out_dir / MARKER).exists():
        found = [p.name for p in _table_files(out_dir)]
        if found:
            raise ValueError(
                f"{out_dir}: already holds input tables that were not generated here ({', '.join(found)}); generating "
                "would overwrite them, choose another folder"
            )
        return
    listed = _generated_files(out_dir)
    if listed is None:
        return
    changed = [p.name for p in _table_files(out_dir) if listed.get(p.name) != file_sha256(p)]
    if changed:
        raise ValueError(
            f"{out_dir}: {', '.join(changed)} {'was' if len(changed) == 1 else 'were'} not generated here or changed "
            "since; generating would overwrite or remove them, move them out or choose another folder"
        )


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


def write_generated(tables: dict[str, pd.DataFrame], out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
    """The CLI's generated folder, written whole beside ``out_dir`` and swapped in (as the model bundle is): a run
    killed or failing halfway (a full disk) leaves the old tables or the new ones, never customers of one seed beside
    orders of another, and nothing half-written. A folder that also holds files other than generated tables gets the
    new tables moved in one by one instead (its other files stay). Leftovers of killed runs are removed first."""
    from service.crash import recover_swap, remove, swap_dir

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_swap(out_dir, restorable=lambda p: (p / MARKER).is_file())
    stage = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-{os.getpid()}-"))
    try:
        staged = write_tables(tables, stage, fmt=fmt)
        sums = {path.name: file_sha256(path) for path in staged.values()}
        mark_generated(stage, sums)
        if not out_dir.exists() or all(
            p.name == MARKER or (p.is_file() and p.name.split(".")[0] in TABLES) for p in out_dir.iterdir()
        ):
            swap_dir(stage, out_dir, fault="synth")
        else:
            # listed before they move in, beside the old tables still there: a run killed halfway leaves a folder whose
            # every table is listed with its checksum, so the next run takes none of them for someone else's
            mark_generated(out_dir, (_generated_files(out_dir) or {}) | sums)
            for name, path in staged.items():
                os.replace(path, out_dir / path.name)
                for ext in set(_FORMATS.values()) - {path.suffix}:  # an earlier run's table in another format
                    remove(out_dir / f"{name}{ext}")
    finally:
        remove(stage)  # gone already when it was swapped in
    return {name: out_dir / path.name for name, path in staged.items()}


def mark_generated(out_dir: str | Path, files: dict[str, str]) -> None:
    """Mark a folder the CLI generates tables into with what it generated ({file name: sha256}), so ``check_synth_out``
    lets it generate them again and refuses any other table file, or one changed since."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    note = "Tables generated by customer-insight: they may be generated again here, while unchanged."
    tmp = Path(out_dir) / f"{MARKER}.tmp"
    tmp.write_text(json.dumps({"note": note, "files": files}, indent=1) + "\n")
    os.replace(tmp, Path(out_dir) / MARKER)
