"""Strict JSON request bodies: the routes that take a JSON body (``POST /v1/score``, ``POST /v1/ask``) refuse anything
that is not plainly one JSON document, with a problem that says what is wrong, before FastAPI parses it."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from service.api.problems import problem_response


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise _DuplicateKey(k)
        seen.add(k)
    return dict(pairs)


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON (use a number or null)")


def _finite(text: str) -> float:
    """A JSON number that overflows a float ("1e999") would be read as Infinity, which JSON has no word for."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large for a float (use a number or null)")
    return value


def strict_json_error(body: bytes) -> tuple[str, str] | None:
    """(message, type) when ``body`` is not strict JSON: malformed, not UTF-8, NaN/Infinity, or an object with a key
    twice.

    Python's parser (and so FastAPI's) silently keeps the last of duplicate keys: ``{"write": false, "write": true}``
    would be a write. Here it is refused before the body is parsed for real.
    """
    if not body:
        return None
    try:
        # decoded here: json.loads on bytes guesses UTF-16 and UTF-32 from the first bytes, which JSON over HTTP is not
        text = body.decode("utf-8")
        json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants, parse_float=_finite)
    except _DuplicateKey as exc:
        return (
            f"the JSON body has key '{exc.args[0]}' more than once in one object; send each key once",
            "duplicate_key",
        )
    except RecursionError:
        return "the JSON body is nested too deeply to parse", "json_invalid"
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start})", "json_invalid"
    except ValueError as exc:
        return f"the body is not valid JSON: {exc}", "json_invalid"
    return None


def media_type_error(request: Request, body: bytes) -> str | None:
    """Why a body cannot be read as JSON from its headers: compressed, or sent as another media type (a plain ``curl
    -d`` sends a form); None when it can. FastAPI's own message for these was "Input should be a valid dictionary"."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        return f"Content-Encoding {encoding} is not supported: send the JSON body uncompressed"
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and not (ctype == "application/json" or (ctype.startswith("application/") and ctype.endswith("+json"))):
        return f"the body must be sent as JSON with Content-Type: application/json (got {ctype or 'no Content-Type'})"
    return None


class StrictJSONRoute(APIRoute):
    """A route whose body must be strict JSON (see ``strict_json_error``) sent as such (``media_type_error``: 415);
    anything else is a 422 problem."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            body = await request.body()  # cached by Starlette: FastAPI parses the same bytes next
            unreadable = media_type_error(request, body)
            if unreadable is not None:
                return problem_response(request, 415, unreadable)
            problem = strict_json_error(body)
            if problem is not None:
                message, kind = problem
                return problem_response(
                    request, 422, message, errors=[{"field": "body", "message": message, "type": kind}]
                )
            return await handler(request)

        return strict
