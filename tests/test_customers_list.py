"""GET /v1/customers: id prefix (case-insensitive), tier, RFM segment, churn band, sorting and pagination."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings
from service.playbook import get_playbook
from service.store import index_dir

KEY = "list-agent-key-0a9b"
H = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def client(scored, encoder, tmp_path_factory):
    d = tmp_path_factory.mktemp("list")
    shutil.copy(scored.store, d / "profiles.db")
    shutil.copytree(index_dir(scored.store), index_dir(d / "profiles.db"))
    app = create_app(
        ApiSettings(store=str(d / "profiles.db"), api_keys=SecretStr(f"{KEY}:agent"), api_preload_encoder=False),
        encoder=encoder,
    )
    with TestClient(app) as c:
        yield c


def test_filters_sort_and_pages_match_the_store(client, scored):
    f = scored.frame
    pb = get_playbook()
    band = f["churn_probability"].map(pb.band)
    seg = f["rfm_segment"].iloc[0]
    r = client.get(
        f"/v1/customers?tier=High&segment={seg.lower()}&churn_band=medium&sort=churn&order=asc&page_size=7", headers=H
    ).json()
    want = f[(f["tier"] == "High") & (f["rfm_segment"] == seg) & (band == "medium")].sort_values("churn_probability")
    assert r["total"] == len(want) and r["pages"] == max(-(-len(want) // 7), 1)
    assert [x["customer_id"] for x in r["items"]] == want["customer_id"].tolist()[:7]
    assert all(x["churn_band"] == "medium" and x["tier"] == "High" for x in r["items"])
    top = client.get("/v1/customers?page_size=3", headers=H).json()
    assert [x["customer_id"] for x in top["items"]] == f.sort_values("predicted_value", ascending=False)[
        "customer_id"
    ].tolist()[:3]
    assert top["total"] == len(f)
    p2 = client.get("/v1/customers?page_size=3&page=2", headers=H).json()
    assert [x["customer_id"] for x in p2["items"]] == f.sort_values("predicted_value", ascending=False)[
        "customer_id"
    ].tolist()[3:6]


def test_id_prefix_is_case_insensitive(client, scored):
    cid = scored.frame["customer_id"].iloc[5]
    prefix = cid[:-1].lower()
    r = client.get(f"/v1/customers?q={prefix}&sort=id&order=asc&page_size=100", headers=H).json()
    want = sorted(c for c in scored.frame["customer_id"] if c.lower().startswith(prefix))
    assert [x["customer_id"] for x in r["items"]] == want and cid in want
    assert client.get("/v1/customers?q=zzz-nobody", headers=H).json()["total"] == 0


def test_bad_parameters_are_422_and_the_key_is_required(client):
    for bad in ("tier=Gold", "churn_band=extreme", "sort=name", "page=0", "page_size=101"):
        r = client.get(f"/v1/customers?{bad}", headers=H)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), bad
    assert client.get("/v1/customers").status_code == 401
