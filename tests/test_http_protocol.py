"""The HTTP protocol `insight serve` runs (service.api.http_protocol), on a real uvicorn server on loopback: a request
whose headers exceed the bound is refused, and a connection that never sends a byte is closed (a probe had stalled the
server with one 128 MB header and filled its connection limit with idle sockets)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from service.api.http_protocol import MAX_HEADER_BYTES, BoundedH11Protocol


async def _hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture()
def port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        _hello,
        http=BoundedH11Protocol,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_keep_alive=1,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def _request(port: int, extra: bytes = b"") -> bytes:
    """The server's answer, or what it sent before closing the connection (b"" when it reset it mid-request)."""
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + extra + b"Connection: close\r\n\r\n")
            while chunk := s.recv(65536):
                out += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass  # refused by closing the connection while the oversized header was still arriving
    return out


def test_a_normal_request_is_served(port):
    assert _request(port).startswith(b"HTTP/1.1 200")


def test_headers_over_the_bound_are_refused(port):
    answer = _request(port, b"X-Pad: " + b"a" * (4 * MAX_HEADER_BYTES) + b"\r\n")
    assert not answer.startswith(b"HTTP/1.1 200")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4")


def test_a_connection_that_never_sends_is_closed(port):
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        assert s.recv(1) == b""  # closed by the server after its keep-alive timeout, not left open
