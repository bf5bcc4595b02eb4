"""How many everyday agent phrasings get a useful, correct answer from POST /v1/ask (issue 11's measurement).

    python -m bench.ask_phrasings --store profiles.db --data data/ [--customers 10]

15 phrasings x N customers spread over the store (every (n/N)-th id). "Useful" is judged per phrasing by a
rule that looks at the answer text and the raw tables, not at the router's label, so the old and the new
router are measured the same way (see ``JUDGES``). Prints one line per phrasing and the total.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

MONEY = r"\$[\d,]+\.\d\d"


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _quotes(answer: str) -> list[str]:
    return re.findall(r"\u201c([^\u201d]+)\u201d", answer)


def _refused(a: dict) -> bool:
    return not a.get("supported", False)


class Raw:
    """The input tables as the batch run keeps them (``load_tables``: rejected rows such as an amount of 'N/A' are
    left out, as they are from every stored figure), to judge the answers against."""

    def __init__(self, data: Path):
        from service.tables import load_tables

        t = load_tables(data).tables
        empty = pd.DataFrame(columns=["customer_id", "text", "rating"])
        self.orders = t["orders"].copy()
        self.orders["ts"] = pd.to_datetime(self.orders["order_ts"], utc=True)
        self.orders["status"] = self.orders["status"].astype("string")
        self.reviews = t.get("reviews", empty)
        self.events = t.get("events", empty)
        self.cutoff = self.orders["ts"].max()

    def spend_in_year(self, cid: str, year: int) -> float:
        o = self.orders[(self.orders["customer_id"] == cid) & (self.orders["ts"].dt.year == year)]
        o = o[~o["status"].fillna("").str.lower().isin(["returned", "canceled", "cancelled"])]
        return round(float(o["amount"].sum()), 2)

    def last_full_year(self) -> int:
        c = self.cutoff
        return c.year if (c.month, c.day) == (12, 31) else c.year - 1


def judge(key: str, a: dict, cid: str, raw: Raw) -> bool:
    text = a.get("answer") or ""
    if _refused(a):
        return False
    quoted = _quotes(text)
    if key in ("going_on", "summarize"):
        return a["tier"] in text and "%" in text and re.search(MONEY, text) is not None
    if key == "discount":
        return (
            re.search(r"\b(discount|offer|voucher|coupon|incentive)", text, re.I) is not None
            and re.search(r"\b(no|not|don't|do not|yes|worth|recommend|suggest|playbook)\b", text, re.I) is not None
        )
    if key == "next":
        return re.search(r"\d{4}-\d\d-\d\d|\bevery\b.*\bdays?\b", text) is not None
    if key == "happy":
        return re.search(r"/5|\brating|\breviews?\b", text, re.I) is not None
    if key == "products":
        cats = set(raw.orders.loc[raw.orders["customer_id"] == cid, "category"].dropna().str.replace("_", " "))
        views = set(raw.events.loc[raw.events["customer_id"] == cid, "text"].dropna())
        return any(c.lower() in text.lower() for c in cats) or any(v in text for v in views)
    if key in ("churn_de", "churn", "buy_again"):
        return re.search(r"\d+% chance", text) is not None
    if key == "last_year":
        year = (
            raw.last_full_year()
        )  # the amount and the year it is for (a lifetime total that happens to match is no answer)
        spent = raw.spend_in_year(cid, year)
        return str(year) in text and (_money(spent) in text or (spent == 0 and "bought nothing" in text))
    if key == "complain":
        r = raw.reviews[raw.reviews["customer_id"] == cid]
        good = set(r.loc[r["rating"] >= 3, "text"])
        bad = set(r.loc[r["rating"] <= 2, "text"])
        browsing = set(raw.events.loc[raw.events["customer_id"] == cid, "text"].dropna())
        if any(q in good or q in browsing for q in quoted):
            return False
        if bad:
            return any(q in bad for q in quoted)
        return re.search(r"\bno (complaint|low-rated|critical)", text, re.I) is not None
    if key == "why":
        return f"{a['tier']} tier" in text and a["check"]["passed"]
    if key == "move_up":
        return a.get("what_if") is not None and re.search(MONEY, text) is not None
    if key == "similar":
        return bool(a.get("similar"))
    if key == "forecast":
        return re.search(MONEY, text) is not None and ("next 90 days" in text or "next quarter" in text)
    if key == "wrote":
        browsing = set(raw.events.loc[raw.events["customer_id"] == cid, "text"].dropna())
        own = text.split("Not their words")[0]  # what is presented as theirs; labelled browsing after it is fine
        return not any(q in browsing for q in _quotes(own)) and (bool(quoted) or "no review" in text.lower())
    raise KeyError(key)


PHRASINGS = [
    ("going_on", "what's going on with this customer"),
    ("discount", "should I offer a discount?"),
    ("next", "when will they buy next?"),
    ("happy", "are they happy with us?"),
    ("products", "what products do they like"),
    ("summarize", "summarize this customer"),
    ("churn_de", "ist der Kunde abwanderungsgefährdet?"),
    ("last_year", "how much did they spend last year?"),
    ("complain", "what did they complain about?"),
    ("why", "why is this customer VIP?"),
    ("churn", "is this customer about to churn?"),
    ("move_up", "what would move them up a tier?"),
    ("similar", "who else is like this customer?"),
    ("forecast", "how much will they spend in the next quarter?"),
    ("wrote", "what did they write?"),
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--customers", type=int, default=10)
    args = ap.parse_args(argv)
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.api.app import create_app
    from service.api.settings import ApiSettings

    key = "bench-ask-key"
    app = create_app(ApiSettings(store=args.store, api_keys=SecretStr(f"{key}:agent"), api_preload_encoder=False))
    raw = Raw(args.data)
    ids = sorted(app.state.insight.current().roster)
    step = max(len(ids) // args.customers, 1)
    chosen = ids[::step][: args.customers]
    total = useful = 0
    with TestClient(app) as c:
        for k, q in PHRASINGS:
            ok = 0
            for cid in chosen:
                a = c.post("/v1/ask", json={"customer_id": cid, "question": q}, headers={"X-API-Key": key}).json()
                good = judge(k, a, cid, raw)
                ok += good
            total += len(chosen)
            useful += ok
            print(f"{ok:>2}/{len(chosen)}  {q}")
    print(f"useful answers: {useful}/{total}; phrasings useful for every customer: see above")


if __name__ == "__main__":
    main()
