"""`insight serve` with two worker processes (INSIGHT_API_WORKERS=2): each loads its own snapshot, POST
/v1/admin/reload and SIGHUP to the server reach both, a refused reload is refused for all, and every answer after a
reload is the new model's."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.store import ProfileStore, index_dir, store_meta

AGENT, ADMIN = "wrk-agent-4e8a1d", "wrk-admin-7b2c9f"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _swap_in(src: Path, live: Path) -> None:
    tmp = live.with_suffix(".incoming")
    shutil.copy(src, tmp)
    os.replace(tmp, live)


@pytest.fixture(scope="module")
def two_workers(scored, trained, tmp_path_factory, relabelled_copy):
    d = tmp_path_factory.mktemp("workers")
    store_a, va = relabelled_copy(Path(scored.store), trained.out_dir, d / "a", None)
    store_b, vb = relabelled_copy(Path(scored.store), trained.out_dir, d / "b", "2099-11-30-wwwwwwwwww")
    live = d / "live" / "profiles.db"
    live.parent.mkdir()
    shutil.copy(store_a, live)
    shutil.copytree(index_dir(scored.store), index_dir(live))
    port = _free_port()
    snapdir = d / "snapshots"
    proc, log = _serve_two_workers(live, port, snapdir, d)
    base = f"http://127.0.0.1:{port}"
    yield {
        "base": base,
        "proc": proc,
        "log": d / "server.log",
        "live": live,
        "A": (store_a, va),
        "B": (store_b, vb),
        "snapdir": snapdir,
    }
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    log.close()


def _serve_two_workers(live: Path, port: int, snapdir: Path, d: Path):
    """`insight serve` of ``live`` with two workers, once both report ready: (process, its log file)."""
    env = {
        **os.environ,
        "INSIGHT_API_KEYS": f"{AGENT}:agent,{ADMIN}:admin",
        "INSIGHT_API_WORKERS": "2",
        "INSIGHT_API_SNAPSHOT_DIR": str(snapdir),
        "INSIGHT_API_PRELOAD_ENCODER": "false",
        "INSIGHT_CACHE_DIR": str(d / "cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    script = Path(sys.executable).parent / "insight"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]
    log = open(d / "server.log", "wb")
    proc = subprocess.Popen(
        cmd + ["serve", "--store", str(live), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            log.close()
            pytest.fail(f"insight serve exited with {proc.returncode}: {(d / 'server.log').read_text()[-2000:]}")
        if len(_statuses(snapdir)) == 2:
            return proc, log
        time.sleep(0.3)
    proc.kill()
    pytest.fail("two workers did not become ready in 180 s")


def _statuses(snapdir: Path) -> list[dict]:
    out = []
    for p in snapdir.glob("insight-snapshot-pid*-workers-*/worker-*.json"):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            pass
    return out


def _fresh(base: str, path: str, **kw) -> httpx.Response:
    """One request on a new connection (the kernel hands new connections to either worker)."""
    return httpx.get(f"{base}{path}", headers={"X-API-Key": AGENT}, timeout=30, **kw)


def test_reload_reaches_every_worker(two_workers, scored):
    w = two_workers
    base, (store_a, va), (store_b, vb) = w["base"], w["A"], w["B"]
    pids = {s["pid"] for s in _statuses(w["snapdir"])}
    assert len(pids) == 2 and w["proc"].pid not in pids  # two processes besides the parent
    cid = scored.frame["customer_id"].iloc[0]
    for _ in range(10):
        assert _fresh(base, "/v1/model").json()["model_version"] == va
        assert _fresh(base, f"/v1/customers/{cid}").json()["model_version"] == va  # keeps a body per worker

    _swap_in(store_b, w["live"])
    r = httpx.post(f"{base}/v1/admin/reload", headers={"X-API-Key": ADMIN}, timeout=150)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"] == vb and r.json()["workers"] == 2 and r.json()["workers_total"] == 2
    assert {s["model_version"] for s in _statuses(w["snapdir"])} == {vb}
    for _ in range(10):  # no worker still answers with the old model or a body kept from it
        assert _fresh(base, "/v1/model").json()["model_version"] == vb
        assert _fresh(base, f"/v1/customers/{cid}").json()["model_version"] == vb
        assert _fresh(base, f"/v1/customers/{cid}/explanation").status_code == 200

    # A reload the first worker refuses is refused for all: nobody moves.
    ps = ProfileStore(w["live"])
    with ps.engine.begin() as con:
        con.execute(
            store_meta.update().where(store_meta.c.key == "model_dir").values(value=str(w["live"].parent / "no-bundle"))
        )
    ps.close()
    r = httpx.post(f"{base}/v1/admin/reload", headers={"X-API-Key": ADMIN}, timeout=150)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    for _ in range(6):
        assert _fresh(base, "/v1/model").json()["model_version"] == vb

    # SIGHUP to the server (the parent): both workers reload (back to A here).
    _swap_in(store_a, w["live"])
    before = {s["pid"]: s["generation"] for s in _statuses(w["snapdir"])}
    w["proc"].send_signal(signal.SIGHUP)
    deadline = time.time() + 60
    while time.time() < deadline:
        now = _statuses(w["snapdir"])
        if len(now) == 2 and all(s["generation"] > before[s["pid"]] and s["model_version"] == va for s in now):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"SIGHUP did not reach both workers: {_statuses(w['snapdir'])}")
    for _ in range(10):
        assert _fresh(base, "/v1/model").json()["model_version"] == va

    # A console session opened on one worker holds on the other (in one worker's memory, 17 of 30 page loads had sent
    # a signed-in agent back to sign in), and signing out on either ends it on both.
    r = httpx.post(f"{base}/console/sign-in", data={"api_key": AGENT, "next": "/console/customers"}, timeout=30)
    assert r.status_code == 303 and "insight_session" in r.cookies
    cookies = {"insight_session": r.cookies["insight_session"]}
    pages = [_fresh(base, "/console/customers", cookies=cookies) for _ in range(12)]
    assert [p.status_code for p in pages] == [200] * 12
    token = re.search(r'name="csrf_token" value="([^"]+)"', pages[-1].text).group(1)
    r = httpx.post(f"{base}/console/sign-out", data={"csrf_token": token}, cookies=cookies, timeout=30)
    assert r.status_code == 303
    assert {_fresh(base, "/console/customers", cookies=cookies).status_code for _ in range(8)} == {303}

    # A profile written on one worker is served by every worker once the others have reloaded from the live store.
    order = {"order_id": "WRK-O1", "customer_id": "WRK-NEW-1", "order_ts": "2099-01-01T00:00:00Z", "amount": 42.0}
    r = httpx.post(
        f"{base}/v1/score",
        json={"tables": {"orders": [order]}, "write": True},
        headers={"X-API-Key": ADMIN},
        timeout=120,
    )
    assert r.status_code == 200 and r.json()["written"] is True, r.text
    deadline, served = time.time() + 60, []
    while time.time() < deadline:
        served = [_fresh(base, "/v1/customers/WRK-NEW-1").status_code for _ in range(8)]
        if served == [200] * 8:
            break
        time.sleep(0.5)
    assert served == [200] * 8, served

    w["proc"].send_signal(signal.SIGTERM)
    assert w["proc"].wait(30) in (0, -signal.SIGTERM)
    log = w["log"].read_text()
    assert AGENT not in log and ADMIN not in log and "Traceback" not in log
    assert not list(w["snapdir"].glob("insight-snapshot-pid*"))  # copies and the reload channel are gone


def test_workers_stop_when_their_parent_is_killed(scored, tmp_path):
    """A parent killed with SIGKILL cannot stop its workers: they had kept the port and served their old snapshot for
    ever, so the restart failed with "address already in use" (probe of stop 29). They now stop with it."""
    live = tmp_path / "live" / "profiles.db"
    live.parent.mkdir()
    shutil.copy(scored.store, live)
    shutil.copytree(index_dir(scored.store), index_dir(live))
    port, snapdir = _free_port(), tmp_path / "snapshots"
    proc, log = _serve_two_workers(live, port, snapdir, tmp_path)
    pids = [s["pid"] for s in _statuses(snapdir)]
    proc.kill()
    proc.wait(10)
    log.close()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")  # a zombie has stopped

    deadline = time.time() + 30
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for p in left:  # never leave them holding the port for the rest of the run
        os.kill(p, signal.SIGKILL)
    assert not left, left
    with socket.socket() as s:  # the port is free for the restart
        s.bind(("127.0.0.1", port))
