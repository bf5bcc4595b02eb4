"""The outermost layer of every request: a request id, the key check and body-size limit of a request with a body
(before the body is read), the request metrics and an access log without secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid

from service.api import problems
from service.api.deps import WWW_AUTH, principal_for_key
from service.api.metrics import Metrics

access_log = logging.getLogger("insight.api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# The console's forms (sign-in, a question) are small; only the API's score requests carry tables.
FORM_MAX_BODY = 65_536


class ServiceMiddleware:
    """Request id, the key check and size limit of a request body, metrics and an access log without secrets.

    A body is read here, before any route: so a POST to the API without a valid key is answered 401 before a byte of
    its body is read (an anonymous client could otherwise make the server hold a megabyte per connection), and a body
    that has not arrived within ``body_timeout`` seconds is answered 408."""

    def __init__(self, app, metrics: Metrics, max_body: int, api_keys=(), body_timeout: float = 30.0):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.api_keys = api_keys
        self.body_timeout = body_timeout

    def _key_is_valid(self, raw_headers) -> bool:
        """The route's own check, ahead of the body: X-API-Key or a bearer token (the first of each, as the routes
        read them). A failure counts in the metrics as the route's would."""
        given = self._given_key(raw_headers)
        ok = given is not None and principal_for_key(self.api_keys, given) is not None
        if not ok:
            self.metrics.auth_failures.labels("missing" if given is None else "unknown").inc()
        return ok

    @staticmethod
    def _given_key(raw_headers) -> str | None:
        given = None
        for k, v in raw_headers:
            name = k.decode("latin-1").lower()
            if name == "x-api-key" and v:
                given = v.decode("latin-1")
                break
        if given is None:
            for k, v in raw_headers:
                if k.decode("latin-1").lower() == "authorization":
                    scheme, _, token = v.decode("latin-1").partition(" ")
                    if scheme.lower() == "bearer" and token.strip():
                        given = token.strip()
                    break
        return given

    async def _problem(
        self, send, status: int, detail: str, path: str, rid: str, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(
            {
                "type": f"/problems/{problems.SLUGS[status]}",
                "title": problems.TITLES[status],
                "status": status,
                "detail": detail,
                "instance": path,
                "request_id": rid,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", problems.PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode()),
                    (b"connection", b"close"),
                    *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        rid = headers.get("x-request-id", "")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        t0 = time.perf_counter()
        status = {"code": 500}
        method, path = scope["method"], scope["path"]
        self.metrics.in_flight.inc()
        try:
            downstream = receive
            cl = headers.get("content-length")
            api, with_body = path.startswith("/v1/"), method in ("POST", "PUT", "PATCH")
            limit = min(self.max_body, FORM_MAX_BODY) if with_body and not api else self.max_body
            too_big = f"the request body is larger than {limit:,} bytes"
            if cl is not None and cl.isdigit() and int(cl) > limit:
                status["code"] = 413
                return await self._problem(send, 413, too_big, path, rid)
            if with_body:
                if api and not self._key_is_valid(scope.get("headers", [])):
                    status["code"] = 401
                    return await self._problem(
                        send,
                        401,
                        "this endpoint needs a valid API key in the X-API-Key header (or Authorization: Bearer)",
                        path,
                        rid,
                        headers=WWW_AUTH,
                    )
                try:
                    async with asyncio.timeout(self.body_timeout):
                        chunks, size, more = [], 0, True
                        while more:
                            message = await receive()
                            if message["type"] == "http.disconnect":
                                status["code"] = 499
                                return
                            chunk = message.get("body", b"")
                            size += len(chunk)
                            if size > limit:
                                status["code"] = 413
                                return await self._problem(send, 413, too_big, path, rid)
                            chunks.append(chunk)
                            more = message.get("more_body", False)
                except TimeoutError:
                    status["code"] = 408
                    return await self._problem(
                        send, 408, f"the request body did not arrive within {self.body_timeout:g} s", path, rid
                    )
                body = b"".join(chunks)
                delivered = {"done": False}

                async def downstream():
                    if not delivered["done"]:
                        delivered["done"] = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

            async def send_wrapper(message):
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    message.setdefault("headers", [])
                    extra = [(b"x-request-id", rid.encode())]
                    if api and not any(k.lower() == b"cache-control" for k, _ in message["headers"]):
                        extra.append((b"cache-control", b"no-store"))  # customer data: never kept by a cache or proxy
                    message["headers"] = list(message["headers"]) + extra
                await send(message)

            await self.app(scope, downstream, send_wrapper)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            # the template without converters ('{customer_id}', not '{customer_id:path}'): stable metric labels
            label = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            dt = time.perf_counter() - t0
            self.metrics.requests.labels(method, label, str(status["code"])).inc()
            self.metrics.latency.labels(method, label).observe(dt)
            state = scope.get("state") or {}
            access_log.info(
                "%s %s %s %.1fms %s rid=%s",
                method,
                problems.log_text(path),
                status["code"],
                dt * 1000,
                state.get("principal", "-"),
                rid,
            )
