"""POST /v1/score: the raw rows of the input tables a request sends, and the profiles scored from them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas.examples import EXAMPLE_VERSION
from service.api.schemas.profiles import CustomerProfile
from service.ask import SimilarCustomer
from service.tables import ID_MAX_CHARS

# Rows of the input tables as the server requires them: the contract's required columns (required here too), their
# types, and any further columns as plain scalars. Values are then checked by the batch rules (service.tables), so
# ranges (amounts up to 1e9, dates 1970-2100 by default), ISO 8601 dates and id characters are the same for files and
# API.
Scalar = str | int | float | bool | None
_NUMERIC_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
Id = Annotated[
    str,
    Field(
        strict=True,
        max_length=ID_MAX_CHARS,
        description=f"Identifier: at most {ID_MAX_CHARS} characters, no control characters.",
    ),
]
Timestamp = Annotated[
    str,
    Field(
        strict=True,
        description="ISO 8601 date or timestamp, e.g. 2025-12-20 or 2025-12-20T10:00:00Z (no zone: UTC).",
        examples=["2025-12-20T10:00:00Z"],
    ),
]
Number = Annotated[float, Field(strict=True)] | Annotated[str, Field(strict=True, pattern=_NUMERIC_TEXT)]
Integer = Annotated[int, Field(strict=True)] | Annotated[str, Field(strict=True, pattern=_NUMERIC_TEXT)]
Text = Annotated[str, Field(strict=True, description="Free text (lone surrogates and control characters are cleaned).")]


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)


class CustomerRow(_Row):
    """A row of the customers table; further columns (country, ...) are kept as they are."""

    customer_id: Id = Field(examples=["NEW001"])
    signup_ts: Timestamp | None = Field(
        default=None, description="Sign-up date, ISO 8601 (optional).", examples=["2025-06-01T09:00:00Z"]
    )


class OrderRow(_Row):
    """A row of the orders table."""

    order_id: Id = Field(examples=["N0001"])
    customer_id: Id = Field(examples=["NEW001"])
    order_ts: Timestamp
    amount: Number = Field(
        description="Order amount in the store's currency, 0 to the configured maximum (default 1e9); "
        "a number or decimal text.",
        examples=[129.9],
    )
    status: str | None = Field(
        default=None,
        strict=True,
        description="returned, canceled, cancelled and refunded do not count as spend.",
        examples=["completed"],
    )
    n_items: Integer | None = Field(
        default=None, description="Items in the order (0 to the configured maximum, default 1e6).", examples=[2]
    )
    category: str | None = Field(default=None, strict=True, description="Product category.", examples=["electronics"])


class ReviewRow(_Row):
    """A row of the reviews table."""

    review_id: Id = Field(examples=["NR01"])
    customer_id: Id = Field(examples=["NEW001"])
    review_ts: Timestamp
    rating: Integer = Field(description="Rating 1-5 (an integer, or its text).", examples=[5])
    text: Text = Field(examples=["Great headphones, fast delivery."])
    order_id: str | None = Field(default=None, strict=True, description="The order reviewed.", examples=["N0001"])


class EventRow(_Row):
    """A row of the events table (browsing)."""

    customer_id: Id = Field(examples=["NEW001"])
    event_ts: Timestamp
    event_type: str = Field(strict=True, description="view, search, cart, ...", examples=["search"])
    text: Text = Field(examples=["noise cancelling headphones"])
    product_id: str | None = Field(default=None, strict=True, description="Product viewed.", examples=["P123"])


_ORDER_EXAMPLE = {
    "order_id": "N0001",
    "customer_id": "NEW001",
    "order_ts": "2025-12-20T10:00:00Z",
    "amount": 129.9,
    "status": "completed",
    "n_items": 2,
    "category": "electronics",
}


class ScoreTables(BaseModel):
    """Raw rows of the input tables (DESIGN.md contract), validated by the batch path's own rules."""

    model_config = ConfigDict(extra="forbid")

    customers: list[CustomerRow] | None = Field(
        default=None,
        description="Rows of the customers table (customer_id, optional signup_ts, country...).",
        examples=[[{"customer_id": "NEW001", "signup_ts": "2025-06-01T09:00:00Z", "country": "DE"}]],
    )
    orders: list[OrderRow] = Field(
        min_length=1,
        description="Rows of the orders table (order_id, customer_id, order_ts, amount; "
        "optional status, n_items, category).",
        examples=[[_ORDER_EXAMPLE]],
    )
    reviews: list[ReviewRow] | None = Field(
        default=None,
        description="Rows of the reviews table (review_id, customer_id, review_ts, rating 1-5, text).",
        examples=[
            [
                {
                    "review_id": "NR01",
                    "customer_id": "NEW001",
                    "review_ts": "2025-12-22T08:00:00Z",
                    "rating": 5,
                    "text": "Great headphones, fast delivery.",
                }
            ]
        ],
    )
    events: list[EventRow] | None = Field(
        default=None,
        description="Rows of the events table (customer_id, event_ts, event_type, text).",
        examples=[
            [
                {
                    "customer_id": "NEW001",
                    "event_ts": "2025-12-19T20:00:00Z",
                    "event_type": "search",
                    "text": "noise cancelling headphones",
                }
            ]
        ],
    )


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tables: ScoreTables = Field(
        description="The rows to score: all rows of new customers, or the new activity of known ones."
    )
    write: bool = Field(
        default=False,
        strict=True,
        description="Also write the profiles to the store (admin keys only); true or false, nothing else.",
        examples=[False],
    )
    cutoff: str | None = Field(
        default=None,
        description="Score as of this date (ISO 8601); default: for each customer, the store's cutoff or that "
        "customer's latest timestamp sent, whichever is later (one customer's dates never move another's).",
        examples=["2025-12-31"],
    )
    similar_k: int = Field(
        default=5,
        ge=0,
        le=20,
        strict=True,
        description="Also return this many similar scored customers per profile (0: none).",
        examples=[5],
    )


class ScoredProfile(CustomerProfile):
    known: bool = Field(
        description="True when the customer was already in the store (their stored history was merged when available).",
        examples=[False],
    )
    history_merged: bool = Field(
        description="True when the customer's batch history was merged with the rows sent.", examples=[False]
    )
    similar: list[SimilarCustomer] = Field(
        default_factory=list, description="Nearest scored customers (similar_k of them)."
    )


class ScoreResponse(BaseModel):
    profiles: list[ScoredProfile] = Field(description="One profile per customer with an order at or before the cutoff.")
    cutoff: str = Field(
        description="Cutoff the features were computed at (ISO 8601); without a cutoff in the request, the latest of "
        "the customers' own (each profile's is in its cutoff field).",
        examples=["2025-12-31T22:08:00+00:00"],
    )
    written: bool = Field(description="True when the profiles were written to the store.", examples=[False])
    rows: dict[str, int] = Field(description="Rows received per table.", examples=[{"orders": 3, "reviews": 1}])
    model_version: str = Field(description="Model bundle version that scored them.", examples=[EXAMPLE_VERSION])
    seconds: float = Field(description="Time spent scoring, server side.", examples=[0.42])
