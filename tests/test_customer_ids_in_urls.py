"""Customer ids that the input contract allows but a URL treats specially ('/', '#', '?', '%', a space) reach their
profile through the API and the console: the API takes them percent-encoded, the console quotes them in every link
and form, and the address an answer page shows leads back to the customer when opened again."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings

AGENT = "url-ids-agent-key"
H = {"X-API-Key": AGENT}
# ... and ".." (a browser resolves a path segment of dots away: the console's link had led to /console/; probe, stop 30)
RENAMED = {
    "C000001": "A/1", "C000002": "B#2", "C000003": "C?3", "C000004": "D%4", "C000005": "E 5", "C000006": "F/g/h",
    "C000007": "..",
}  # fmt: skip


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("url-ids")
    tables = generate(300, seed=41)
    for name in ("customers", "orders", "reviews", "events"):
        tables[name] = tables[name].assign(customer_id=tables[name]["customer_id"].replace(RENAMED))
    write_tables(tables, d / "data")
    train(d / "data", d / "model", TrainOptions(seed=1, text_sources=()))
    res = score(d / "data", d / "model", d / "p.db")
    assert set(RENAMED.values()) <= set(res.frame["customer_id"])
    settings = ApiSettings(store=str(d / "p.db"), api_keys=SecretStr(f"{AGENT}:agent"), api_preload_encoder=False)
    app = create_app(settings)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("cid", list(RENAMED.values()))
def test_the_api_serves_every_id_percent_encoded(client, cid):
    q = quote(cid, safe="") if cid != ".." else "%2E%2E"  # dots encoded too, or the client resolves them away
    assert client.get(f"/v1/customers/{q}", headers=H).json()["customer_id"] == cid
    assert client.get(f"/v1/customers/{q}?top=3", headers=H).json()["customer_id"] == cid  # the declared route too
    assert client.get(f"/v1/customers/{q}/explanation", headers=H).json()["customer_id"] == cid
    r = client.get(f"/v1/customers/{q}/similar", headers=H)
    assert r.status_code == 200 and r.json()["customer_id"] == cid


def sign_in(client) -> None:
    client.cookies.clear()
    r = client.post("/console/sign-in", data={"api_key": AGENT, "next": "/console/customers"}, follow_redirects=False)
    assert r.status_code == 303


@pytest.mark.parametrize("cid", list(RENAMED.values()))
def test_the_console_links_forms_and_answer_address_keep_the_id_whole(client, cid):
    sign_in(client)
    results = client.get("/console/customers", params={"q": cid}).text
    links = re.findall(r'<th scope="row"><a href="([^"]+)">', results)
    quoted = quote(cid, safe="") if cid != ".." else "%2E%2E"
    assert links == [f"/console/customers/{quoted}"], links
    page = client.get(links[0])
    assert page.status_code == 200 and f"<h1>{cid}" in page.text.replace("&#39;", "'").replace("&amp;", "&")
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(action, data={"question": "why is this customer in their tier?", "csrf_token": token})
    assert answer.status_code == 200 and "is not in the profile store" not in answer.text
    back = client.get(action, follow_redirects=False)  # the answer page's address, reloaded or bookmarked
    assert back.status_code == 303 and back.headers["location"] == links[0]


def test_the_sign_in_round_trip_keeps_the_id(client):
    client.cookies.clear()
    target = f"/console/customers/{quote('B#2', safe='')}"
    r = client.get(target, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(
        "/console/sign-in",
        data={"api_key": AGENT, "next": parse_qs(urlsplit(r.headers["location"]).query)["next"][0]},
        follow_redirects=False,
    )
    assert r.headers["location"] == target


def test_an_id_of_dots_is_linked_with_its_dots_encoded():
    from service.console.rendering import customer_url

    assert (customer_url("."), customer_url(".."), customer_url("a.b")) == (
        "/console/customers/%2E",
        "/console/customers/%2E%2E",
        "/console/customers/a.b",
    )
