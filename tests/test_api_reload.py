"""Reload without downtime: while clients hammer the API, the store and model are swapped back and forth between two
versions (and one broken reload is refused); no request fails and none sees the model of one version with the store of
the other."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings
from service.store import ProfileStore, index_dir, store_meta

AGENT, ADMIN = "agent-reload-key-1", "admin-reload-key-2"


@pytest.fixture(scope="module")
def versions(scored, trained, tmp_path_factory, relabelled_copy):
    d = tmp_path_factory.mktemp("reload")
    a = relabelled_copy(Path(scored.store), trained.out_dir, d / "a", None, "2026-01-01T00:00:00+00:00")
    b = relabelled_copy(
        Path(scored.store), trained.out_dir, d / "b", "2099-12-31-bbbbbbbbbb", "2026-02-02T00:00:00+00:00"
    )
    live = d / "live" / "profiles.db"
    live.parent.mkdir()
    shutil.copy(a[0], live)
    shutil.copytree(index_dir(scored.store), index_dir(live))
    broken = d / "broken" / "profiles.db"
    broken.parent.mkdir()
    shutil.copy(a[0], broken)
    ps = ProfileStore(broken)
    with ps.engine.begin() as con:
        con.execute(store_meta.update().where(store_meta.c.key == "model_dir").values(value=str(d / "no-such-bundle")))
    ps.close()
    return {"A": a, "B": b, "live": live, "broken": broken, "snapdir": d / "snapshots"}


def _swap_in(src: Path, live: Path) -> None:
    tmp = live.with_suffix(".incoming")
    shutil.copy(src, tmp)
    os.replace(tmp, live)


def test_reload_under_traffic(versions, encoder, scored):
    (store_a, va), (store_b, vb) = versions["A"], versions["B"]
    pairs = {va: "2026-01-01T00:00:00+00:00", vb: "2026-02-02T00:00:00+00:00"}
    settings = ApiSettings(
        store=str(versions["live"]),
        api_keys=SecretStr(f"{AGENT}:agent,{ADMIN}:admin"),
        api_preload_encoder=False,
        api_snapshot_dir=versions["snapdir"],
    )
    app = create_app(settings, encoder=encoder)
    ids = scored.frame.sort_values("predicted_value")["customer_id"].iloc[::400].tolist()
    failures: list[str] = []
    served = {"n": 0}
    seen_versions: set[str] = set()
    stop = threading.Event()
    h = {"X-API-Key": AGENT}

    def client_loop(c: TestClient, worker: int) -> None:
        i = 0
        while not stop.is_set():
            cid = ids[(i + worker) % len(ids)]
            i += 1
            try:
                m = c.get("/v1/model", headers=h)
                if m.status_code != 200 or pairs.get(m.json()["model_version"]) != m.json()["store_scored_at"]:
                    failures.append(f"model {m.status_code} {m.text[:200]}")
                p = c.get(f"/v1/customers/{cid}", headers=h)
                if p.status_code != 200 or p.json()["model_version"] not in pairs:
                    failures.append(f"profile {p.status_code} {p.text[:200]}")
                else:
                    seen_versions.add(p.json()["model_version"])
                e = c.get(f"/v1/customers/{cid}/explanation", headers=h)
                if e.status_code != 200 or not e.json()["check"]["passed"]:
                    failures.append(f"explanation {e.status_code} {e.text[:200]}")
                a = c.post(
                    "/v1/ask", json={"customer_id": cid, "question": "what would move them up a tier?"}, headers=h
                )
                if a.status_code != 200 or not a.json()["check"]["passed"] or a.json()["model_version"] not in pairs:
                    failures.append(f"ask {a.status_code} {a.text[:200]}")
                s = c.get(f"/v1/customers/{cid}/similar?k=5", headers=h)
                if s.status_code != 200 or len(s.json()["similar"]) != 5:
                    failures.append(f"similar {s.status_code} {s.text[:200]}")
                served["n"] += 5
            except Exception as exc:  # a transport error is a failed request too
                failures.append(f"{type(exc).__name__}: {exc}")

    with TestClient(app, raise_server_exceptions=False) as c:
        workers = [threading.Thread(target=client_loop, args=(c, w), daemon=True) for w in range(4)]
        for w in workers:
            w.start()
        results = []
        try:
            time.sleep(0.5)
            for step in range(8):
                if step == 4:  # a broken reload in the middle: refused, the current snapshot keeps serving
                    _swap_in(versions["broken"], versions["live"])
                    r = c.post("/v1/admin/reload", headers={"X-API-Key": ADMIN})
                    results.append(("broken", r.status_code))
                    time.sleep(0.3)
                src, want = (store_b, vb) if step % 2 == 0 else (store_a, va)
                _swap_in(src, versions["live"])
                r = c.post("/v1/admin/reload", headers={"X-API-Key": ADMIN})
                results.append((want, r.status_code))
                assert r.status_code == 200, r.text
                assert c.get("/readyz").json()["model_version"] == want
                time.sleep(0.4)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=30)
        assert ("broken", 409) in results
        assert not failures, failures[:5]
        assert served["n"] >= 50 and seen_versions == {va, vb}
        metrics = c.get("/metrics", headers={"X-API-Key": AGENT}).text
        assert (
            'insight_reloads_total{result="ok"} 9.0' in metrics
            and 'insight_reloads_total{result="refused"} 1.0' in metrics
        )
    # Retired snapshots were closed and their private store copies removed once their last request ended.
    assert len(list(Path(versions["snapdir"]).iterdir())) == 0
