"""Hostile POST /v1/score bodies (issue 12): every one is a 4xx problem+json naming the field, never a 500, and none can
stop cold-start scoring for the next client."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings

AGENT, ADMIN = "hostile-agent-key", "hostile-admin-key"
A = {"X-API-Key": AGENT, "content-type": "application/json"}
ORDER = {"order_id": "H1", "customer_id": "HOSTILE1", "order_ts": "2025-11-20T10:00:00Z", "amount": 25.0}
REVIEW = {"review_id": "HR1", "customer_id": "HOSTILE1", "review_ts": "2025-11-21", "rating": 4, "text": "fine"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("hostile")
    write_tables(generate(400, seed=21), d / "data")
    train(d / "data", d / "model", TrainOptions(seed=1, text_sources=()))
    score(d / "data", d / "model", d / "p.db")
    settings = ApiSettings(
        store=str(d / "p.db"),
        api_keys=SecretStr(f"{AGENT}:agent,{ADMIN}:admin"),
        api_preload_encoder=False,
        api_snapshot_dir=d / "snaps",
        api_score_max_texts=20,
        api_score_max_text_chars=300,
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.app_state = app.state.insight
        yield c


def body(**kw):
    return json.dumps({"tables": {"orders": [ORDER]}, **kw})


def orders(*rows):
    return json.dumps({"tables": {"orders": [{**ORDER, "order_id": f"H{i}", **r} for i, r in enumerate(rows)]}})


# (name, raw body, expected status, expected field of the first error or None)
CASES = [
    ("amount 1e308", orders({"amount": 1e308}), 422, "tables.orders[0].amount"),
    (
        "three orders of 1e300",
        orders({"amount": 1e300}, {"amount": 1e300}, {"amount": 1e300}),
        422,
        "tables.orders[0].amount",
    ),
    ("amount 1e400 (infinity)", orders({}).replace("25.0", "1e400"), 422, "body"),  # refused as JSON: no infinity
    ("amount NaN", orders({}).replace("25.0", "NaN"), 422, "body"),
    # infinity spelled as an overflowing number, in a column the service does not read (it had passed with a 200)
    ("extra column of 1e999", orders({}).replace('"amount"', '"coupon": -1e999, "amount"'), 422, "body"),
    ("amount true", orders({"amount": True}), 422, "tables.orders[0].amount.float"),
    ("amount nested", orders({"amount": {"x": 1}}), 422, "tables.orders[0].amount.float"),
    ("amount text", orders({"amount": "twelve"}), 422, "tables.orders[0].amount.float"),
    ("order_ts 9999-12-31", orders({"order_ts": "9999-12-31"}), 422, "tables.orders[0].order_ts"),
    ("order_ts 0001-01-01", orders({"order_ts": "0001-01-01"}), 422, "tables.orders[0].order_ts"),
    ("order_ts 2262-04-12", orders({"order_ts": "2262-04-12"}), 422, "tables.orders[0].order_ts"),
    ("order_ts 1677-09-21", orders({"order_ts": "1677-09-21"}), 422, "tables.orders[0].order_ts"),
    ("order_ts 01/02/2025", orders({"order_ts": "01/02/2025"}), 422, "tables.orders[0].order_ts"),
    ("order_ts epoch number", orders({"order_ts": 1735689600}), 422, "tables.orders[0].order_ts"),
    ("order_ts offset +25:00", orders({"order_ts": "2025-01-01T10:00:00+25:00"}), 422, "tables.orders[0].order_ts"),
    ("cutoff 9999-12-31", body(cutoff="9999-12-31"), 422, "cutoff"),
    ("cutoff 0001-01-01", body(cutoff="0001-01-01"), 422, "cutoff"),
    ("cutoff 01/02/2025", body(cutoff="01/02/2025"), 422, "cutoff"),
    (
        "lone surrogate in customer_id",
        orders({}).replace('"HOSTILE1"', '"NEW\\ud800"'),
        422,
        "tables.orders[0].customer_id",
    ),
    ("lone surrogate in order_id", orders({}).replace('"H0"', '"H\\udfff"'), 422, "tables.orders[0].order_id"),
    ("NUL in customer_id", orders({"customer_id": "NEW\x00X"}), 422, "tables.orders[0].customer_id"),
    ("customer_id of 129 characters", orders({"customer_id": "C" * 129}), 422, "tables.orders[0].customer_id"),
    (
        "duplicate key write",
        '{"tables": {"orders": [' + json.dumps(ORDER) + ']}, "write": false, "write": true}',
        422,
        "body",
    ),
    (
        "duplicate key in a row",
        '{"tables": {"orders": [{"order_id": "H1", "customer_id": "A", "customer_id": "B", '
        '"order_ts": "2025-11-20", "amount": 1}]}}',
        422,
        "body",
    ),
    ('write "yes"', body(write="yes"), 422, "write"),
    ("write 1", body(write=1), 422, "write"),
    ("similar_k false", body(similar_k=False), 422, "similar_k"),
    ("similar_k 2.5", body(similar_k=2.5), 422, "similar_k"),
    ('similar_k "3"', body(similar_k="3"), 422, "similar_k"),
    ("similar_k 1000", body(similar_k=1000), 422, "similar_k"),
    ("malformed JSON", '{"tables": {"orders": [', 422, "body"),
    ("not UTF-8", b'{"tables": {"orders": [{"order_id": "\xe9"}]}}', 422, "body"),
    ("UTF-16", body().encode("utf-16"), 422, "body"),  # json.loads on bytes had guessed UTF-16 and UTF-32
    ("UTF-32 without a BOM", body().encode("utf-32-le"), 422, "body"),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, 422, "body"),
    ("a JSON array", "[1, 2]", 422, "body"),
    ("empty body", "", 422, "body"),
    ("unknown table", json.dumps({"tables": {"orders": [ORDER], "payments": [{}]}}), 422, "tables.payments"),
    ("unknown top-level key", body(debug=True), 422, "debug"),
    ("no orders", json.dumps({"tables": {"orders": []}}), 422, "tables.orders"),
    (
        "missing amount",
        json.dumps({"tables": {"orders": [{k: v for k, v in ORDER.items() if k != "amount"}]}}),
        422,
        "tables.orders[0].amount",
    ),
    ("negative amount", orders({"amount": -5}), 422, "tables.orders[0].amount"),
    ("n_items 1e12", orders({"n_items": 10**12}), 422, "tables.orders[0].n_items"),
    ("n_items 10**400", orders({"n_items": 10**400}), 422, "tables.orders[0].n_items"),
    ("n_items 1.5", orders({"n_items": 1.5}), 422, "tables.orders[0].n_items.int"),
    (
        "rating 4.5",
        json.dumps({"tables": {"orders": [ORDER], "reviews": [{**REVIEW, "rating": 4.5}]}}),
        422,
        "tables.reviews[0].rating.int",
    ),
    (
        "rating 7",
        json.dumps({"tables": {"orders": [ORDER], "reviews": [{**REVIEW, "rating": 7}]}}),
        422,
        "tables.reviews[0].rating",
    ),
    (
        "text too long",
        json.dumps({"tables": {"orders": [ORDER], "reviews": [{**REVIEW, "text": "x" * 301}]}}),
        422,
        "tables.reviews[0].text",
    ),
    (
        "too many distinct texts",
        json.dumps(
            {
                "tables": {
                    "orders": [ORDER],
                    "reviews": [{**REVIEW, "review_id": f"R{i}", "text": f"text {i}"} for i in range(21)],
                }
            }
        ),
        413,
        "tables",
    ),
    ("extra column holding an object", orders({"country": {"x": 1}}), 422, "tables.orders[0].country.str"),
    (
        "101 customers",
        json.dumps(
            {"tables": {"orders": [{**ORDER, "order_id": f"O{i}", "customer_id": f"N{i}"} for i in range(101)]}}
        ),
        422,
        "tables",
    ),
]


@pytest.mark.parametrize("name, raw, status, field", CASES, ids=[c[0] for c in CASES])
def test_hostile_body_is_a_clear_4xx(client, name, raw, status, field):
    r = client.post(
        "/v1/score", content=raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"), headers=A
    )
    assert r.status_code == status, (name, r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == status and problem["detail"] and "Traceback" not in r.text
    if field is not None:
        assert problem["errors"][0]["field"] == field, (name, problem)


def test_bodies_that_are_not_plain_json_say_so_on_both_json_routes(client):
    """POST /v1/ask read a key twice as the last one (answering about another customer) and said "There was an error
    parsing the body" for deep nesting; a body without a JSON content type or gzipped was "Input should be a valid
    dictionary". Both JSON routes now refuse these the same way, naming the cause."""
    ask = json.dumps({"customer_id": "C000001", "question": "why is this customer in their tier?"})
    for path, good in (("/v1/ask", ask), ("/v1/score", body())):
        twice = good[:-1] + f', "{next(iter(json.loads(good)))}": "x"}}'
        r = client.post(path, content=twice.encode(), headers=A)
        assert r.status_code == 422 and "more than once" in r.json()["detail"], (path, r.text)
        r = client.post(path, content=("[" * 5000 + "]" * 5000).encode(), headers=A)
        assert r.status_code == 422 and "nested too deeply" in r.json()["detail"], (path, r.text)
        for ctype in (None, "text/plain", "application/x-www-form-urlencoded"):
            h = {"X-API-Key": AGENT} | ({"content-type": ctype} if ctype else {})
            r = client.post(path, content=good.encode(), headers=h)
            assert r.status_code == 415 and "Content-Type: application/json" in r.json()["detail"], (path, r.text)
        r = client.post(path, content=gzip.compress(good.encode()), headers=A | {"content-encoding": "gzip"})
        assert r.status_code == 415 and "Content-Encoding gzip" in r.json()["detail"], (path, r.text)
        r = client.post(path, content=good.encode(), headers=A | {"content-type": "application/json; charset=utf-8"})
        assert r.status_code == 200, (path, r.text)


def test_texts_with_lone_surrogates_and_nul_are_cleaned_not_refused(client):
    raw = json.dumps({"tables": {"orders": [ORDER], "reviews": [{**REVIEW, "text": "good PLACEHOLDER\x00 value"}]}})
    raw = raw.replace("PLACEHOLDER", "\\ud800")
    r = client.post("/v1/score", content=raw.encode(), headers=A)
    assert r.status_code == 200, r.text
    assert r.json()["profiles"][0]["customer_id"] == "HOSTILE1"


def test_the_openapi_row_schemas_state_what_the_server_requires(client):
    spec = client.get("/openapi.json", headers=A).json()["components"]["schemas"]
    assert spec["OrderRow"]["required"] == ["order_id", "customer_id", "order_ts", "amount"]
    assert spec["ReviewRow"]["required"] == ["review_id", "customer_id", "review_ts", "rating", "text"]
    assert spec["EventRow"]["required"] == ["customer_id", "event_ts", "event_type", "text"]
    assert spec["CustomerRow"]["required"] == ["customer_id"]
    assert spec["OrderRow"]["properties"]["customer_id"]["maxLength"] == 128
    assert spec["ScoreRequest"]["properties"]["write"]["type"] == "boolean"
    post = client.get("/openapi.json", headers=A).json()["paths"]["/v1/score"]["post"]
    assert {"413", "422", "409"} <= set(post["responses"])
    # Every documented row, sent as documented, is accepted.
    example = {name: spec[f"{row}Row"]["properties"] for name, row in (("orders", "Order"),)}
    assert example  # (the request example itself is checked by test_api)


def test_no_hostile_request_stalls_the_next_one(client):
    """The hang: the scoring slot is free after every hostile body, and the next valid request answers at once."""
    for _name, raw, _status, _ in CASES:
        client.post(
            "/v1/score", content=raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"), headers=A
        )
    gate = client.app_state.score_gate
    assert gate.acquire(timeout=0.1), "the scoring slot is still held"
    gate.release()
    t0 = time.perf_counter()
    r = client.post("/v1/score", content=body().encode(), headers=A)
    assert r.status_code == 200 and time.perf_counter() - t0 < 30, r.text


def _threads() -> int:
    return len(os.listdir("/proc/self/task")) if Path("/proc/self/task").exists() else threading.active_count()


def test_a_failing_feature_query_releases_its_duckdb_threads():
    """Root cause of the stalled scorer: every failing request used to leak a DuckDB connection with its worker
    threads and registered frames, torn down later by the garbage collector on an arbitrary thread."""
    from service.features import FeatureBuilder

    orders = pd.DataFrame(
        {
            "order_id": ["a", "b"],
            "customer_id": ["c1", "c2"],
            "amount": [1.0, 2.0],
            "status": ["completed"] * 2,
            "order_ts": pd.to_datetime(["0001-01-01", "2025-01-01"], utc=True, format="ISO8601"),
        }
    )
    empty = {
        "reviews": pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=object),
                "review_ts": pd.Series(dtype="datetime64[us, UTC]"),
                "rating": pd.Series(dtype=float),
            }
        ),
        "events": pd.DataFrame(
            {
                "customer_id": pd.Series(dtype=object),
                "event_ts": pd.Series(dtype="datetime64[us, UTC]"),
                "event_type": pd.Series(dtype=object),
            }
        ),
    }
    kept = []
    before = _threads()
    for _ in range(10):
        fb = FeatureBuilder({"orders": orders, **empty}, threads=4)
        try:
            fb.snapshot(pd.Timestamp("2025-06-01", tz="UTC"), 90)
        except (
            Exception
        ) as exc:  # the exception (and its traceback, and the builder) is kept alive, as a server's log does
            kept.append(exc)
    assert kept and _threads() <= before + 1


def test_a_huge_bad_cutoff_is_not_echoed_back(client):
    """A 100 kB cutoff came back twice in the 422 (200 kB)."""
    for cutoff in ("x" * 100_000, "2025-01-01T00:00:00." + "9" * 100_000):
        r = client.post("/v1/score", content=body(cutoff=cutoff).encode(), headers=A)
        assert r.status_code == 422 and "cutoff" in r.text and len(r.content) < 2_000, (r.status_code, len(r.content))


def test_a_newline_in_the_path_cannot_forge_a_log_line(client, caplog):
    """GET /healthz%0a<a forged line> wrote that line into the access log, without a key."""
    forged = "2026-12-02 13:59:59,000 INFO insight.api.access: POST /v1/admin/reload 200"
    with caplog.at_level("INFO", logger="insight.api"):
        client.get("/healthz%0a" + forged.replace(" ", "%20"))
        client.get("/v1/customers/X%0d%0a" + forged.replace(" ", "%20") + "/explanation", headers=A)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("insight.api")]
    assert lines and all("\n" not in m and "\r" not in m for m in lines), lines
    assert any("\\x0a2026-12-02" in m for m in lines), lines
    # a right-to-left override (and other invisible characters) reorders how a reader sees the rest of the line
    with caplog.at_level("INFO", logger="insight.api"):
        client.get("/v1/customers/x%E2%80%AEFAKE%E2%80%8B", headers=A)
    line = [r.getMessage() for r in caplog.records if "FAKE" in r.getMessage()][-1]
    assert "\u202e" not in line and "\u200b" not in line and "\\u202eFAKE\\u200b" in line, line


def test_score_requests_beyond_the_waiting_limit_are_turned_away_at_once(client):
    """Each request waiting for the scorer holds a thread of the pool every synchronous route shares: 48 of them had
    queued the console and /healthz for up to a minute. Past SCORE_MAX_WAITING waiters a request is refused at once."""
    state = client.app_state
    assert state.enter_scorer(1.0)  # the scorer is busy with one request
    got: list[bool] = []
    try:
        waiters = [
            threading.Thread(target=lambda: got.append(state.enter_scorer(30.0)))
            for _ in range(state.SCORE_MAX_WAITING)
        ]
        for t in waiters:
            t.start()
        deadline = time.monotonic() + 10
        while state._score_waiting < state.SCORE_MAX_WAITING and time.monotonic() < deadline:
            time.sleep(0.01)
        t0 = time.monotonic()
        assert state.enter_scorer(30.0) is False and time.monotonic() - t0 < 5  # turned away, not queued for 30 s
        r = client.post("/v1/score", content=body().encode(), headers=A)
        assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
    finally:
        state.leave_scorer()
    for _ in range(state.SCORE_MAX_WAITING):  # each waiter gets the scorer in turn
        deadline = time.monotonic() + 10
        while len(got) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got.pop() is True
        state.leave_scorer()
    for t in waiters:
        t.join(5)
    assert state.enter_scorer(0.1)
    state.leave_scorer()


def test_a_text_encoder_that_cannot_load_is_503_not_500(client, monkeypatch):
    """INSIGHT_EMBEDDING_MODEL or INSIGHT_CACHE_DIR set wrong: the served profiles are fine, but every score request
    had been a 500 with a traceback."""
    from embeddings import EncoderError

    def broken(bundle):
        raise EncoderError("embedding model files not found at /nope")

    monkeypatch.setattr(client.app_state, "encoder", broken)
    r = client.post("/v1/score", content=body().encode(), headers=A)
    assert r.status_code == 503 and "text encoder cannot be loaded" in r.json()["detail"], r.text
    assert "/nope" not in r.text  # the cause is in the server log
    assert client.get("/healthz").status_code == 200
