"""How much of a customer's activity a profile keeps (shared by the batch path, ``service.activity``, and the
few-customer path, ``service.activity_small``, which must build the very same facts)."""

TEXT_MAX_CHARS = 300
RECENT_ORDER_DAYS = 400  # per-day purchases kept this far back (covers "last year", "last 90 days", "last month")
MAX_RECENT_DAYS = 200  # at most this many purchase days kept per customer
TOP_CATEGORIES = 5
TOP_BROWSED = 5
TOP_SEARCHES = 3
COMPLAINT_MAX_RATING = 2  # a complaint is a review rated 1 or 2 out of 5
PRAISE_MIN_RATING = 4
MAX_QUOTES = 3
