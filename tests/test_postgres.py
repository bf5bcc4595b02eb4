"""A real PostgreSQL profile store on loopback (issue 12).

CI starts one (.ci/postgres.sh) and exports INSIGHT_TEST_POSTGRES_URL with INSIGHT_REQUIRE_POSTGRES=1, so there these
tests fail rather than skip when the server is unreachable. Elsewhere they skip with a message when none answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from bundles import relabelled_bundle
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.bundle import ModelBundle
from service.store import ProfileStore, StoreError, VersionConflict, check_store, index_root, metadata_obj, store_url

DEFAULT_URL = "postgresql://insight:insight@127.0.0.1:5432/insight_test"
INSIGHT = str(Path(sys.executable).with_name("insight"))
AGENT, ADMIN = "pg-agent-key", "pg-admin-key"


def _reachable(url: str) -> str | None:
    try:
        check_store(url, timeout_s=3)
    except StoreError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory):
    url = os.environ.get("INSIGHT_TEST_POSTGRES_URL", DEFAULT_URL)
    os.environ.setdefault("INSIGHT_INDEX_DIR", str(tmp_path_factory.mktemp("pg-probe")))
    problem = _reachable(url)
    if problem:
        if os.environ.get("INSIGHT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (INSIGHT_REQUIRE_POSTGRES=1) but not reachable: {problem}")
        pytest.skip(
            f"no PostgreSQL reachable for the store tests ({problem}); start one and set INSIGHT_TEST_POSTGRES_URL, "
            "or run .ci/postgres.sh"
        )
    return url


@pytest.fixture()
def clean_db(pg_url):
    engine = sa.create_engine(store_url(pg_url))
    metadata_obj.drop_all(engine)
    engine.dispose()
    return pg_url


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Data with ids a SQLite store accepts but a VARCHAR(128) / PostgreSQL text cannot hold, and a tabular bundle."""
    from service.pipeline import TrainOptions, train
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("pg")
    tables = generate(400, seed=9)
    long_id, nul_id = "L" * 200, "NUL\x00ID"
    extra = pd.DataFrame(
        {
            "order_id": ["XL1", "XN1"],
            "customer_id": [long_id, nul_id],
            "order_ts": ["2025-11-01T10:00:00Z"] * 2,
            "amount": [10.0, 12.0],
        }
    )
    tables["orders"] = pd.concat([tables["orders"], extra], ignore_index=True)
    tables["customers"] = pd.concat(
        [tables["customers"], pd.DataFrame({"customer_id": [long_id, nul_id]})], ignore_index=True
    )
    write_tables(tables, d / "data")
    train(d / "data", d / "model", TrainOptions(seed=1, text_sources=()))
    # A second bundle: the same boosters relabelled as another model version (what a retrain would give the store).
    relabelled_bundle(d / "model", d / "model-b", "b")
    return d


def _cli(args, **env):
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **{k: str(v) for k, v in env.items()}}
    for k in [k for k, v in env.items() if v is None]:
        full.pop(k, None)
    return subprocess.run([INSIGHT, *map(str, args)], env=full, capture_output=True, text=True, timeout=300)


def test_a_misconfigured_url_store_fails_before_any_work(pg_url, tmp_path):
    # The data directory does not exist: a store error reported first proves the store is checked before the data.
    args = ["score", "--data", tmp_path / "no-data", "--model", tmp_path / "no-model", "--store"]
    r = _cli(args + [pg_url], INSIGHT_INDEX_DIR=None)
    assert r.returncode == 2 and "INSIGHT_INDEX_DIR" in r.stderr and "Traceback" not in r.stderr, r.stderr
    wrong = pg_url.replace("insight:insight@", "insight:wrong-secret@")
    r = _cli(args + [wrong], INSIGHT_INDEX_DIR=tmp_path / "idx")
    assert r.returncode == 2 and "cannot connect" in r.stderr and "wrong-secret" not in r.stderr, r.stderr
    r = _cli(args + ["mysql://u:p@127.0.0.1/db"], INSIGHT_INDEX_DIR=tmp_path / "idx")
    assert r.returncode == 2 and "no database driver" in r.stderr and "Traceback" not in r.stderr, r.stderr


def _score(small, url, model="model", cutoff=None):
    from service.pipeline import score

    return score(small / "data", small / model, url, cutoff=cutoff)


def test_score_into_postgres_rejects_bad_ids_and_serves(small, clean_db, tmp_path, monkeypatch):
    from service.api.settings import ApiSettings
    from service.api.state import load_snapshot

    monkeypatch.setenv("INSIGHT_INDEX_DIR", str(tmp_path / "index"))
    res = _score(small, clean_db)
    assert res.summary.rejects.get("orders") == 2 and res.summary.rejects.get("customers") == 2
    root = index_root(clean_db)
    assert root.parent == tmp_path / "index" and root.name.endswith("insight_test")  # one folder per database
    rejects = (root / "rejects" / "orders.rejects.csv").read_text()
    assert (
        "customer_id is longer than 128 characters" in rejects and "customer_id contains a control character" in rejects
    )
    assert res.summary.rejects_dir == str(root / "rejects") and res.index_dir.parent == root
    ps = ProfileStore(clean_db)
    assert ps.count() == len(res.frame) > 300 and ps.meta()["index_version"] == res.index_dir.name
    ps.close()
    snap = load_snapshot(
        ApiSettings(
            store=clean_db,
            api_keys=SecretStr(f"{AGENT}:agent"),
            api_preload_encoder=False,
            api_snapshot_dir=tmp_path / "snaps",
        ),
        1,
    )
    try:
        cid = res.frame["customer_id"].iloc[0]
        assert snap.customers == len(res.frame) and snap.profile(cid)["customer_id"] == cid and snap.neighbours(cid, 3)
    finally:
        snap.retire()


def test_a_rescore_without_reload_never_mixes_versions(small, clean_db, tmp_path, monkeypatch):
    from service.api.app import create_app
    from service.api.settings import ApiSettings

    monkeypatch.setenv("INSIGHT_INDEX_DIR", str(tmp_path / "index"))
    first = _score(small, clean_db)
    settings = ApiSettings(
        store=clean_db,
        api_keys=SecretStr(f"{AGENT}:agent,{ADMIN}:admin"),
        api_preload_encoder=False,
        api_snapshot_dir=tmp_path / "snaps",
    )
    h, adm = {"X-API-Key": AGENT}, {"X-API-Key": ADMIN}
    cid = first.frame.sort_values("predicted_value")["customer_id"].iloc[len(first.frame) // 2]
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        v1 = c.get("/v1/model", headers=h).json()["model_version"]
        tiers1 = c.get("/v1/tiers", headers=h).json()
        exp1 = c.get(f"/v1/customers/{cid}/explanation", headers=h).json()
        second = _score(
            small, clean_db, model="model-b", cutoff="2025-11-30"
        )  # another process re-scores the live store
        v2 = ModelBundle.load(small / "model-b").model_version
        assert ProfileStore(clean_db).meta()["model_version"] == v2 != v1
        # Until a reload the service answers from the version it loaded: profile, model, tiers and explanation agree.
        p = c.get(f"/v1/customers/{cid}", headers=h).json()
        assert p["model_version"] == v1 and c.get("/v1/model", headers=h).json()["model_version"] == v1
        assert c.get("/v1/tiers", headers=h).json() == tiers1
        assert c.get(f"/v1/customers/{cid}/explanation", headers=h).json() == exp1
        # A cold-start write of old-model profiles into the re-scored store is refused, not mixed in.
        order = {"order_id": "PGNEW1", "customer_id": "PGNEW1", "order_ts": "2025-11-02T10:00:00Z", "amount": 40.0}
        r = c.post("/v1/score", json={"tables": {"orders": [order]}, "write": True}, headers=adm)
        assert r.status_code == 409 and "re-scored" in r.json()["detail"], r.text
        assert ProfileStore(clean_db).get("PGNEW1") is None
        # After a reload: the new version everywhere, and writes work again.
        assert c.post("/v1/admin/reload", headers=adm).status_code == 200
        assert c.get(f"/v1/customers/{cid}", headers=h).json()["model_version"] == v2
        assert c.get("/v1/model", headers=h).json()["model_version"] == v2
        r = c.post("/v1/score", json={"tables": {"orders": [order]}, "write": True}, headers=adm)
        assert r.status_code == 200 and r.json()["written"], r.text
        assert ProfileStore(clean_db).get("PGNEW1")["model_version"] == v2
    assert second.summary.customers > 0


def test_upsert_checks_the_version_in_its_own_transaction(small, clean_db, tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHT_INDEX_DIR", str(tmp_path / "index"))
    res = _score(small, clean_db)
    ps = ProfileStore(clean_db)
    try:
        row = ps.get(res.frame["customer_id"].iloc[0])
        row = {**row, "customer_id": "UPSERT1"}
        with pytest.raises(VersionConflict):
            ps.upsert([row], expect_model_version="some-other-version")
        assert ps.get("UPSERT1") is None
        ps.upsert([row], expect_model_version=row["model_version"])
        assert ps.get("UPSERT1")["customer_id"] == "UPSERT1"
    finally:
        ps.close()
