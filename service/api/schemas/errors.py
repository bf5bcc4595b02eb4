"""The error body of every failure (RFC 9457 problem details) and the OpenAPI ``responses`` entries that document it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(
        description="The offending field, as a path into the request.", examples=["tables.orders[0].amount"]
    )
    message: str = Field(description="What is wrong with it.", examples=["negative amount"])
    type: str = Field(description="Machine-readable error type.", examples=["value_error"])


class Problem(BaseModel):
    """RFC 9457 problem details; the body of every error (media type application/problem+json)."""

    type: str = Field(description="Problem type (a relative URI).", examples=["/problems/not-found"])
    title: str = Field(description="Short summary of the problem type.", examples=["Customer not found"])
    status: int = Field(description="HTTP status code.", examples=[404])
    detail: str = Field(
        description="What went wrong in this request, in plain words.",
        examples=["customer 'C999999' is not in the profile store"],
    )
    instance: str | None = Field(default=None, description="The request path.", examples=["/v1/customers/C999999"])
    request_id: str | None = Field(
        default=None,
        description="Id of the request in the server log (also the X-Request-ID header).",
        examples=["5f0c2a9e1b7d4c3a"],
    )
    errors: list[FieldError] | None = Field(default=None, description="For 422: every offending field.")


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error codes, all problem+json."""
    desc = {
        400: "Bad request",
        401: "Missing or unknown API key",
        403: "The key's role may not do this",
        404: "Unknown customer",
        409: "Conflict (e.g. reload refused: the old model keeps serving)",
        413: "Request body too large",
        415: "The body is not uncompressed JSON (Content-Type: application/json)",
        422: "Invalid input; `errors` names each offending field",
        503: "Not ready or busy",
    }
    return {
        c: {"model": Problem, "description": desc.get(c, "Error"), "content": {"application/problem+json": {}}}
        for c in codes
    }
