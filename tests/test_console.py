"""The agent console in-process (TestClient): sign-in with an API key, session cookie flags, CSRF, search, the customer
page's stable accessible names, asking, sign-out, /docs, offline assets, and customers known without orders."""

from __future__ import annotations

import logging
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings
from service.console.routes import COOKIE
from service.store import index_dir

AGENT = "console-agent-key-5c1d2e"
A = {"X-API-Key": AGENT}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def app(scored, encoder, tmp_path_factory):
    d = tmp_path_factory.mktemp("console")
    shutil.copy(scored.store, d / "profiles.db")
    shutil.copytree(index_dir(scored.store), index_dir(d / "profiles.db"))
    return create_app(
        ApiSettings(store=str(d / "profiles.db"), api_keys=SecretStr(f"{AGENT}:agent"), api_preload_encoder=False),
        encoder=encoder,
    )


@pytest.fixture(scope="module")
def client(app):
    # One client for the module: leaving a TestClient's context shuts the app down (its snapshot is closed).
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture()
def anon(client):
    client.cookies.clear()
    yield client
    client.cookies.clear()


@pytest.fixture()
def signed(client):
    client.cookies.clear()
    r = client.post("/console/sign-in", data={"api_key": AGENT, "next": "/console/customers"}, follow_redirects=False)
    assert r.status_code == 303
    yield client
    client.cookies.clear()


@pytest.fixture(scope="module")
def vip(scored):
    f = scored.frame
    return f.loc[f["tier"] == "VIP"].sort_values("predicted_value", ascending=False)["customer_id"].iloc[0]


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_pages_with_data_need_a_session(anon, vip):
    for path in ("/console/customers", f"/console/customers/{vip}", "/console/customers?q=C0"):
        r = anon.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/sign-in?next=%2Fconsole%2Fcustomers")
        assert "is in the VIP tier" not in anon.get(path).text and "Predicted spend" not in anon.get(path).text
    r = anon.get("/console/customers", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/console/sign-in")
    assert (
        anon.post(f"/console/customers/{vip}/ask", data={"question": "why?"}, follow_redirects=False).status_code == 303
    )
    assert anon.get("/", follow_redirects=False).headers["location"] == "/console"


def test_sign_in_page_names_and_headers(anon):
    r = anon.get("/console/sign-in")
    assert r.status_code == 200
    assert (
        re.search(r'<label for="api_key">API key</label>', r.text)
        and 'id="api_key"' in r.text
        and 'type="password"' in r.text
    )
    assert re.search(r"<button[^>]*>Sign in</button>", r.text)
    assert "default-src 'self'" in r.headers["content-security-policy"] and r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_wrong_key_is_refused_and_never_echoed_or_logged(anon, caplog):
    caplog.set_level(logging.DEBUG)
    r = anon.post(
        "/console/sign-in", data={"api_key": "guess-31337", "next": "/console/customers"}, follow_redirects=False
    )
    assert (
        r.status_code == 401
        and "That API key is not valid." in r.text
        and COOKIE not in r.headers.get("set-cookie", "")
    )
    assert "guess-31337" not in r.text and "guess-31337" not in caplog.text
    r = anon.post("/console/sign-in", data={"api_key": AGENT}, follow_redirects=False)
    assert (
        AGENT not in caplog.text and AGENT not in r.headers.get("location", "") and AGENT not in r.headers["set-cookie"]
    )


def test_session_cookie_is_httponly_strict_and_next_is_local(anon):
    r = anon.post("/console/sign-in", data={"api_key": AGENT, "next": "//evil.example/x"}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert r.status_code == 303 and r.headers["location"] == "/console/customers"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert AGENT not in cookie
    r = anon.post(
        "/console/sign-in", data={"api_key": AGENT}, headers={"Origin": "http://evil.example"}, follow_redirects=False
    )
    assert r.status_code == 403


def test_search(signed, scored, vip):
    r = signed.get(f"/console/customers?q={vip[:5].lower()}&tier=VIP")
    assert r.status_code == 200
    assert re.search(r'<label for="q">Search customers</label>', r.text)
    ids = re.findall(r'<a href="/console/customers/([^"]+)">([^<]+)</a>', r.text)
    assert ids and all(i == t for i, t in ids) and vip in [i for i, _ in ids]
    f = scored.frame
    expected = f[(f["tier"] == "VIP") & f["customer_id"].str.lower().str.startswith(vip[:5].lower())]
    assert f"{len(expected):,} customer" in r.text
    frag = signed.get(
        "/console/customers?sort=churn&order=desc", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert frag.status_code == 200 and "<html" not in frag.text and "<table" in frag.text


def test_customer_page_has_the_stable_accessible_names(signed, vip):
    r = signed.get(f"/console/customers/{vip}")
    assert r.status_code == 200
    h1 = re.search(r"<h1>(.*?)</h1>", r.text, re.S).group(1)
    assert vip in h1 and "VIP" in h1
    for region in ("Explanation", "Drivers", "Answer"):
        m = re.search(rf'<section aria-labelledby="([\w-]+)"[^>]*>\s*<h[23] id="\1">{region}</h[23]>', r.text)
        assert m, region
    drivers = r.text.split('id="drivers-title">Drivers</h2>')[1].split("</section>")[0]
    assert "<svg" in drivers and 'role="img"' in drivers and "<title" in drivers
    assert re.search(r'<label for="question">Ask about this customer</label>', r.text)
    assert re.search(r'<button type="submit">Ask</button>', r.text)
    assert f"Customer {vip} is in the VIP tier" in r.text and "Suggested next action" in r.text
    assert "Similar customers" in r.text and "What would move them up" in r.text


def test_ask_needs_the_csrf_token(signed, vip):
    page = signed.get(f"/console/customers/{vip}").text
    r = signed.post(f"/console/customers/{vip}/ask", data={"question": "is she happy?"})
    assert r.status_code == 403
    r = signed.post(
        f"/console/customers/{vip}/ask",
        data={"question": "is she happy?", "csrf_token": csrf(page)},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    r = signed.post(
        f"/console/customers/{vip}/ask",
        data={"question": "is she happy?", "csrf_token": csrf(page)},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "You asked: is she happy?" in r.text and "Facts used (satisfaction" in r.text
    r = signed.post(
        f"/console/customers/{vip}/ask",
        data={"question": "how much did they spend last year?"},
        headers={"X-CSRF-Token": csrf(page)},
    )
    assert (
        r.status_code == 200 and "<h1>" in r.text and "calendar year" in r.text
    )  # no JavaScript: the whole page with the answer


def test_sign_out_ends_the_session(signed, vip):
    page = signed.get("/console/customers").text
    r = signed.post("/console/sign-out", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert r.status_code == 303 and f"{COOKIE}=" in r.headers["set-cookie"]
    assert signed.get("/console/customers", follow_redirects=False).status_code == 303


def test_docs_and_assets_are_served_locally(anon):
    r = anon.get("/docs")
    assert (
        r.status_code == 200
        and "/console/static/vendor/swagger-ui-bundle.js" in r.text
        and 'id="docs-api-key"' in r.text
    )
    assert anon.get("/openapi.json").status_code == 401
    for asset in (
        "vendor/htmx.min.js",
        "vendor/swagger-ui-bundle.js",
        "vendor/swagger-ui.css",
        "console.css",
        "docs.js",
    ):
        assert anon.get(f"/console/static/{asset}").status_code == 200, asset
    here = ROOT / "service" / "console"
    for path in [
        *here.glob("templates/*.html"),
        here / "static" / "console.css",
        here / "static" / "docs.js",
        here / "charts.py",
    ]:
        text = path.read_text()
        urls = [u for u in re.findall(r"https?://[^\s\"')]+", text) if u != "http://www.w3.org/2000/svg"]
        assert not urls, (path, urls)


def test_package_data_ships_templates_and_static():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"templates/*.html", "static/*.css", "static/*.js", "static/vendor/*"} <= set(data["service.console"])
    assert "*.toml" in data["prompts"]


def test_customers_without_orders_get_a_reason(signed, app, scored):
    snap = app.state.insight.current()
    assert snap.unscored, "the synthetic data has customers with browsing but no orders"
    cid = sorted(snap.unscored)[0]
    r = signed.get(f"/console/customers/{cid}")
    assert r.status_code == 404 and "known, no orders yet, so not scored" in r.text
    c = signed
    body = c.get(f"/v1/customers/{cid}", headers=A).json()
    assert body["status"] == 404 and body["detail"] == f"customer {cid!r} is known, no orders yet, so not scored"
    assert c.get("/v1/customers/NOPE", headers=A).json()["detail"] == "customer 'NOPE' is not in the profile store"
    found = c.get(f"/v1/customers?q={cid}", headers=A).json()
    assert found["total"] == 0 and found["unscored_matches"] == [cid]


def test_cli_explains_why_a_customer_without_orders_has_no_profile(scored, app):
    from typer.testing import CliRunner

    from service.cli import app as cli

    cid = sorted(app.state.insight.current().unscored)[0]
    res = CliRunner().invoke(cli, ["explain", cid, "--store", str(scored.store)])
    assert res.exit_code == 2 and "known, no orders yet, so not scored" in res.output
    res = CliRunner().invoke(cli, ["explain", "NOPE", "--store", str(scored.store)])
    assert res.exit_code == 2 and "not in the store" in res.output


def test_console_says_a_near_certain_chance_without_rounding_it_to_a_certainty():
    from service.console.rendering import env

    pct = env.filters["pct"]
    assert [pct(x) for x in (None, 0.003, 0.31, 0.997)] == ["", "under 1%", "31%", "over 99%"]


def test_an_unknown_console_address_is_a_page_not_the_apis_json(signed):
    r = signed.get("/console/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text and "Back to the customer search" in r.text
    assert signed.get("/console/static/no-such.css").status_code == 404  # assets keep their own 404
    assert signed.get("/v1/no-such").headers["content-type"] == "application/problem+json"


def test_an_id_longer_than_any_customer_id_is_not_cut_to_another_customer(signed, vip):
    """The console cut ids at 128 characters, so '<a 128-character id>-SOMEONE-ELSE' showed that customer (the API
    answers 404 for it): the page, the ask form and the ask address."""
    from service.table_schema import ID_MAX_CHARS

    page = signed.get(f"/console/customers/{vip}").text
    longer = vip + "X" * (ID_MAX_CHARS - len(vip)) + "-SOMEONE-ELSE"
    r = signed.get(f"/console/customers/{longer}")
    assert r.status_code == 404 and "not in the profile store" in r.text and "SOMEONE-ELSE" not in r.text
    r = signed.post(f"/console/customers/{longer}/ask", data={"question": "is she happy?", "csrf_token": csrf(page)})
    assert r.status_code == 404 and "not in the profile store" in r.text
    r = signed.get(f"/console/customers/{longer}/ask", follow_redirects=False)
    assert r.status_code == 303 and "SOMEONE-ELSE" in r.headers["location"]


def test_a_control_character_in_a_question_is_not_echoed_into_the_page(signed, vip):
    page = signed.get(f"/console/customers/{vip}").text
    r = signed.post(
        f"/console/customers/{vip}/ask",
        data={"question": "is she\x00 happy\x1b[31m?", "csrf_token": csrf(page)},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "\x00" not in r.text and "\x1b" not in r.text and "happy" in r.text


def test_a_customer_whose_id_ends_in_ask_opens_their_own_page(signed, vip):
    """Ids may hold '/': the console link of customer '<vip>/ask' had redirected to <vip>'s page, another customer's
    (hostile probe, stop 29, F9). The answer page's own address still goes back to its customer."""
    from service.console.rendering import customer_url

    other = signed.get(customer_url(vip + "/ask"), follow_redirects=False)
    assert other.status_code != 303 and f"{vip}/ask" in other.text
    back = signed.get(f"/console/customers/{vip}/ask", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == customer_url(vip)


def test_a_question_being_answered_does_not_hold_up_other_requests(signed, vip, monkeypatch):
    # The console's ask route had answered on the event loop: while a narrator waited on an LLM, every agent, the API
    # and /healthz waited too (a probe's finding). The answer here waits until /healthz has been served; on the event
    # loop it could not be, and the wait would run out.
    import threading

    from service.api import services

    started, release, ran_out = threading.Event(), threading.Event(), []
    real = services.ask

    def answer_that_waits(*args, **kwargs):
        started.set()
        if not release.wait(timeout=20):
            ran_out.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "ask", answer_that_waits)
    token = csrf(signed.get(f"/console/customers/{vip}").text)
    asked: dict = {}
    worker = threading.Thread(
        target=lambda: asked.setdefault(
            "r", signed.post(f"/console/customers/{vip}/ask", data={"question": "is she happy?", "csrf_token": token})
        )
    )
    worker.start()
    assert started.wait(timeout=20)
    health = signed.get("/healthz")
    release.set()
    worker.join(timeout=60)
    assert health.status_code == 200 and not ran_out
    assert asked["r"].status_code == 200
