"""POST /v1/score: cold-start scoring of raw rows."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import APIRouter, Body, Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from service.api import services
from service.api.deps import Principal, require_agent, snapshot
from service.api.problems import ProblemException, problem_response
from service.api.schemas import ScoreRequest, ScoreResponse, problem_responses
from service.api.snapshot import Snapshot


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


def strict_json_error(body: bytes) -> tuple[str, str] | None:
    """(message, type) when ``body`` is not strict JSON: malformed, not UTF-8, NaN/Infinity, or an object with a key
    twice.

    Python's parser (and so FastAPI's) silently keeps the last of duplicate keys: ``{"write": false, "write": true}``
    would be a write. Here it is refused before the body is parsed for real.
    """
    if not body:
        return None
    try:
        json.loads(body, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
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


class StrictJSONRoute(APIRoute):
    """A route whose JSON body must be strict JSON (see ``strict_json_error``); anything else is a 422 problem."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            problem = strict_json_error(await request.body())  # cached by Starlette: FastAPI parses the same bytes next
            if problem is not None:
                message, kind = problem
                return problem_response(
                    request, 422, message, errors=[{"field": "body", "message": message, "type": kind}]
                )
            return await handler(request)

        return strict


router = APIRouter(
    prefix="/v1", tags=["score"], route_class=StrictJSONRoute, responses=problem_responses(401, 403, 409, 413, 422, 503)
)


@router.post("/score", response_model=ScoreResponse, summary="Score customers from raw rows")
def score(
    request: Request,
    body: ScoreRequest = Body(...),
    principal: Principal = Depends(require_agent),
    snap: Snapshot = Depends(snapshot),
) -> ScoreResponse:
    """Profiles and drivers for customers the store has never seen, or for known customers with new activity, validated by the
    same rules as `insight score`. Nothing is written unless `write` is true, which needs an admin key.

    The body must be strict JSON (a key twice in one object, NaN or malformed JSON: 422). One request may hold at most
    `INSIGHT_API_SCORE_MAX_CUSTOMERS` customers (422) and `INSIGHT_API_SCORE_MAX_TEXTS` distinct review and browsing texts
    (413), each at most `INSIGHT_API_SCORE_MAX_TEXT_CHARS` characters (422), so no request holds the scorer for long."""  # noqa: E501  (OpenAPI description: wrapping would change it)
    if body.write and principal.role != "admin":
        request.app.state.metrics.auth_failures.labels("forbidden").inc()
        raise ProblemException(
            403,
            f"writing scored profiles needs an admin key; {principal.label} has role {principal.role} "
            "(send write: false to score only)",
        )
    return services.score(snap, request.app.state.insight, body, request.app.state.settings, request.app.state.metrics)
