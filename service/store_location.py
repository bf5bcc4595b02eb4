"""Where a profile store lives and whether it can be used: store URLs (a path means SQLite), database engines, the
index root and the rejects folder beside it, and the fail-fast check before a score run.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import orjson
import sqlalchemy as sa

INDEX_ENV = "INSIGHT_INDEX_DIR"


class StoreError(ValueError):
    """The store is missing, unreadable, misconfigured, or has no scored profiles yet."""


class StoreBusy(StoreError):
    """A write to the store failed in the database (locked past the busy timeout, read-only, connection lost);
    nothing was written, and the same write may succeed later."""


class VersionConflict(StoreError):
    """The store was re-scored with another model than the one a writer expected."""


def store_url(store: str | Path) -> str:
    """A path becomes a SQLite URL; anything with '://' is taken as a SQLAlchemy URL.

    ``postgresql://`` and ``postgres://`` mean the psycopg 3 driver (the ``postgres`` extra), not SQLAlchemy's default
    psycopg2, which this project does not install.
    """
    s = str(store)
    if "://" in s:
        for prefix in ("postgresql://", "postgres://"):
            if s.startswith(prefix):
                return "postgresql+psycopg://" + s[len(prefix) :]
        return s
    try:
        return f"sqlite:///{Path(s).resolve()}"
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise StoreError(f"{s}: cannot resolve the store's path ({exc})") from None


def is_sqlite(store: str | Path) -> bool:
    return store_url(store).startswith("sqlite:///")


def safe_url(store: str | Path) -> str:
    """The store for messages: a URL without its password."""
    url = store_url(store)
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    try:
        shown = _without_password(sa.engine.make_url(str(store))).render_as_string(hide_password=True)
        return shown.replace("password=%2A%2A%2A", "password=***")
    except Exception:
        return "<database URL>"


def _without_password(u: sa.engine.URL) -> sa.engine.URL:
    """``u`` with a password given as a query parameter (``?password=``, which libpq accepts) masked too."""
    if "password" in u.query:
        u = u.update_query_dict({"password": "***"})
    return u


def index_root(store: str | Path) -> Path:
    """Where the similar-customer index versions live: beside the SQLite file, or $INSIGHT_INDEX_DIR for a database
    URL."""
    if is_sqlite(store):
        return Path(store_url(store).removeprefix("sqlite:///") + ".index")
    if not os.environ.get(INDEX_ENV):
        raise StoreError(
            f"a database URL store ({safe_url(store)}) needs {INDEX_ENV}: a local directory for the similar-customer "
            "index (and the rejects files), e.g. export INSIGHT_INDEX_DIR=/var/lib/insight/index"
        )
    # One subdirectory per database, so two stores sharing INSIGHT_INDEX_DIR never clean up each other's index versions.
    return Path(os.environ[INDEX_ENV]) / _database_key(store)


def _database_key(store: str | Path) -> str:
    """host-port-database, readable; plus a hash of the whole URL (without the password) when query parameters (a
    schema by search_path, a socket's host and port) or folded characters ("my db", "my_db") could make two stores
    share it. Plain URLs keep the key they always had, so their index versions are found after an upgrade."""
    try:
        u = sa.engine.make_url(store_url(store))
        raw = "-".join([u.host or "local", str(u.port or "default"), u.database or "db"])
        whole = _without_password(u)._replace(username=None, password=None).render_as_string(hide_password=False)
        query = bool(u.query)
    except Exception:
        raw, whole, query = "db", str(store), True
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", raw)
    if query or key != raw:
        key += "-" + hashlib.sha256(whole.encode()).hexdigest()[:10]
    return key


def rejects_dir(store: str | Path) -> Path:
    """Where a score run writes its rejected rows: ``<store>.rejects`` beside a SQLite file, ``<index root>/rejects``
    for a URL."""
    if is_sqlite(store):
        return Path(store_url(store).removeprefix("sqlite:///") + ".rejects")
    return index_root(store) / "rejects"


def _is_sqlite_file(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def check_store(store: str | Path, timeout_s: int = 10) -> None:
    """Fail fast, before any scoring work, when the store cannot be written: driver, connection, index location.

    One line (StoreError) per problem, the password never in it.
    """
    if is_sqlite(store):
        path = Path(store_url(store).removeprefix("sqlite:///"))
        if not path.parent.is_dir():
            raise StoreError(f"{path}: the store's directory {path.parent} does not exist")
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a profile store file")
        if path.is_file() and path.stat().st_size and not _is_sqlite_file(path):
            raise StoreError(f"{path}: exists and is not a SQLite profile store; choose another --store")
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise StoreError(f"{path}: the store (or its directory) is not writable")
        return
    root = index_root(store)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{INDEX_ENV}={root}: cannot create the index directory ({exc.strerror or exc})") from None
    if not os.access(root, os.W_OK):
        raise StoreError(f"{INDEX_ENV}={root}: the index directory is not writable")
    try:
        engine = make_engine(store_url(store), timeout_s)
    except (ImportError, sa.exc.NoSuchModuleError, sa.exc.ArgumentError) as exc:
        raise StoreError(
            f"{safe_url(store)}: no database driver for this URL ({exc}); for PostgreSQL install the extra: "
            "pip install 'customer-insight[postgres]'"
        ) from None
    try:
        with engine.connect() as con:
            con.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        first = (
            str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            if str(getattr(exc, "orig", exc)).strip()
            else type(exc).__name__
        )
        raise StoreError(f"{safe_url(store)}: cannot connect to the database ({first})") from None
    finally:
        engine.dispose()


def json_text(obj) -> str:
    """A profile or metadata value as the store's JSON text. orjson: about 5x faster than json.dumps on a profile row
    (6 s of a 100k-customer score run). NaN and infinities become null: they are not JSON, and PostgreSQL's json
    columns refuse them (SQLite's JSON text used to keep them)."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, timeout_s: int = 10) -> sa.Engine:
    if url.startswith("sqlite:///"):
        return sa.create_engine(url, future=True, json_serializer=json_text)
    kw: dict = {"future": True, "pool_pre_ping": True, "json_serializer": json_text}
    if url.startswith("postgresql"):
        kw["connect_args"] = {"connect_timeout": timeout_s}
    return sa.create_engine(url, **kw)
