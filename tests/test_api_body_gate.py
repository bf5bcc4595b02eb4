"""The request body is read in the outermost middleware, before any route: a POST to the API without a valid key is
answered 401 before a byte of its body is read, and a body that does not arrive in time is answered 408. (An anonymous
client sending a megabyte per connection and never finishing had made the server hold it all, for ever.)"""

from __future__ import annotations

import asyncio
import json

import pytest

from service.api.metrics import Metrics
from service.api.middleware import FORM_MAX_BODY, ServiceMiddleware
from service.api.settings import parse_api_keys

KEYS = parse_api_keys("gate-agent-key:agent")


async def _app(scope, receive, send):  # the routes: reads the body and answers 200
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


def _call(path: str, headers: list[tuple[bytes, bytes]], receive, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    mw = ServiceMiddleware(_app, metrics=Metrics(), max_body=1_048_576, api_keys=KEYS, body_timeout=timeout)
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(asyncio.wait_for(mw(scope, receive, send), 10))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


async def _never_read():
    raise AssertionError("the body of a request without a valid key was read")


async def _stalled():  # a client that sends part of a body and then nothing
    await asyncio.sleep(3600)
    return {"type": "http.request", "body": b"", "more_body": False}


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"x-api-key", b"not-a-key")],
        [(b"authorization", b"Bearer not-a-key")],
        [(b"authorization", b"Basic Z2F0ZS1hZ2VudC1rZXk6")],
        [(b"x-api-key", b"not-a-key"), (b"x-api-key", b"gate-agent-key")],  # the first key counts, as on the routes
    ],
)
def test_an_api_post_without_a_valid_key_is_401_before_its_body_is_read(headers):
    status, sent_headers, body = _call("/v1/score", headers, _never_read)
    assert status == 401 and "www-authenticate" in sent_headers
    assert json.loads(body)["status"] == 401 and "API key" in json.loads(body)["detail"]


def test_a_body_that_never_ends_is_408_with_a_key_and_the_key_comes_as_the_routes_read_it():
    status, _, body = _call("/v1/score", [(b"x-api-key", b"gate-agent-key")], _stalled, timeout=0.2)
    assert status == 408 and "did not arrive within 0.2 s" in json.loads(body)["detail"]
    for headers in ([(b"x-api-key", b"gate-agent-key")], [(b"authorization", b"bearer gate-agent-key")]):

        async def whole():
            return {"type": "http.request", "body": b"{}", "more_body": False}

        assert _call("/v1/score", headers, whole)[0] == 200


def test_a_console_form_body_is_capped_far_below_the_api_limit():
    """The sign-in form carries its key in the body, so it cannot be checked first: its size is capped instead."""

    async def big():
        return {"type": "http.request", "body": b"k" * (FORM_MAX_BODY + 1), "more_body": False}

    assert _call("/console/login", [], big)[0] == 413
    assert _call("/console/login", [(b"content-length", str(FORM_MAX_BODY + 1).encode())], _never_read)[0] == 413

    async def small():
        return {"type": "http.request", "body": b"api_key=x", "more_body": False}

    assert _call("/console/login", [], small)[0] == 200
