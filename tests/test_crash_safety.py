"""kill -9 at every step of `insight score`, `insight train` and `insight serve` (issue 12).

Each run is a real subprocess stopped with SIGKILL at a named point (INSIGHT_FAULT_POINT, service/crash.py), so the
kill lands exactly between two renames or just before a commit, with no timing involved. After each kill the previous
store, index and bundle must be usable (a snapshot loads, as `insight serve` does) and the next run must clean up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.api.settings import ApiSettings
from service.api.state import SNAPSHOT_PREFIX, load_snapshot
from service.bundle import ModelBundle
from service.store import ProfileStore, index_dir, index_root

INSIGHT = str(Path(sys.executable).with_name("insight"))
LATER_CUTOFF = None  # the default cutoff (last order)
EARLIER_CUTOFF = "2025-10-31"


def run_cli(args, fault: str | None = None, tmp: Path | None = None, **extra_env) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **{k: str(v) for k, v in extra_env.items()},
    }
    env.pop("INSIGHT_FAULT_POINT", None)
    if fault:
        env["INSIGHT_FAULT_POINT"] = fault
    if tmp is not None:
        env["INSIGHT_CACHE_DIR"] = str(tmp / "cache")
    return subprocess.run([INSIGHT, *map(str, args)], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Data, a tabular-only bundle and a store scored at an earlier cutoff: the 'good state' every test starts from."""
    from service.pipeline import TrainOptions, train
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("crash")
    write_tables(generate(400, seed=5), d / "data")
    train(d / "data", d / "model", TrainOptions(seed=1, text_sources=()))
    # Scored by a CLI process, as in production: its index version then belongs to a writer that is gone (a version
    # written by a process still running, like this test, is never removed under it).
    r = run_cli(score_args(d, EARLIER_CUTOFF), tmp=d)
    assert r.returncode == 0, r.stderr[-2000:]
    return d


@pytest.fixture()
def state(base, tmp_path):
    d = tmp_path / "state"
    shutil.copytree(base, d, symlinks=True)
    # The store records its bundle by absolute path: point it at this copy.
    ps = ProfileStore(d / "p.db")
    from service.store import store_meta

    with ps.engine.begin() as con:
        con.execute(store_meta.update().where(store_meta.c.key == "model_dir").values(value=str(d / "model")))
    ps.close()
    return d


def settings(d: Path) -> ApiSettings:
    return ApiSettings(
        store=str(d / "p.db"), api_keys=SecretStr("k:agent"), api_preload_encoder=False, api_snapshot_dir=d / "snaps"
    )


def serve_check(d: Path) -> dict:
    """What `insight serve` does at start-up: load and cross-check store + bundle + index. Returns the served
    metadata."""
    snap = load_snapshot(settings(d), 1)
    try:
        assert snap.customers == len(snap.index) > 100
        cid = next(iter(snap.roster))
        assert snap.profile(cid)["customer_id"] == cid and snap.neighbours(cid, 3)
        return dict(snap.meta)
    finally:
        snap.retire()


def meta_of(d: Path) -> dict:
    ps = ProfileStore(d / "p.db")
    try:
        return ps.meta()
    finally:
        ps.close()


def versions(d: Path) -> set[str]:
    return {p.name for p in index_root(d / "p.db").iterdir()}


def score_args(d: Path, cutoff=LATER_CUTOFF):
    return ["score", "--data", d / "data", "--model", d / "model", "--store", d / "p.db"] + (
        ["--cutoff", cutoff] if cutoff else []
    )


@pytest.mark.parametrize("point", ["score:index-written", "score:rows-written"])
def test_score_killed_before_its_commit_leaves_the_old_store_and_index(state, point, tmp_path):
    before = meta_of(state)
    old_version = before["index_version"]
    r = run_cli(score_args(state), fault=point, tmp=tmp_path)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    if point == "score:rows-written":
        assert Path(f"{state / 'p.db'}-journal").stat().st_size > 0  # a hot journal: killed inside the transaction
    debris = versions(state) - {old_version}
    assert debris, "the killed run's index version should be on disk"
    # The server opens the store (rolling the hot journal back) and serves the OLD state, whole.
    served = serve_check(state)
    assert served["scored_at"] == before["scored_at"] and served["index_version"] == old_version
    assert not Path(f"{state / 'p.db'}-journal").exists() or Path(f"{state / 'p.db'}-journal").stat().st_size == 0
    assert meta_of(state) == before
    # The next run succeeds and removes the dead run's directories; the old version is kept one more run.
    r = run_cli(score_args(state), tmp=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    after = meta_of(state)
    assert after["scored_at"] >= before["scored_at"] and after["cutoff"] != before["cutoff"]
    assert versions(state) == {old_version, after["index_version"]}
    assert serve_check(state)["index_version"] == after["index_version"]


def test_score_killed_after_its_commit_serves_the_new_state(state, tmp_path):
    before = meta_of(state)
    r = run_cli(score_args(state), fault="score:committed", tmp=tmp_path)
    assert r.returncode == -signal.SIGKILL
    after = meta_of(state)
    assert after["cutoff"] != before["cutoff"] and after["index_version"] != before["index_version"]
    assert index_dir(state / "p.db") == index_root(state / "p.db") / after["index_version"]
    assert serve_check(state)["index_version"] == after["index_version"]
    # Two more runs: versions never pile up (new + previous).
    for cutoff in (EARLIER_CUTOFF, None):
        assert run_cli(score_args(state, cutoff), tmp=tmp_path).returncode == 0
    assert len(versions(state)) == 2 and meta_of(state)["index_version"] in versions(state)


def test_a_store_from_before_index_versions_still_serves_and_migrates(state, tmp_path):
    """An index written by the old protocol sits directly in the root; a kill between its two renames left it aside."""
    meta = meta_of(state)
    root = index_root(state / "p.db")
    legacy_parent = state / f".{root.name}.old-abc123"
    legacy_parent.mkdir()
    shutil.move(str(root / meta["index_version"]), str(legacy_parent / "index"))
    shutil.rmtree(root)
    ps = ProfileStore(state / "p.db")
    from service.store import store_meta

    with ps.engine.begin() as con:
        con.execute(store_meta.delete().where(store_meta.c.key == "index_version"))
    ps.close()
    assert not root.exists()
    assert "index_version" not in serve_check(state)  # restored from the aside copy, served as before
    assert (root / "ids.json").exists() and not legacy_parent.exists()
    assert run_cli(score_args(state), tmp=tmp_path).returncode == 0
    assert (root / "ids.json").exists()  # kept one more run as the previous version
    assert run_cli(score_args(state, EARLIER_CUTOFF), tmp=tmp_path).returncode == 0
    assert not (root / "ids.json").exists() and len(versions(state)) == 2


def train_args(d: Path):
    return ["train", "--data", d / "data", "--out", d / "model", "--no-text", "--seed", "2"]


def test_score_into_a_locked_store_fails_in_one_line_and_keeps_the_store(state, tmp_path):
    """Another process holds the store's write lock past the busy timeout, from before the run or only from its
    commit: `insight score` ends with one line naming the store and exit code 2 (the commit had ended in a SQLAlchemy
    traceback), the index version it wrote is removed, and the store serves as before."""
    import sqlite3

    from service.store import StoreBusy

    before, index_before = meta_of(state), versions(state)
    rows = ProfileStore(state / "p.db").top(limit=5)
    holder = sqlite3.connect(state / "p.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = run_cli(score_args(state), tmp=tmp_path)
        ps = ProfileStore(state / "p.db")  # opened before the lock matters: the commit is what fails
        with pytest.raises(StoreBusy, match=r"p\.db: the profile store cannot be written \(database is locked\); "):
            ps.replace_all(rows, {"model_version": "other"})
        ps.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "database is locked" in r.stderr and "p.db" in r.stderr
    assert len(r.stderr.strip().splitlines()[-1]) > 40 and r.stderr.strip().splitlines()[-1].startswith("error:")
    assert meta_of(state) == before and versions(state) == index_before
    serve_check(state)


@pytest.mark.parametrize("command", ["train", "score"])
def test_a_second_writer_of_a_bundle_or_store_is_refused_before_any_work(state, tmp_path, command):
    """Two `insight train` into one bundle, or two `insight score` into one store, had both reported success while the
    last silently replaced the other's output. The second now stops at once, naming the first one's pid."""
    from service.writer_lock import one_writer

    output = state / "model" if command == "train" else index_root(state / "p.db")
    bundle_before, meta_before = (state / "model" / "manifest.json").read_bytes(), meta_of(state)
    with one_writer(output, f"`insight {command}`"):
        r = run_cli(train_args(state) if command == "train" else score_args(state), tmp=tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert f"another `insight {command}` (pid {os.getpid()}) is writing it now" in r.stderr
    assert "Traceback" not in r.stderr and "read and validate" not in r.stderr  # refused before reading the data
    assert (state / "model" / "manifest.json").read_bytes() == bundle_before and meta_of(state) == meta_before
    r = run_cli(train_args(state) if command == "train" else score_args(state), tmp=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list(state.glob(".*.lock"))


@pytest.mark.parametrize("point", ["train:bundle-written", "train:old-moved-aside", "train:new-in-place"])
def test_train_killed_at_each_rename_keeps_a_usable_bundle(state, point, tmp_path):
    old = json.loads((state / "model" / "manifest.json").read_text())["model_version"]
    r = run_cli(train_args(state), fault=point, tmp=tmp_path)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    leftovers = [p.name for p in state.iterdir() if p.name.startswith(".model.")]
    assert leftovers, "the killed run leaves its temp or set-aside directory"
    if point == "train:old-moved-aside":
        assert not (state / "model").exists()  # the instant between the two renames
    # Whatever instant it was: the store's bundle loads (restored when it was aside) and the server starts.
    bundle = ModelBundle.load(state / "model")
    if point == "train:new-in-place":
        assert bundle.model_version != old  # the new bundle was complete and in place
    else:
        assert bundle.model_version == old
        serve_check(state)
    # The next train cleans every leftover of the dead run.
    r = run_cli(train_args(state), tmp=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not [p.name for p in state.iterdir() if p.name.startswith(".model.")]
    ModelBundle.load(state / "model")


def test_a_killed_server_leaves_nothing_the_next_start_keeps(state, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli(
        ["serve", "--store", state / "p.db", "--port", port],
        fault="serve:snapshot-copied",
        tmp=tmp_path,
        INSIGHT_API_KEYS="k:agent",
        INSIGHT_API_SNAPSHOT_DIR=state / "snaps",
        INSIGHT_API_PRELOAD_ENCODER="false",
    )
    assert r.returncode == -signal.SIGKILL
    left = list((state / "snaps").glob(f"{SNAPSHOT_PREFIX}*"))
    assert len(left) == 1 and (left[0] / "profiles.db").exists()
    snap = load_snapshot(settings(state), 1)  # the next start
    try:
        assert [p for p in (state / "snaps").glob(f"{SNAPSHOT_PREFIX}*")] == [snap.copy_path.parent]
    finally:
        snap.retire()
    assert not list((state / "snaps").glob(f"{SNAPSHOT_PREFIX}*"))  # a clean shutdown removes its own copy


def test_a_server_stopped_while_its_encoder_loads_removes_its_store_copy(state, monkeypatch):
    """The encoder preload (a daemon thread) had held the snapshot through the load, so a server stopped meanwhile
    could not remove its private store copy, and the thread died at exit before it would."""
    import threading

    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.api.state import AppState

    loading, finish = threading.Event(), threading.Event()

    def slow_encoder(self, bundle):
        loading.set()
        finish.wait(30)

    monkeypatch.setattr(AppState, "encoder", slow_encoder)
    app = create_app(settings(state).model_copy(update={"api_preload_encoder": True}))
    copies = list((state / "snaps").glob(f"{SNAPSHOT_PREFIX}*"))
    assert len(copies) == 1
    try:
        with TestClient(app) as client:
            assert loading.wait(30)  # the preload is under way
            assert client.get("/healthz").status_code == 200
        assert not copies[0].exists()  # stopped mid-load: the copy is gone all the same
    finally:
        finish.set()


@pytest.mark.parametrize("point", ["synth:old-moved-aside", "synth:new-in-place"])
def test_data_synth_killed_at_each_rename_keeps_one_seeds_tables(point, tmp_path):
    """`data synth` swaps its folder whole: killed between the two renames, the old tables are set aside, and the next
    reader (or writer) puts them back; they had been deleted as a dead run's leftovers."""
    from service.tables import load_tables

    data = tmp_path / "data"
    assert run_cli(["data", "synth", "--customers", "30", "--seed", "1", "--out", data]).returncode == 0
    seed1 = (data / "orders.csv").read_bytes()
    r = run_cli(["data", "synth", "--customers", "30", "--seed", "2", "--out", data], fault=point)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    if point == "synth:old-moved-aside":
        assert not data.exists()  # the instant between the two renames
    load_tables(data)  # a reader repairs what it can
    got = (data / "orders.csv").read_bytes()
    assert got == seed1 if point == "synth:old-moved-aside" else got != seed1
    if point == "synth:old-moved-aside":  # put back, so nothing is left aside
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".data.")]
    r = run_cli(["data", "synth", "--customers", "30", "--seed", "3", "--out", data])
    assert r.returncode == 0, r.stderr[-2000:]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".data.")]


def test_a_folder_put_in_place_by_a_concurrent_writer_between_the_two_renames_is_set_aside_too(tmp_path, monkeypatch):
    """swap_dir: another writer's complete folder appearing at the target between our renames does not fail the swap
    nor mix the two: ours is in place whole, and nothing is left beside it."""
    import service.crash as crash

    final, new = tmp_path / "out", tmp_path / ".out.tmp-1"
    final.mkdir()
    (final / "a").write_text("old")
    new.mkdir()
    (new / "b").write_text("ours")

    calls = []

    def other_writer(name):  # once: its folder lands between our two renames
        calls.append(name)
        if calls == ["test:old-moved-aside"]:
            final.mkdir()
            (final / "c").write_text("theirs")

    monkeypatch.setattr(crash, "fault_point", other_writer)
    crash.swap_dir(new, final, fault="test")
    assert [p.name for p in final.iterdir()] == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
