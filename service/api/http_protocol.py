"""The HTTP/1.1 protocol `insight serve` speaks: uvicorn's h11 protocol with two bounds its defaults lack.

- A request's line and headers may take at most ``MAX_HEADER_BYTES``. uvicorn's default parser (httptools) sets no
  limit and rebuilds a partial header on every chunk, so one anonymous 128 MB header took 20 s of the event loop
  (every client stalled) and memory it never gave back.
- The keep-alive timeout starts as soon as a connection opens, not only after its first response, so a connection that
  never sends a byte is closed after ``timeout_keep_alive`` seconds. Idle connections had filled the connection limit
  (``INSIGHT_API_MAX_CONNECTIONS``) and every other client got 503 for as long as they stayed open.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 64 * 1024  # a request line and its headers; browsers' cookies and keys stay far below it


class BoundedH11Protocol(H11Protocol):
    """h11 with the keep-alive timer running from the moment a connection is made (cancelled by its first bytes)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
