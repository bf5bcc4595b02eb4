"""The HTTP API in-process (FastAPI TestClient): every endpoint, every error, auth on every protected route,
contact-data masking, the OpenAPI contract, cold-start scoring against the batch path, and refused reloads."""

from __future__ import annotations

import json
import logging
import shutil
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings, parse_api_keys
from service.store import ProfileStore, index_dir
from service.tables import TABLES, find_table_file, read_raw

AGENT, ADMIN = "agent-key-7f3a9c21d8e4", "admin-key-52be0d7e9a1c"
A = {"X-API-Key": AGENT}
ADM = {"X-API-Key": ADMIN}
PII_EMAIL, PII_PHONE = "jane.doe@example.com", "+44 20 7946 0958"
OPEN = {"/healthz", "/readyz"}


def settings_for(store, **kw) -> ApiSettings:
    return ApiSettings(
        store=str(store), api_keys=SecretStr(f"{AGENT}:agent,{ADMIN}:admin"), api_preload_encoder=False, **kw
    )


@pytest.fixture(scope="module")
def api_dir(scored, tmp_path_factory):
    """A private copy of the session store (the API writes to it), with one customer whose review holds contact data."""
    d = tmp_path_factory.mktemp("api")
    shutil.copy(scored.store, d / "profiles.db")
    shutil.copytree(index_dir(scored.store), index_dir(d / "profiles.db"))
    ps = ProfileStore(d / "profiles.db")
    vip = next(
        c
        for c in scored.frame.sort_values("predicted_value", ascending=False)["customer_id"]
        if any(e["source"].startswith("review") for e in ps.get(c)["profile"]["evidence"])
    )
    row = ps.get(vip)
    ev = row["profile"]["evidence"]
    ev[0] = {**ev[0], "text": f"Great service, write to {PII_EMAIL} or call {PII_PHONE} any time."}
    ps.upsert([row])
    ps.close()
    return d, vip


@pytest.fixture(scope="module")
def app(api_dir, encoder):
    d, _ = api_dir
    return create_app(settings_for(d / "profiles.db"), encoder=encoder)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def ids(scored, api_dir):
    f = scored.frame
    return {
        "pii": api_dir[1],
        **{t: f.loc[f["tier"] == t, "customer_id"].iloc[2] for t in ("VIP", "High", "Medium", "Low")},
    }


def is_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


# ----------------------------------------------------------------------------- health, model, tiers


def test_health_and_readiness_are_open(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz").json()
    assert r["status"] == "ready" and r["customers"] > 1000 and r["model_version"]
    for path in ("/healthz", "/readyz"):  # load balancers probe with HEAD: it was a 405
        h = client.head(path)
        assert h.status_code == 200 and h.content == b"", (path, h.status_code)


def test_model_and_tiers(client, trained, scored):
    m = client.get("/v1/model", headers=A).json()
    assert (
        m["model_version"] == trained.bundle.model_version
        and m["index"] == "flat"
        and m["index_size"] == len(scored.frame)
    )
    t = client.get("/v1/tiers", headers=A).json()
    assert [x["tier"] for x in t["tiers"]] == ["VIP", "High", "Medium", "Low"]
    assert t["customers"] == len(scored.frame) and t["policy"] == "shares"
    assert (
        t["tiers"][0]["min_predicted_value"] > t["tiers"][1]["min_predicted_value"]
        and t["tiers"][3]["min_predicted_value"] is None
    )
    counts = scored.frame["tier"].value_counts()
    assert all(x["customers"] == counts[x["tier"]] for x in t["tiers"])


# ----------------------------------------------------------------------------- auth


def _requests(app, ids):
    """(method, path, json body) for every route of the app (the OpenAPI paths plus /openapi.json), path parameters
    filled in."""
    bodies = {
        "/v1/ask": {"customer_id": ids["High"], "question": "why is he High?"},
        "/v1/score": {
            "tables": {
                "orders": [
                    {"order_id": "AUTH1", "customer_id": "AUTHNEW", "order_ts": "2025-06-01T10:00:00Z", "amount": 10}
                ]
            }
        },
    }
    out = [("GET", "/openapi.json", None)]
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            out.append((method.upper(), path.replace("{customer_id}", ids["High"]), bodies.get(path)))
    return out


def test_every_protected_route_needs_a_valid_key(app, client, ids):
    reqs = _requests(app, ids)
    paths = {p for _, p, _ in reqs}
    assert {
        "/v1/ask",
        "/v1/score",
        "/v1/tiers",
        "/v1/model",
        "/v1/admin/reload",
        "/metrics",
        "/openapi.json",
        f"/v1/customers/{ids['High']}",
        f"/v1/customers/{ids['High']}/explanation",
        f"/v1/customers/{ids['High']}/similar",
    } <= paths
    for method, path, body in reqs:
        if path in OPEN:
            assert client.request(method, path).status_code == 200
            continue
        for headers in (
            {},
            {"X-API-Key": "wrong"},
            {"X-API-Key": AGENT + "x"},
            {"Authorization": "Bearer nope"},
            {"X-API-Key": ""},
        ):
            r = client.request(method, path, json=body, headers=headers)
            assert is_problem(r, 401)["detail"], (method, path, headers)
            assert "X-API-Key" in r.headers["www-authenticate"]
        admin_only = path.startswith("/v1/admin")
        r = client.request(method, path, json=body, headers=A)
        assert r.status_code == (403 if admin_only else 200), (method, path, r.text)
        r = client.request(method, path, json=body, headers=ADM)
        assert r.status_code == 200, (method, path, r.text)


def test_bearer_token_and_roles(client, ids):
    assert client.get("/v1/tiers", headers={"Authorization": f"Bearer {AGENT}"}).status_code == 200
    body = is_problem(client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {AGENT}"}), 403)
    assert "admin" in body["detail"] and AGENT not in json.dumps(body)
    score = {
        "tables": {
            "orders": [{"order_id": "W1", "customer_id": "WNEW", "order_ts": "2025-06-01T10:00:00Z", "amount": 10}]
        },
        "write": True,
    }
    assert "admin" in is_problem(client.post("/v1/score", json=score, headers=A), 403)["detail"]
    # whitespace around a key is no part of it, as for the console's sign-in (probe, stop 30)
    assert client.get("/v1/tiers", headers={"X-API-Key": AGENT + " \t"}).status_code == 200


def test_keys_are_never_logged_or_echoed(client, ids, caplog):
    caplog.set_level(logging.DEBUG)
    r1 = client.get(f"/v1/customers/{ids['VIP']}", headers=A)
    r2 = client.get("/v1/tiers", headers={"X-API-Key": "not-a-key-31337"})
    r3 = client.post("/v1/admin/reload", headers=A)
    for r in (r1, r2, r3):
        assert AGENT not in r.text and "not-a-key-31337" not in r.text
    assert AGENT not in caplog.text and ADMIN not in caplog.text and "not-a-key-31337" not in caplog.text
    assert "key #1" in caplog.text  # the access log names keys by position


def test_api_key_config_errors_do_not_reveal_keys():
    for spec, msg in (
        ("s3cr3t", "key:role"),
        ("s3cr3t:root", "role"),
        ("s3cr3t:agent,s3cr3t:admin", "repeats"),
        ("s3cr3tschl\u00fcssel:agent", "printable ASCII"),  # no client could send it as the server reads headers
        ("s3cr3t\x07bell:agent", "printable ASCII"),
        # written role-first, or a key holding a colon: the text after the last colon is the secret (probe, stop 30)
        ("agent:s3cr3t9f8e7d6c", "role-first"),
        ("ops:s3cr3t-Pa55", "does not end with a role"),
    ):
        with pytest.raises(ValueError, match=msg) as exc:
            parse_api_keys(spec)
        assert "s3cr3t" not in str(exc.value)
    assert [k.role for k in parse_api_keys(" a:agent , b:Admin ,")] == ["agent", "admin"]


# ----------------------------------------------------------------------------- customers


def test_profile(client, ids, scored):
    cid = ids["Medium"]
    p = client.get(f"/v1/customers/{cid}", headers=A).json()
    row = scored.frame.set_index("customer_id").loc[cid]
    assert p["tier"] == "Medium" and p["predicted_value"] == pytest.approx(row["predicted_value"], abs=0.01)
    assert 0 <= p["churn_probability"] <= 1 and p["rfm_segment"] == row["rfm_segment"] and len(p["drivers"]) == 5
    assert (
        p["model_version"] and p["scored_at"] and p["features"]["frequency"] >= 1 and set(p["rfm"]) == {"r", "f", "m"}
    )
    assert len(client.get(f"/v1/customers/{cid}?top=12", headers=A).json()["drivers"]) == 12


def test_unknown_customer_is_404(client):
    for path in ("/v1/customers/NOPE", "/v1/customers/NOPE/explanation", "/v1/customers/NOPE/similar"):
        body = is_problem(client.get(path, headers=A), 404)
        assert "NOPE" in body["detail"] and body["instance"] == path and body["request_id"]
    assert (
        "NOPE"
        in is_problem(client.post("/v1/ask", json={"customer_id": "NOPE", "question": "why?"}, headers=A), 404)[
            "detail"
        ]
    )


def test_explanation_is_exactly_the_cli_json(client, ids, api_dir):
    from typer.testing import CliRunner

    from service.cli import app as cli

    store = str(api_dir[0] / "profiles.db")
    for cid in (ids["VIP"], ids["Low"], ids["pii"]):
        api = client.get(f"/v1/customers/{cid}/explanation", headers=A)
        assert api.status_code == 200
        res = CliRunner().invoke(cli, ["explain", cid, "--store", store, "--json"])
        assert res.exit_code == 0, res.output
        assert api.json() == json.loads(res.stdout)
        e = api.json()
        assert (
            e["check"]["passed"]
            and e["narrator"] == "template"
            and not e["fallback"]
            and e["customer_id"] in e["narrative"]
        )


def test_contact_data_is_masked_in_every_response(client, ids):
    cid = ids["pii"]
    responses = [
        client.get(f"/v1/customers/{cid}", headers=A),
        client.get(f"/v1/customers/{cid}/explanation", headers=A),
    ]
    for q in ("what did she write?", "why is she VIP?", f"email {PII_EMAIL}?"):
        responses.append(client.post("/v1/ask", json={"customer_id": cid, "question": q}, headers=A))
    for r in responses:
        assert r.status_code == 200
        assert PII_EMAIL not in r.text and "7946" not in r.text, r.text[:300]
    assert "[email]" in responses[1].json()["narrative"] and "[phone]" in responses[1].json()["narrative"]
    assert responses[1].json()["check"]["passed"]


def test_similar(client, ids):
    cid = ids["High"]
    s = client.get(f"/v1/customers/{cid}/similar?k=7", headers=A).json()
    assert s["index"] == "flat" and s["k"] == 7 and len(s["similar"]) == 7
    sims = [x["similarity"] for x in s["similar"]]
    assert sims == sorted(sims, reverse=True) and all(-1.0001 <= x <= 1.0001 for x in sims)
    assert cid not in [x["customer_id"] for x in s["similar"]] and all(x["tier"] for x in s["similar"])
    for bad in ("k=0", "k=101", "k=abc"):
        body = is_problem(client.get(f"/v1/customers/{cid}/similar?{bad}", headers=A), 422)
        assert body["errors"][0]["field"] == "k"


# ----------------------------------------------------------------------------- ask


@pytest.mark.parametrize(
    "question, intent",
    [
        ("why is she VIP?", "why_tier"),
        ("is he about to churn?", "churn"),
        ("what would move them to VIP?", "upgrade"),
        ("who else is like this customer?", "similar"),
        ("how much will she spend?", "value"),
        ("what did she write?", "evidence"),
        ("what's the weather like?", "unsupported"),
    ],
)
def test_ask(client, ids, question, intent):
    r = client.post("/v1/ask", json={"customer_id": ids["Medium"], "question": question}, headers=A)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["intent"] == intent and a["check"]["passed"] and a["answer"]
    assert a["supported"] == (intent != "unsupported")
    if intent == "unsupported":
        assert a["suggestions"] and "won't guess" in a["answer"]
    if intent == "upgrade":
        assert a["what_if"]["target_tier"] == "VIP" and a["what_if"]["scenarios"]
    if intent == "similar":
        assert len(a["similar"]) == 5


def test_ask_validation(client, ids):
    body = is_problem(client.post("/v1/ask", json={"customer_id": ids["High"]}, headers=A), 422)
    assert body["errors"][0]["field"] == "question"
    body = is_problem(client.post("/v1/ask", json={"customer_id": ids["High"], "question": "x" * 501}, headers=A), 422)
    assert body["errors"][0]["field"] == "question"
    body = is_problem(
        client.post("/v1/ask", content=b'{"customer_id": ', headers={**A, "content-type": "application/json"}), 422
    )
    assert body["errors"][0]["field"] == "body" and "JSON" in body["detail"]


# ----------------------------------------------------------------------------- cold-start scoring


def _rows_of(synth_dir, cid, rename: str | None = None) -> dict:
    """All input rows of one customer, as JSON rows (values as written in the files)."""
    tables = {}
    for name in TABLES:
        path = find_table_file(synth_dir, name)
        df = read_raw(path)
        df = df[df["customer_id"] == cid]
        if rename:
            df = df.assign(customer_id=rename)
            for key in ("order_id", "review_id"):
                if key in df:
                    df[key] = rename + "-" + df[key]
        if len(df):
            tables[name] = json.loads(df.to_json(orient="records"))
    return tables


def test_cold_start_equals_the_batch_profile(client, ids, synth_dir, scored):
    """A stored customer's full history sent as a brand-new customer scores exactly as the batch did (same code
    path)."""
    cid = ids["High"]
    tables = _rows_of(synth_dir, cid, rename="COLD1")
    r = client.post("/v1/score", json={"tables": tables}, headers=A)
    assert r.status_code == 200, r.text
    out = r.json()
    p = out["profiles"][0]
    batch = client.get(f"/v1/customers/{cid}", headers=A).json()
    assert p["customer_id"] == "COLD1" and not p["known"] and not out["written"]
    assert p["predicted_value"] == pytest.approx(batch["predicted_value"], rel=1e-5, abs=0.01)
    assert p["churn_probability"] == pytest.approx(batch["churn_probability"], abs=1e-4)
    assert p["tier"] == batch["tier"] and p["value_rank_pct"] == pytest.approx(batch["value_rank_pct"], abs=0.2)
    assert [d["name"] for d in p["drivers"]] == [d["name"] for d in batch["drivers"]]
    assert len(p["similar"]) == 5 and p["similar"][0]["customer_id"] == cid  # its twin is its nearest neighbour
    assert pd.Timestamp(out["cutoff"]) == pd.Timestamp(client.get("/v1/model", headers=A).json()["store_cutoff"])
    # Not written: the store does not know COLD1.
    is_problem(client.get("/v1/customers/COLD1", headers=A), 404)


def test_cold_start_new_customer_with_texts_and_write(client, ids):
    rows = {
        "customers": [{"customer_id": "NEW42", "signup_ts": "2025-09-01T08:00:00Z", "country": "DE"}],
        "orders": [
            {
                "order_id": f"N42-{i}",
                "customer_id": "NEW42",
                "order_ts": f"2025-1{i}-0{i + 1}T10:00:00Z",
                "amount": 60 + 10 * i,
                "category": "electronics",
            }
            for i in range(3)
        ],
        "reviews": [
            {
                "review_id": f"R42-{i}",
                "customer_id": "NEW42",
                "review_ts": f"2025-1{i}-1{i}T10:00:00Z",
                "rating": 5,
                "text": f"Great headphones {i}, call me on {PII_PHONE}",
            }
            for i in range(3)
        ],
        "events": [
            {
                "customer_id": "NEW42",
                "event_ts": f"2025-12-0{i + 1}T10:00:00Z",
                "event_type": "view",
                "text": f"wireless earbuds model {i}",
            }
            for i in range(7)
        ],
    }
    r = client.post("/v1/score", json={"tables": rows, "similar_k": 3}, headers=A)
    assert r.status_code == 200, r.text
    p = r.json()["profiles"][0]
    assert p["features"]["frequency"] == 3 and p["features"]["review_count"] == 3 and p["features"]["n_events"] == 7
    assert p["tier"] in ("VIP", "High", "Medium", "Low") and len(p["similar"]) == 3 and "7946" not in r.text
    assert r.json()["rows"] == {"customers": 1, "orders": 3, "reviews": 3, "events": 7}
    # Write needs admin; then the profile is served (and similar customers work) without a reload.
    assert client.post("/v1/score", json={"tables": rows, "write": True}, headers=A).status_code == 403
    w = client.post("/v1/score", json={"tables": rows, "write": True}, headers=ADM)
    assert w.status_code == 200 and w.json()["written"]
    got = client.get("/v1/customers/NEW42", headers=A).json()
    assert got["predicted_value"] == pytest.approx(p["predicted_value"], abs=0.01)
    assert len(client.get("/v1/customers/NEW42/similar?k=3", headers=A).json()["similar"]) == 3
    assert client.post(
        "/v1/ask", json={"customer_id": "NEW42", "question": "is she about to churn?"}, headers=A
    ).json()["check"]["passed"]


def test_an_id_typed_with_decomposed_accents_finds_the_stored_customer(client):
    """Stored ids are NFC (the input contract); a lookup with the same id in NFD (an accent typed as a combining mark)
    had been a 404 that showed the very id the agent saw (hostile probe, stop 29, F10)."""
    import unicodedata

    row = {"order_id": "CAFE-1", "customer_id": "Café-1", "order_ts": "2025-12-01T10:00:00Z", "amount": 40}
    assert client.post("/v1/score", json={"tables": {"orders": [row]}, "write": True}, headers=ADM).status_code == 200
    nfd = quote(unicodedata.normalize("NFD", "Café-1"), safe="")
    assert client.get(f"/v1/customers/{nfd}", headers=A).json()["customer_id"] == "Café-1"
    assert client.get(f"/v1/customers/{nfd}/similar?k=2", headers=A).status_code == 200
    asked = {"customer_id": unicodedata.normalize("NFD", "Café-1"), "question": "will she churn?"}
    assert client.post("/v1/ask", json=asked, headers=A).status_code == 200
    q = quote(unicodedata.normalize("NFD", "Café"), safe="")
    assert [c["customer_id"] for c in client.get(f"/v1/customers?q={q}", headers=A).json()["items"]] == ["Café-1"]


def test_a_kept_body_is_kept_under_the_stored_id_whichever_way_the_id_was_typed(app):
    """Bodies were kept under the id as typed, but a write drops the stored (NFC) id: the decomposed spelling went on
    showing the profile from before the write (web probe, stop 32, F4)."""
    import unicodedata

    snap = app.state.insight.acquire()
    try:
        nfd, nfc_ = unicodedata.normalize("NFD", "Zoë-9"), unicodedata.normalize("NFC", "Zoë-9")
        snap.cache_response(nfd, ("probe",), b"kept")
        assert snap.cached_response(nfc_, ("probe",)) == b"kept"  # one entry, the one a write of "Zoë-9" drops
    finally:
        snap.release()


def test_a_write_that_overlaps_a_reload_is_served_after_it(client, app):
    """An admin write whose request began before a reload swapped the snapshot went into the store after the
    reload's copy and into the retired snapshot: 200 "written", then 404 until the next reload. The write now lands in
    the snapshot being served (a reload and a write take turns)."""
    from service.api import services
    from service.api.schemas import ScoreRequest

    state = app.state.insight
    order = {"order_id": "RACE1", "customer_id": "RACE1", "order_ts": "2025-12-10T10:00:00Z", "amount": 40.0}
    request_snapshot = state.acquire()  # the write's request started here...
    try:
        assert client.post("/v1/admin/reload", headers=ADM).status_code == 200  # ...and a reload swapped meanwhile
        assert state.current() is not request_snapshot
        out = services.score(
            request_snapshot, state, ScoreRequest(tables={"orders": [order]}, write=True), app.state.settings
        )
        assert out.written
    finally:
        request_snapshot.release()
    assert client.get("/v1/customers/RACE1", headers=A).status_code == 200


def test_a_write_never_replaces_a_stored_profile_it_cannot_merge(client, ids):
    """Without --data the service has no history to merge a known customer's new rows with: a write of one new order
    had answered 200 "written" and replaced a VIP's profile with one built from that $1 order. (Rows holding their
    whole history are still written: tests/test_cold_start.py.)"""
    vip = ids["VIP"]
    before = client.get(f"/v1/customers/{vip}", headers=A).json()
    order = {"order_id": "ZZ1", "customer_id": vip, "order_ts": "2025-12-20T10:00:00Z", "amount": 1}
    r = client.post("/v1/score", json={"tables": {"orders": [order]}, "write": True}, headers=ADM)
    body = is_problem(r, 409)
    assert vip in body["detail"] and "--data" in body["detail"] and "write: false" in body["detail"]
    assert "(1 against" in body["detail"]
    assert client.get(f"/v1/customers/{vip}", headers=A).json() == before
    # the same id with padding, and as many rows as the stored purchases but all but one canceled: compared as stored
    stored = int(before["features"]["frequency"])
    padded = [{**order, "customer_id": f" {vip}\u3000"}]
    canceled = [
        {**order, "order_id": f"ZC{i}", "amount": 5, "status": "canceled" if i else "completed"}
        for i in range(stored + 1)
    ]
    for rows in (padded, canceled):
        r = client.post("/v1/score", json={"tables": {"orders": rows}, "write": True}, headers=ADM)
        assert "(1 against" in is_problem(r, 409)["detail"], rows
        assert client.get(f"/v1/customers/{vip}", headers=A).json() == before
    scored = client.post("/v1/score", json={"tables": {"orders": [order]}}, headers=ADM)  # scoring alone still works
    assert scored.status_code == 200 and scored.json()["profiles"][0]["known"] is True


def test_cold_start_rejects_bad_rows_with_the_batch_rules(client):
    def post(tables):
        return client.post("/v1/score", json={"tables": tables}, headers=A)

    o = {"order_id": "B1", "customer_id": "BAD1", "order_ts": "2025-10-01T10:00:00Z", "amount": 10}
    cases = [
        ({"orders": [{**o, "amount": -5}]}, "tables.orders[0].amount", "negative amount"),
        (
            {"orders": [o, {**o, "order_id": "B2", "order_ts": "yesterday"}]},
            "tables.orders[1].order_ts",
            "unparseable order_ts",
        ),
        (
            {
                "orders": [o],
                "reviews": [
                    {"review_id": "R1", "customer_id": "BAD1", "review_ts": "2025-10-02", "rating": 7, "text": "ok"}
                ],
            },
            "tables.reviews[0].rating",
            "rating outside 1-5",
        ),
        (
            {
                "orders": [o],
                "events": [{"customer_id": "OTHER", "event_ts": "2025-10-02", "event_type": "view", "text": "x"}],
            },
            "tables.events[0].customer_id",
            "unknown customer_id",
        ),
        ({"orders": [o, o]}, "tables.orders[1].order_id", "duplicate order_id"),
    ]
    for tables, field, message in cases:
        body = is_problem(post(tables), 422)
        assert body["errors"][0]["field"] == field and message in body["errors"][0]["message"], body
    body = is_problem(post({"orders": [{k: v for k, v in o.items() if k != "order_ts"}]}), 422)
    # A required column is required by the OpenAPI row schema itself (issue 12), so it is named per row.
    assert "order_ts" in body["detail"] and body["errors"][0]["field"] == "tables.orders[0].order_ts"
    assert is_problem(post({"orders": []}), 422)["errors"][0]["field"] == "tables.orders"
    assert is_problem(post({"orders": [o], "payments": [{}]}), 422)["errors"][0]["field"] == "tables.payments"
    assert is_problem(post({"orders": [{**o, "amount": {"nested": 1}}]}), 422)["errors"][0]["field"].startswith(
        "tables.orders[0].amount"
    )
    assert (
        is_problem(client.post("/v1/score", json={"tables": {"orders": [o]}, "cutoff": "someday"}, headers=A), 422)[
            "errors"
        ][0]["field"]
        == "cutoff"
    )
    # a write as of a day before the store's cutoff would serve a profile of an earlier date beside the others
    early = {"tables": {"orders": [{**o, "order_ts": "2024-05-01T10:00:00Z"}]}, "cutoff": "2024-06-01", "write": True}
    problem = is_problem(client.post("/v1/score", json=early, headers=ADM), 422)
    assert problem["errors"][0]["field"] == "cutoff" and "at or after the store's" in problem["detail"]
    assert client.get("/v1/customers/BAD1", headers=A).status_code == 404
    assert client.post("/v1/score", json={**early, "write": False}, headers=ADM).status_code == 200


def test_known_customer_new_activity_merges_history(api_dir, encoder, synth_dir, ids):
    d, _ = api_dir
    app = create_app(settings_for(d / "profiles.db", data_dir=synth_dir), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as c:
        cid = ids["Low"]
        before = c.get(f"/v1/customers/{cid}", headers=A).json()
        new = {"orders": [{"order_id": "MERGE1", "customer_id": cid, "order_ts": before["cutoff"], "amount": 250.0}]}
        r = c.post("/v1/score", json={"tables": new}, headers=A)
        assert r.status_code == 200, r.text
        p = r.json()["profiles"][0]
        assert p["known"] and p["history_merged"]
        assert p["features"]["frequency"] == before["features"]["frequency"] + 1 and p["features"]["recency_days"] == 0
        assert p["features"]["monetary_total"] == pytest.approx(before["features"]["monetary_total"] + 250.0, abs=0.01)
        # The what-if of "one more order today" is what scoring that order for real gives.
        w = c.post(
            "/v1/ask", json={"customer_id": cid, "question": "what would move them up a tier?"}, headers=A
        ).json()["what_if"]
        one = next(s for s in w["scenarios"] if s["key"] == "one_order")
        order = {"order_id": "MERGE2", "customer_id": cid, "order_ts": before["cutoff"], "amount": one["order_amount"]}
        real = c.post("/v1/score", json={"tables": {"orders": [order]}}, headers=A).json()["profiles"][0]
        assert real["predicted_value"] == pytest.approx(one["predicted_value"], abs=0.01)
        assert (
            real["churn_probability"] == pytest.approx(one["churn_probability"], abs=1e-3)
            and real["tier"] == one["tier"]
        )
        # Re-sending an order already in the history is a duplicate of the batch data.
        old = _rows_of(synth_dir, cid)["orders"][0]
        body = is_problem(c.post("/v1/score", json={"tables": {"orders": [old]}}, headers=A), 422)
        assert body["errors"][0]["field"] == "tables.orders[0].order_id" and "history" in body["errors"][0]["message"]


# ----------------------------------------------------------------------------- errors


def test_oversized_body_is_413(api_dir, encoder):
    app = create_app(settings_for(api_dir[0] / "profiles.db", api_max_body_bytes=2048), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as c:
        body = is_problem(c.post("/v1/ask", json={"customer_id": "C1", "question": "x" * 5000}, headers=A), 413)
        assert "2,048" in body["detail"]
        assert c.post("/v1/ask", json={"customer_id": "NOPE", "question": "why?"}, headers=A).status_code == 404


def test_unexpected_errors_are_500_problems_without_internals(client, monkeypatch, caplog):
    from service.api import services

    def boom(*a, **k):
        raise RuntimeError("secret internal state /etc/passwd")

    monkeypatch.setattr(services, "tiers", boom)
    r = client.get("/v1/tiers", headers=A)
    body = is_problem(r, 500)
    assert "secret" not in r.text and body["request_id"] in body["detail"]
    assert "secret internal state" in caplog.text  # the operator still sees it in the log


def test_unknown_route_and_method(client):
    assert "/v1" in is_problem(client.get("/v2/anything", headers=A), 404)["detail"]
    is_problem(client.delete("/v1/tiers", headers=A), 405)


# ----------------------------------------------------------------------------- contract and metrics


def test_openapi_describes_every_field_with_an_example(client):
    assert client.get("/openapi.json").status_code == 401
    spec = client.get("/openapi.json", headers=A).json()
    paths = spec["paths"]
    for p in (
        "/v1/customers/{customer_id}",
        "/v1/customers/{customer_id}/explanation",
        "/v1/customers/{customer_id}/similar",
        "/v1/ask",
        "/v1/score",
        "/v1/tiers",
        "/v1/model",
        "/v1/admin/reload",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert p in paths, p
    missing = []
    for name, schema in spec["components"]["schemas"].items():
        for prop, sub in schema.get("properties", {}).items():
            is_ref = "$ref" in json.dumps(sub)  # a model (or list of models): documented in its own schema
            if "description" not in sub:
                missing.append(f"{name}.{prop}: description")
            if not is_ref and "examples" not in sub and "example" not in sub:
                missing.append(f"{name}.{prop}: example")
    assert not missing, missing
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # 422s are problems
    assert {"ApiKey", "Bearer"} <= set(spec["components"]["securitySchemes"])
    assert "security" not in paths["/healthz"]["get"] and paths["/v1/tiers"]["get"]["security"]


def test_metrics(client, ids):
    client.get(f"/v1/customers/{ids['VIP']}", headers=A)
    client.post("/v1/ask", json={"customer_id": ids["VIP"], "question": "why is she VIP?"}, headers=A)
    text = client.get("/metrics", headers=A).text
    assert 'insight_http_requests_total{method="GET",route="/v1/customers/{customer_id}",status="200"}' in text
    assert "insight_http_request_duration_seconds_bucket" in text and 'insight_ask_total{intent="why_tier"}' in text
    assert 'insight_reloads_total{result="ok"}' in text and "insight_model_info{model_version=" in text
    assert AGENT not in text


# ----------------------------------------------------------------------------- reload


def test_reload_refuses_a_broken_bundle_and_keeps_serving(api_dir, encoder, trained, tmp_path, ids):
    bundle = tmp_path / "bundle"
    shutil.copytree(trained.out_dir, bundle)
    app = create_app(settings_for(api_dir[0] / "profiles.db", model_dir=bundle), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as c:
        version = c.get("/readyz").json()["model_version"]
        good = (bundle / "value.json").read_bytes()
        (bundle / "value.json").write_bytes(good[: len(good) // 2])
        body = is_problem(c.post("/v1/admin/reload", headers=ADM), 409)
        assert "checksum" in body["detail"] and version in body["detail"]
        assert c.get("/readyz").json()["model_version"] == version
        assert c.get(f"/v1/customers/{ids['VIP']}/explanation", headers=A).status_code == 200
        assert c.post(
            "/v1/ask", json={"customer_id": ids["Medium"], "question": "what would move them up?"}, headers=A
        ).json()["check"]["passed"]
        shutil.rmtree(bundle)
        assert "does not exist" in is_problem(c.post("/v1/admin/reload", headers=ADM), 409)["detail"]
        shutil.copytree(trained.out_dir, bundle)
        ok = c.post("/v1/admin/reload", headers=ADM)
        assert ok.status_code == 200 and ok.json()["model_version"] == version and ok.json()["snapshot"] == 4
        assert 'insight_reloads_total{result="refused"} 2.0' in c.get("/metrics", headers=A).text


def test_start_up_refuses_an_inconsistent_store(api_dir, tmp_path):
    from service.api.state import SnapshotError

    with pytest.raises(SnapshotError, match="does not exist"):
        create_app(settings_for(tmp_path / "missing.db"))
    store = tmp_path / "other.db"
    shutil.copy(api_dir[0] / "profiles.db", store)  # no index beside it
    with pytest.raises(SnapshotError, match="index"):
        create_app(settings_for(store))


def test_a_write_to_a_locked_store_is_503_with_retry_after_and_writes_nothing(client, api_dir):
    """Another process holding the store's write lock past SQLite's busy timeout (a batch re-score, a backup) had made
    the write a 500 with the database error in the log only."""
    import sqlite3

    order = {"order_id": "LOCK1", "customer_id": "LOCKED1", "order_ts": "2025-12-20T10:00:00Z", "amount": 30}
    holder = sqlite3.connect(api_dir[0] / "profiles.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        r = client.post("/v1/score", json={"tables": {"orders": [order]}, "write": True}, headers=ADM)
        body = is_problem(r, 503)
        assert r.headers["retry-after"] == "5" and "nothing was written" in body["detail"]
        assert str(api_dir[0]) not in body["detail"]  # the store's location is not told to clients
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert client.get("/v1/customers/LOCKED1", headers=A).status_code == 404
    r = client.post("/v1/score", json={"tables": {"orders": [order]}, "write": True}, headers=ADM)
    assert r.status_code == 200 and r.json()["written"] is True


def test_a_written_customer_is_no_longer_listed_as_known_without_orders(client, app):
    """The store's metadata lists customers with no order at the batch run; one an admin write has scored since had
    stayed listed there beside its new profile, also after a reload."""
    cid = sorted(app.state.insight.current().unscored)[0]
    order = {"order_id": "UNSC1", "customer_id": cid, "order_ts": "2025-12-20T10:00:00Z", "amount": 10}
    assert client.post("/v1/score", json={"tables": {"orders": [order]}, "write": True}, headers=ADM).status_code == 200
    for _ in range(2):
        found = client.get("/v1/customers", params={"q": cid}, headers=A).json()
        assert cid in [c["customer_id"] for c in found["items"]] and cid not in found["unscored_matches"]
        assert client.get(f"/v1/customers/{cid}", headers=A).status_code == 200
        assert client.post("/v1/admin/reload", headers=ADM).status_code == 200
