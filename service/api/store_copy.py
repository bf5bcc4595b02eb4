"""The private copy of the profile store that a snapshot reads, and the removal of copies dead servers left behind.

The copy is SQLite's online backup of a SQLite store, or for a server database (PostgreSQL URL) the metadata and every
profile read in one REPEATABLE READ transaction. Either is a consistent point-in-time copy, so a concurrent
``insight score`` into the live store changes nothing that is served (profiles, tiers, model, explanations) until the
next reload: one model version at a time. Copies live in ``insight-snapshot-pid<pid>-*`` folders; a server killed with
SIGKILL leaves one behind, and the next start removes those of processes that are gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import sqlalchemy as sa

from service.api.snapshot import SnapshotError
from service.crash import fault_point, orphaned
from service.store import ProfileStore, StoreError, profiles, safe_url, store_meta, store_url

log = logging.getLogger("insight.api")


def _sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API: safe while a writer is active).

    The source is opened read-write when it can be: a run killed inside its transaction leaves a hot journal, which
    SQLite rolls back on the first read, and that needs write access (read-only it fails with "attempt to write a
    readonly database"). Nothing else is written.
    """
    writable = os.access(src, os.W_OK) and os.access(src.parent, os.W_OK)
    source = sqlite3.connect(f"file:{src}?mode={'rw' if writable else 'ro'}", uri=True, timeout=30)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)
        except sqlite3.OperationalError as exc:
            if not writable and Path(f"{src}-journal").exists():
                raise SnapshotError(
                    f"{src}: a run that was killed left a hot journal ({src}-journal), and this process may not "
                    "write the store to roll it back; open it once with write access (e.g. run `insight serve` or "
                    "`insight explain` as the store's owner)"
                ) from exc
            raise
        finally:
            target.close()
    finally:
        source.close()


def _server_copy(src: ProfileStore, dst: Path) -> None:
    """Metadata and profiles of a server database, read in ONE repeatable-read transaction, into a SQLite file."""
    target = ProfileStore(dst, create=True)
    try:
        with src.engine.connect() as con:
            con = con.execution_options(isolation_level="REPEATABLE READ")
            with con.begin(), target.engine.begin() as out:
                meta = con.execute(sa.select(store_meta)).all()
                result = con.execution_options(yield_per=2000).execute(sa.select(profiles))
                for part in result.partitions():
                    out.execute(profiles.insert(), [dict(r._mapping) for r in part])
                if meta:
                    out.execute(store_meta.insert(), [{"key": k, "value": v} for k, v in meta])
    finally:
        target.close()


SNAPSHOT_PREFIX = "insight-snapshot-pid"


def clean_snapshot_copies(base: Path | None) -> list[Path]:
    """Remove snapshot copies left by servers that are gone (killed with SIGKILL, or crashed)."""
    base = Path(base) if base is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        for p in base.glob(f"{SNAPSHOT_PREFIX}*"):
            if orphaned(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    except OSError:
        pass
    if removed:
        log.info("removed %d snapshot copies of servers that are gone", len(removed))
    return removed


def private_copy(settings, seq: int, first: bool) -> tuple[ProfileStore, Path]:
    """The configured store copied into a fresh snapshot folder, and opened; SnapshotError when it cannot be read.

    ``first``: this process loads its first snapshot, so copies of servers that are gone are removed before."""
    store = str(settings.store)
    url = store_url(store)
    copy_path: Path | None = None
    base = Path(settings.api_snapshot_dir) if settings.api_snapshot_dir else None
    try:
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        if first:
            clean_snapshot_copies(base)
        folder = Path(tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-{seq}-", dir=base))
        copy_path = folder / "profiles.db"
        if url.startswith("sqlite:///"):
            src = Path(url.removeprefix("sqlite:///"))
            if not src.exists():
                raise SnapshotError(f"{src}: profile store does not exist (create it with `insight score`)")
            _sqlite_copy(src, copy_path)
        else:
            live = ProfileStore(store)
            try:
                _server_copy(live, copy_path)
            finally:
                live.close()
        fault_point("serve:snapshot-copied")
        return ProfileStore(copy_path), copy_path
    except (StoreError, sqlite3.Error, sa.exc.SQLAlchemyError, OSError) as exc:
        if copy_path is not None:
            shutil.rmtree(copy_path.parent, ignore_errors=True)
        detail = (
            str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise SnapshotError(f"cannot read the profile store {safe_url(store)}: {detail}") from exc
    except BaseException:
        if copy_path is not None:
            shutil.rmtree(copy_path.parent, ignore_errors=True)
        raise
