"""A profile store edited or damaged outside the service (service/store_checks.py): every reader (`insight explain`,
the API's start and its requests) says which customer or key is damaged and to re-score, in one line; never a
traceback, a 500 without a reason, or "customer not in the store"."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.app import create_app
from service.api.settings import ApiSettings
from service.api.snapshot import SnapshotError
from service.ask import explain_stored
from service.store import DamagedProfile

INSIGHT = str(Path(sys.executable).with_name("insight"))
AGENT = "damage-agent-key"
VICTIM = "C000001"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("damage")
    write_tables(generate(300, seed=31), d / "data")
    train(d / "data", d / "model", TrainOptions(seed=1, text_sources=()))
    res = score(d / "data", d / "model", d / "p.db")
    assert VICTIM in set(res.frame["customer_id"])
    return d


@pytest.fixture()
def damaged(good, tmp_path):
    """``damage(fn)``: a copy of the store (and its index) with ``fn(sqlite3 connection)`` applied."""

    def damage(fn) -> Path:
        store = tmp_path / "p.db"
        shutil.copy(good / "p.db", store)
        shutil.copytree(good / "p.db.index", tmp_path / "p.db.index")
        con = sqlite3.connect(store)
        fn(con)
        con.commit()
        con.close()
        return store

    return damage


def set_profile(value):
    return lambda con: con.execute("update profiles set profile = ? where customer_id = ?", (value, VICTIM))


def edit_profile(edit):
    def fn(con):
        (raw,) = con.execute("select profile from profiles where customer_id = ?", (VICTIM,)).fetchone()
        p = json.loads(raw)
        edit(p)
        con.execute("update profiles set profile = ? where customer_id = ?", (json.dumps(p), VICTIM))

    return fn


def set_column(column, value):
    return lambda con: con.execute(f"update profiles set {column} = ? where customer_id = ?", (value, VICTIM))


def set_meta(key, raw):
    return lambda con: con.execute("update store_meta set value = ? where key = ?", (raw, key))


ROW_DAMAGE = {
    "profile not JSON": set_profile("{not json"),
    "profile a list": set_profile("[]"),
    "profile empty": set_profile("{}"),
    "drivers not a list": edit_profile(lambda p: p.__setitem__("drivers", "many")),
    "a driver's contribution in words": edit_profile(lambda p: p["drivers"][0].__setitem__("contribution", "x")),
    "evidence not a list": edit_profile(lambda p: p.__setitem__("evidence", {"a": 1})),
    "predicted value in words": set_column("predicted_value", "abc"),
    "churn above 1": set_column("churn_probability", 7.5),
    "unknown tier": set_column("tier", "Platinum"),
    # what a damaged page of the file reads as: bytes that are not UTF-8 in a text column
    "bytes that are not UTF-8": lambda con: con.execute(
        "update profiles set profile = CAST(X'7B22ff22' AS TEXT) where customer_id = ?", (VICTIM,)
    ),
}
META_DAMAGE = {
    "tiers not JSON": set_meta("tiers", "{bad"),
    "no horizon": lambda con: con.execute("delete from store_meta where key = 'horizon_days'"),
    "horizon in words": set_meta("horizon_days", '"-5"'),
    "no thresholds": set_meta("tiers", '{"shares": null}'),
}


@pytest.mark.parametrize("case", list(ROW_DAMAGE))
def test_explain_names_the_damaged_row(damaged, case):
    store = damaged(ROW_DAMAGE[case])
    with pytest.raises(DamagedProfile, match=rf"stored profile of '{VICTIM}' is damaged .*re-score the store"):
        explain_stored(VICTIM, store)
    assert explain_stored("C000002", store).customer_id == "C000002"  # the other rows still serve


@pytest.mark.parametrize("case", list(META_DAMAGE))
def test_explain_names_the_damaged_metadata(damaged, case):
    store = damaged(META_DAMAGE[case])
    with pytest.raises(DamagedProfile, match="the store metadata is damaged .*re-score the store"):
        explain_stored(VICTIM, store)


def test_the_cli_says_it_in_one_line(damaged):
    store = damaged(ROW_DAMAGE["profile a list"])
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([INSIGHT, "explain", VICTIM, "--store", str(store)], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: the stored profile of '{VICTIM}' is damaged (its profile is not an object with a list of drivers); "
        "re-score the store with `insight score`"
    ]


def settings(store: Path) -> ApiSettings:
    return ApiSettings(
        store=str(store),
        api_keys=SecretStr(f"{AGENT}:agent"),
        api_preload_encoder=False,
        api_snapshot_dir=store.parent / "snaps",
    )


@pytest.mark.parametrize("case", ["profile a list", "a driver's contribution in words", "drivers not a list"])
def test_the_api_answers_a_damaged_row_with_its_reason_and_serves_the_others(damaged, case):
    store = damaged(ROW_DAMAGE[case])
    h = {"X-API-Key": AGENT}
    with TestClient(create_app(settings(store)), raise_server_exceptions=False) as c:
        for path in (f"/v1/customers/{VICTIM}", f"/v1/customers/{VICTIM}/explanation"):
            r = c.get(path, headers=h)
            assert r.status_code == 500, (path, r.text)
            assert r.json()["detail"] == (
                f"the stored profile of '{VICTIM}' is damaged; re-score the store with `insight score`"
            )
        assert c.get("/v1/customers/C000002", headers=h).status_code == 200


@pytest.mark.parametrize("case", ["unknown tier", "predicted value in words", "churn above 1"] + list(META_DAMAGE))
def test_the_api_refuses_to_start_on_damaged_columns_or_metadata(damaged, case):
    store = damaged({**ROW_DAMAGE, **META_DAMAGE}[case])
    with pytest.raises(SnapshotError, match="damaged .*re-score the store"):
        create_app(settings(store))  # what `insight serve` does first: a one-line error, no server


def test_the_console_shows_a_damaged_row_as_a_page_for_the_agent(damaged):
    store = damaged(ROW_DAMAGE["profile a list"])
    with TestClient(create_app(settings(store)), raise_server_exceptions=False) as c:
        assert c.post("/console/sign-in", data={"api_key": AGENT}, follow_redirects=False).status_code == 303
        r = c.get(f"/console/customers/{VICTIM}")
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
        said = f"The stored profile of &#39;{VICTIM}&#39; is damaged. Ask the operator to re-score the store."
        assert said in r.text
        assert c.get("/console/customers/C000002").status_code == 200


def test_the_damage_is_told_whole_whatever_the_id_holds():
    """The API and the console said the message up to its first ' (', which cut an id like 'A (1)' in half."""
    from service.console.customer import damaged_message
    from service.store_checks import profile_subject

    exc = DamagedProfile(profile_subject("A (1)"), "tier 'Gold' is not one of VIP, High, Medium, Low")
    assert damaged_message(exc) == "The stored profile of 'A (1)' is damaged. Ask the operator to re-score the store."
    assert str(exc).startswith("the stored profile of 'A (1)' is damaged (tier 'Gold'")


@pytest.mark.parametrize(
    "reason, busy",
    [
        ("database is locked", True),
        ("database or disk is full", True),
        ("attempt to write a readonly database", False),
        ("cannot execute INSERT in a read-only transaction", False),
    ],
)
def test_a_refused_write_says_whether_sending_it_again_can_help(reason, busy):
    """Locked or full: StoreBusy (the API answers 503 with Retry-After, "send the request again"). A read-only store
    will refuse the same write again, so it is a plain StoreError (503 without the advice to retry)."""
    import sqlalchemy as sa

    from service.store import StoreBusy, StoreError, write_failed

    err = write_failed(sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError(reason)), "cannot write")
    assert isinstance(err, StoreError) and isinstance(err, StoreBusy) is busy
    assert str(err) == f"cannot write ({reason})"
