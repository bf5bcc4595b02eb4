"""The agents' hot reads: the shortcut route for a plain valid GET answers exactly what the declared route answers,
every other shape (bearer, ?top=, missing or wrong key, an id too long) still gets the declared route's answer, bodies
kept per snapshot are dropped when an admin write changes the customer, and contact data stays masked in kept bodies."""

from __future__ import annotations

import shutil
import threading

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api import services
from service.api.app import create_app
from service.api.settings import ApiSettings
from service.ask import explain_stored
from service.store import ProfileStore, index_dir

AGENT, ADMIN = "hot-agent-5c1e9b", "hot-admin-0a7d3f"
A = {"X-API-Key": AGENT}
PII_EMAIL = "sam.jones@example.org"


def _settings(store, **kw) -> ApiSettings:
    return ApiSettings(
        store=str(store), api_keys=SecretStr(f"{AGENT}:agent,{ADMIN}:admin"), api_preload_encoder=False, **kw
    )


@pytest.fixture(scope="module")
def hot(scored, tmp_path_factory):
    d = tmp_path_factory.mktemp("hot")
    store = d / "profiles.db"
    shutil.copy(scored.store, store)
    shutil.copytree(index_dir(scored.store), index_dir(store))
    ps = ProfileStore(store)
    cid = next(
        c
        for c in scored.frame.sort_values("predicted_value", ascending=False)["customer_id"]
        if any(e["source"].startswith("review") for e in ps.get(c)["profile"]["evidence"])
    )
    row = ps.get(cid)
    row["profile"]["evidence"][0] = {**row["profile"]["evidence"][0], "text": f"Lovely, mail me at {PII_EMAIL} please."}
    ps.upsert([row])
    ps.close()
    return store, cid


@pytest.mark.parametrize("cache", [20_000, 0])
def test_shortcut_answers_as_the_declared_route(hot, encoder, cache):
    store, cid = hot
    app = create_app(_settings(store, api_response_cache=cache), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as c:
        snap = app.state.insight.current()
        expected = services.customer(snap, cid, True, 5).model_dump(mode="json")
        for _ in range(2):  # a miss, then (with the cache on) a hit
            fast = c.get(f"/v1/customers/{cid}", headers=A)
            assert fast.status_code == 200 and fast.headers["content-type"] == "application/json"
            assert fast.json() == expected
        declared = c.get(f"/v1/customers/{cid}?top=5", headers=A)
        assert declared.json() == expected and declared.content == fast.content
        assert c.get(f"/v1/customers/{cid}", headers={"Authorization": f"Bearer {AGENT}"}).json() == expected
        assert len(c.get(f"/v1/customers/{cid}?top=2", headers=A).json()["drivers"]) == 2
        # Masked, as everywhere: the kept body too.
        assert PII_EMAIL not in fast.text
        # The same explanation as `insight explain --json`, masked.
        cli = explain_stored(cid, store, app.state.narrator, mask=True).model_dump(mode="json")
        for _ in range(2):
            e = c.get(f"/v1/customers/{cid}/explanation", headers=A)
            assert e.status_code == 200 and e.json() == cli and PII_EMAIL not in e.text
        # Every other shape: the declared route's problems.
        for headers, status in (({}, 401), ({"X-API-Key": "nope"}, 401), ({"X-API-Key": ""}, 401)):
            for path in (f"/v1/customers/{cid}", f"/v1/customers/{cid}/explanation"):
                r = c.get(path, headers=headers)
                assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json")
                assert "www-authenticate" in r.headers
        r = c.get("/v1/customers/NOPE-404", headers=A)
        assert r.status_code == 404 and r.json()["type"] == "/problems/unknown-customer"
        r = c.get("/v1/customers/NOPE-404/explanation", headers=A)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        r = c.get(f"/v1/customers/{'x' * 129}", headers=A)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        metrics = c.get("/metrics", headers=A).text
        assert (
            'insight_auth_failures_total{reason="missing"}' in metrics
            and 'insight_auth_failures_total{reason="unknown"}' in metrics
        )


def test_admin_write_drops_the_kept_bodies(hot, encoder, synth_dir):
    store, cid = hot
    # with the batch tables, so the known customer's history is merged (a write that cannot merge is refused)
    app = create_app(_settings(store, data_dir=synth_dir), encoder=encoder)
    with TestClient(app, raise_server_exceptions=False) as c:
        before = c.get(f"/v1/customers/{cid}", headers=A).json()
        c.get(f"/v1/customers/{cid}/explanation", headers=A)
        body = {
            "write": True,
            "tables": {
                "orders": [
                    {"order_id": "HOT-1", "customer_id": cid, "order_ts": "2025-12-30T10:00:00Z", "amount": 12.5}
                ]
            },
        }
        r = c.post("/v1/score", json=body, headers={"X-API-Key": ADMIN})
        assert r.status_code == 200 and r.json()["written"], r.text
        after = c.get(f"/v1/customers/{cid}", headers=A).json()
        scored_now = r.json()["profiles"][0]
        assert {k: scored_now[k] for k in after} == after  # what the write stored, not the body kept before it
        assert after["features"] != before["features"]
        e = c.get(f"/v1/customers/{cid}/explanation", headers=A).json()
        assert e["predicted_value"] == after["predicted_value"]


def test_prewarm_keeps_the_most_valuable_bodies(hot, encoder, scored):
    store, _ = hot
    app = create_app(_settings(store, api_prewarm=5), encoder=encoder)
    snap = app.state.insight.current()
    top5 = set(sorted(snap.roster, key=lambda c: -snap.roster[c][1])[:5])
    # Wait for the prewarm thread itself: a customer appears in _responses before both of its bodies are in.
    for t in threading.enumerate():
        if t.name == "bodies-prewarm":
            t.join(timeout=60)
    assert set(snap._responses) == top5 and all(len(v) == 2 for v in snap._responses.values())
    with TestClient(app, raise_server_exceptions=False) as c:
        cid = next(iter(top5))
        assert c.get(f"/v1/customers/{cid}", headers=A).content == snap._responses[cid][("profile", 5, True)]


def test_a_serving_app_keeps_its_long_lived_objects_out_of_full_collections(hot, encoder):
    # `insight serve` apps (settle_heap) freeze what is alive after a load, so a full collection no longer walks the
    # libraries and the snapshot (a ~275 ms pause under load); a reload unfreezes first, so the replaced snapshot is
    # still collected rather than kept for good.
    import gc
    import weakref

    store, cid = hot
    gc.unfreeze()
    try:
        app = create_app(_settings(store, api_prewarm=0), encoder=encoder, settle_heap=True)
        assert gc.get_freeze_count() > 10_000
        first = app.state.insight.current()
        gone = weakref.ref(first)
        with TestClient(app, raise_server_exceptions=False) as c:
            assert c.get(f"/v1/customers/{cid}", headers=A).status_code == 200
            r = c.post("/v1/admin/reload", headers={"X-API-Key": ADMIN})
            assert r.status_code == 200, r.text
            assert app.state.insight.current() is not first
            del first
            # the next settle (here: another reload's) collects the replaced snapshot, frozen or not
            assert c.post("/v1/admin/reload", headers={"X-API-Key": ADMIN}).status_code == 200
            assert gone() is None
            assert gc.get_freeze_count() > 10_000
        # an app that does not own its process (tests, embedding in another service) leaves the collector alone
        gc.unfreeze()
        create_app(_settings(store, api_prewarm=0), encoder=encoder)
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
