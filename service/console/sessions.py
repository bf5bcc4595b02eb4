"""Console sessions: server-side, opened by signing in with an API key.

The browser only holds a random session id in a cookie that is HttpOnly, SameSite=Strict (and Secure over HTTPS);
the key itself is never stored. Sessions live in memory (a restart signs everyone out, which is the safe default)
and end after IDLE_SECONDS without a request or MAX_SECONDS after sign-in. Every page with data calls ``current``,
which sends the browser to the sign-in page without a valid session.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

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
