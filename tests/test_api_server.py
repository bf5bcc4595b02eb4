"""A real `insight serve` process on a loopback port, spoken to over HTTP: auth, explanation, ask, cold-start scoring,
a chunked oversized body, SIGHUP reload and a clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.store import index_dir

AGENT, ADMIN = "srv-agent-3b1f0c", "srv-admin-9e2d4a"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _insight() -> list[str]:
    script = Path(sys.executable).parent / "insight"
    return [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]


@pytest.fixture(scope="module")
def server(scored, tmp_path_factory):
    d = tmp_path_factory.mktemp("serve")
    store = d / "profiles.db"
    shutil.copy(scored.store, store)
    shutil.copytree(index_dir(scored.store), index_dir(store))
    port = _free_port()
    env = {
        **os.environ,
        "INSIGHT_API_KEYS": f"{AGENT}:agent,{ADMIN}:admin",
        "INSIGHT_API_MAX_BODY_BYTES": "65536",
        "INSIGHT_API_PRELOAD_ENCODER": "false",
        "INSIGHT_CACHE_DIR": str(d / "cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    log = open(d / "server.log", "wb")
    proc = subprocess.Popen(
        _insight() + ["serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            log.close()
            pytest.fail(f"insight serve exited with {proc.returncode}: {(d / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("insight serve did not become ready in 120 s")
    yield {"base": base, "proc": proc, "log": d / "server.log", "store": store}
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    log.close()


def test_serves_grounded_explanations_over_http(server, scored):
    base = server["base"]
    vip = scored.frame.sort_values("predicted_value", ascending=False)["customer_id"].iloc[0]
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{base}/v1/customers/{vip}/explanation")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    r = httpx.get(f"{base}/v1/customers/{vip}/explanation", headers={"X-API-Key": AGENT})
    assert r.status_code == 200
    e = r.json()
    assert (
        e["tier"] == "VIP"
        and e["check"]["passed"]
        and f"Customer {vip} is in the VIP tier" in e["narrative"]
        and e["drivers"]
    )
    # The first question loads the sentence encoder the router uses (preloading is off here): allow for it.
    a = httpx.post(
        f"{base}/v1/ask",
        json={"customer_id": vip, "question": "is she about to churn?"},
        headers={"X-API-Key": AGENT},
        timeout=180,
    )
    assert a.status_code == 200 and a.json()["intent"] == "churn" and a.json()["check"]["passed"]
    assert (
        httpx.get(f"{base}/v1/customers/{vip}/similar?k=3", headers={"Authorization": f"Bearer {AGENT}"}).status_code
        == 200
    )
    assert "x-request-id" in r.headers and "server" not in r.headers
    # customer data is never kept by a cache or proxy (the console's pages said so; the API's had not)
    assert r.headers["cache-control"] == "no-store" and a.headers["cache-control"] == "no-store"


def test_cold_start_scoring_over_http(server):
    body = {
        "tables": {
            "orders": [{"order_id": "S1", "customer_id": "SRV1", "order_ts": "2025-11-20T10:00:00Z", "amount": 95.0}],
            "reviews": [
                {
                    "review_id": "SR1",
                    "customer_id": "SRV1",
                    "review_ts": "2025-11-25T10:00:00Z",
                    "rating": 4,
                    "text": "Solid kettle, quick delivery.",
                }
            ],
        }
    }
    r = httpx.post(f"{server['base']}/v1/score", json=body, headers={"X-API-Key": AGENT}, timeout=120)
    assert r.status_code == 200, r.text
    p = r.json()["profiles"][0]
    assert p["customer_id"] == "SRV1" and p["features"]["frequency"] == 1 and not r.json()["written"]


def test_oversized_chunked_body_is_refused(server):
    def chunks():
        for _ in range(40):
            yield b"x" * 4096  # no Content-Length: the server counts while reading

    r = httpx.post(
        f"{server['base']}/v1/ask", content=chunks(), headers={"X-API-Key": AGENT, "content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["title"] == "Request body too large"


def test_sighup_reloads_and_sigterm_stops(server):
    base, proc = server["base"], server["proc"]
    h = {"X-API-Key": AGENT}

    def reloads() -> float:
        for line in httpx.get(f"{base}/metrics", headers=h).text.splitlines():
            if line.startswith('insight_reloads_total{result="ok"}'):
                return float(line.split()[-1])
        return 0.0

    before = reloads()
    proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 30
    while reloads() < before + 1 and time.time() < deadline:
        time.sleep(0.2)
    assert reloads() == before + 1
    assert httpx.get(f"{base}/readyz").status_code == 200
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal: exit status 0 or -SIGTERM.
    assert proc.wait(20) in (0, -signal.SIGTERM)
    log = server["log"].read_text()
    assert AGENT not in log and ADMIN not in log and "Traceback" not in log
    assert "snapshot 2 serving" in log and "snapshot 2 closed" in log and "Application shutdown complete" in log
