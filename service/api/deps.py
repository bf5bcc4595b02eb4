"""Request dependencies: API-key authentication with roles, and the snapshot a request works on.

Keys come from ``INSIGHT_API_KEYS`` ("key:role,..."). A presented key is hashed and compared with
``hmac.compare_digest`` against every configured key's hash (equal lengths, no early exit), so
timing tells nothing about which key or how much of it matched. Keys are never logged or echoed:
the logs and metrics name a key by its position ("key #2") only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.api.problems import ProblemException
from service.api.snapshot import Snapshot
from service.api.state import AppState

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description="API key from INSIGHT_API_KEYS (role agent: read and ask; admin: also score-with-write and reload).",
)
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="Bearer",
    description="The same API key as a bearer token (for Prometheus scrapers and proxies).",
)

WWW_AUTH = {"WWW-Authenticate": 'ApiKey header="X-API-Key", Bearer'}


@dataclass(frozen=True)
class Principal:
    role: str
    label: str


def app_state(request: Request) -> AppState:
    return request.app.state.insight


async def authenticate(
    request: Request,
    api_key: str | None = Security(api_key_header),
    token: HTTPAuthorizationCredentials | None = Security(bearer),
) -> Principal:
    given = api_key or (token.credentials if token is not None else None)
    metrics = getattr(request.app.state, "metrics", None)
    if not given:
        if metrics:
            metrics.auth_failures.labels("missing").inc()
        raise ProblemException(
            401, "this endpoint needs an API key in the X-API-Key header (or Authorization: Bearer)", headers=WWW_AUTH
        )
    principal = principal_for_key(request.app.state.api_keys, given)
    if principal is None:
        if metrics:
            metrics.auth_failures.labels("unknown").inc()
        raise ProblemException(401, "the API key is not valid", headers=WWW_AUTH)
    request.state.principal = principal.label
    return principal


def principal_for_key(api_keys, given: str) -> Principal | None:
    """The principal of a presented key, or None. Hashed, then compared with every configured key (no early exit).
    Whitespace around it is no part of it (RFC 9110 field values; configured keys and the console's sign-in strip it
    too: a trailing space had been 401 here and accepted there)."""
    digest = hashlib.sha256(given.strip(" \t").encode("utf-8", "surrogateescape")).digest()
    match = None
    for key in api_keys:
        if hmac.compare_digest(digest, key.digest) and match is None:
            match = key
    return None if match is None else Principal(role=match.role, label=match.label)


async def require_agent(principal: Principal = Depends(authenticate)) -> Principal:
    """Any valid key: agent or admin."""
    return principal


async def require_admin(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
    if principal.role != "admin":
        metrics = getattr(request.app.state, "metrics", None)
        if metrics:
            metrics.auth_failures.labels("forbidden").inc()
        raise ProblemException(403, f"this needs an admin key; {principal.label} has role {principal.role}")
    return principal


async def snapshot(request: Request) -> AsyncIterator[Snapshot]:
    """The snapshot this request works on, from start to end (a reload meanwhile does not affect it).

    The dependencies here are ``async``: they do microseconds of work, and a sync dependency costs a hop through the
    thread pool each (four per request were most of a cached profile read's time)."""
    snap = app_state(request).acquire()
    if snap is None:
        raise ProblemException(503, "no model and store are loaded yet", title="Not ready")
    try:
        yield snap
    finally:
        snap.release()


def settings_of(request: Request):
    return request.app.state.settings
