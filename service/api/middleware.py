"""The outermost layer of every request: a request id, the body-size limit (413 before the body is parsed), the
request metrics and an access log without secrets."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from service.api import problems
from service.api.metrics import Metrics

access_log = logging.getLogger("insight.api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ServiceMiddleware:
    """Request id, body-size limit (413 before the body is parsed), metrics and an access log without secrets."""

    def __init__(self, app, metrics: Metrics, max_body: int):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def _problem(self, send, status: int, detail: str, path: str, rid: str) -> None:
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
            too_big = f"the request body is larger than {self.max_body:,} bytes"
            if cl is not None and cl.isdigit() and int(cl) > self.max_body:
                status["code"] = 413
                return await self._problem(send, 413, too_big, path, rid)
            if method in ("POST", "PUT", "PATCH"):
                chunks, size, more = [], 0, True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        status["code"] = 499
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        status["code"] = 413
                        return await self._problem(send, 413, too_big, path, rid)
                    chunks.append(chunk)
                    more = message.get("more_body", False)
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
                    message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
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
