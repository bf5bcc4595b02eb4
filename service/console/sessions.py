"""Console sessions: server-side, opened by signing in with an API key.

The browser only holds a random session id in a cookie that is HttpOnly, SameSite=Strict (and Secure over HTTPS);
the key itself is never stored. Sessions live in memory (a restart signs everyone out, which is the safe default)
and end after IDLE_SECONDS without a request or MAX_SECONDS after sign-in. Every page with data calls ``current``,
which sends the browser to the sign-in page without a valid session.

With several worker processes (``INSIGHT_API_WORKERS``) the next request of a browser may reach another worker, so
the sessions live in a small SQLite file in the workers' run folder instead (``SharedSessions``, same interface): in
one worker's memory, 17 of 30 page loads had sent a signed-in agent back to the sign-in page. The file holds a hash
of each session id, never the id itself, and goes with the run folder when the server stops.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from service.api.deps import Principal

COOKIE = "insight_session"
IDLE_SECONDS = 8 * 3600
MAX_SECONDS = 24 * 3600


@dataclass
class Session:
    id: str
    csrf: str
    role: str
    label: str
    created: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Server-side console sessions (in memory: a restart signs everyone out, which is the safe default)."""

    def __init__(self):
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, principal: Principal) -> Session:
        s = Session(
            id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), role=principal.role, label=principal.label
        )
        with self._lock:
            self._expire()
            self._by_id[s.id] = s
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._by_id.get(sid)
            if s is None or now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS:
                self._by_id.pop(sid, None)
                return None
            s.seen = now
            return s

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [k for k, s in self._by_id.items() if now - s.seen > IDLE_SECONDS or now - s.created > MAX_SECONDS]:
            del self._by_id[sid]


class SharedSessions:
    """``Sessions`` in a SQLite file shared by the worker processes of one server (times are wall-clock, which every
    process reads alike)."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        con = self._connect()
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS sessions (sid_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL, "
                "role TEXT NOT NULL, label TEXT NOT NULL, created REAL NOT NULL, seen REAL NOT NULL)"
            )
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")  # readers on other workers do not wait for a writer
        return con

    @staticmethod
    def _hash(sid: str) -> str:
        return hashlib.sha256(sid.encode("utf-8", "surrogateescape")).hexdigest()

    def open(self, principal: Principal) -> Session:
        now = time.time()
        s = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            role=principal.role,
            label=principal.label,
            created=now,
            seen=now,
        )
        con = self._connect()
        try:
            con.execute("DELETE FROM sessions WHERE seen < ? OR created < ?", (now - IDLE_SECONDS, now - MAX_SECONDS))
            con.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)", (self._hash(s.id), s.csrf, s.role, s.label, now, now)
            )
        finally:
            con.close()
        return s

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now, key = time.time(), self._hash(sid)
        con = self._connect()
        try:
            row = con.execute(
                "SELECT csrf, role, label, created, seen FROM sessions WHERE sid_hash = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            csrf, role, label, created, seen = row
            if now - seen > IDLE_SECONDS or now - created > MAX_SECONDS:
                con.execute("DELETE FROM sessions WHERE sid_hash = ?", (key,))
                return None
            con.execute("UPDATE sessions SET seen = ? WHERE sid_hash = ?", (now, key))
        finally:
            con.close()
        return Session(id=sid, csrf=csrf, role=role, label=label, created=created, seen=now)

    def close(self, sid: str | None) -> None:
        con = self._connect()
        try:
            con.execute("DELETE FROM sessions WHERE sid_hash = ?", (self._hash(sid or ""),))
        finally:
            con.close()


class SignInRequired(Exception):
    """Raised by ``current`` without a valid session; ``routes.install`` answers it with the sign-in redirect."""

    def __init__(self, request: Request):
        self.request = request


def current(request: Request) -> Session:
    """The session of the request's cookie; SignInRequired without one."""
    s = request.app.state.console_sessions.get(request.cookies.get(COOKIE))
    if s is None:
        raise SignInRequired(request)
    request.state.principal = f"{s.label} (console)"
    return s


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def set_session_cookie(resp: Response, request: Request, session: Session) -> None:
    resp.set_cookie(
        COOKIE, session.id, httponly=True, samesite="strict", secure=is_https(request), path="/", max_age=MAX_SECONDS
    )


def delete_session_cookie(resp: Response, request: Request) -> None:
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request))
