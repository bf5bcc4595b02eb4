"""The rejected rows beside a bundle or a store always belong to the run that made it (service/rejects_files.py).

A run that fails after reading its input, or is killed at any step, must not replace the previous run's rejects nor
mix its files with them; its own rows stay readable in ``<out>.rejects.failed/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.pipeline import TrainOptions, score, train
from service.rejects_files import recover_rejects, write_rejects
from service.synth import generate, write_tables
from service.tables import DataError, load_tables

INSIGHT = str(Path(sys.executable).with_name("insight"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Three inputs: two with different rejected rows, one that validation keeps whole."""
    d = tmp_path_factory.mktemp("rejects")
    write_tables(generate(400, seed=5, inject_errors=0.02), d / "first")
    write_tables(generate(400, seed=6, inject_errors=0.05), d / "second")
    write_tables(generate(400, seed=7), d / "clean")
    # Too short a history to train on, with one bad row: read and validated, then refused.
    short = d / "short"
    short.mkdir()
    lines = (d / "first" / "orders.csv").read_text().splitlines()
    (short / "orders.csv").write_text("\n".join(lines[:40] + ["O-BAD,C000001,not-a-date,5.00"]) + "\n")
    return d


@pytest.fixture(scope="module")
def good(datasets, tmp_path_factory):
    """A bundle and its rejects from the first input: the good state."""
    d = tmp_path_factory.mktemp("good")
    res = train(datasets / "first", d / "model", TrainOptions(seed=1, text_sources=()))
    assert res.summary.rows_rejected > 0 and res.summary.rejects_dir == str(d / "model.rejects")
    return d


@pytest.fixture()
def state(good, tmp_path):
    d = tmp_path / "state"
    shutil.copytree(good, d)
    return d


def test_a_failed_train_keeps_the_previous_rejects_and_keeps_its_own_apart(state, datasets):
    before = snapshot(state / "model.rejects")
    with pytest.raises(DataError) as exc:
        train(datasets / "short", state / "model", TrainOptions(seed=1, text_sources=()))
    assert snapshot(state / "model.rejects") == before  # not the failed run's orders rejects, not a mix
    failed = snapshot(state / "model.rejects.failed")
    assert list(failed) == ["orders.rejects.csv"] and b"O-BAD" in failed["orders.rejects.csv"]
    assert any("model.rejects.failed" in n for n in exc.value.__notes__)
    assert leftovers(state, "model.rejects") == []


def test_a_run_that_rejects_nothing_leaves_no_stale_rejects(state, datasets):
    with pytest.raises(DataError):
        train(datasets / "short", state / "model", TrainOptions(seed=1, text_sources=()))
    res = train(datasets / "clean", state / "model", TrainOptions(seed=1, text_sources=()))
    assert res.summary.rows_rejected == 0 and res.summary.rejects_dir is None
    assert not (state / "model.rejects").exists() and not (state / "model.rejects.failed").exists()


def test_the_cli_says_where_a_failed_runs_rejects_are(state, datasets):
    r = subprocess.run(
        [INSIGHT, "train", "--data", str(datasets / "short"), "--out", str(state / "model"), "--no-text"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 2, r.stderr[-2000:]
    err = " ".join(r.stderr.split())
    assert "error: only" in err and "note: the rows this run rejected are in" in err and "model.rejects.failed" in err


def test_a_failed_score_keeps_the_stores_rejects(state, datasets):
    store = state / "p.db"
    score(datasets / "first", state / "model", store)
    before = snapshot(state / "p.db.rejects")
    assert before
    with pytest.raises(DataError):
        score(datasets / "second", state / "model", store, cutoff="not-a-date")
    assert snapshot(state / "p.db.rejects") == before
    assert snapshot(state / "p.db.rejects.failed") != before  # the second input's rows
    res = score(datasets / "second", state / "model", store)
    assert snapshot(state / "p.db.rejects") != before and res.summary.rejects_dir == str(state / "p.db.rejects")
    assert not (state / "p.db.rejects.failed").exists()


def test_a_run_with_no_valid_order_keeps_its_rejected_rows_too(state, datasets, tmp_path):
    """'none of the N orders is valid (...; every row's reason goes to the rejects file)' had written no rejects file:
    the run stopped while reading, before the rejects were staged."""
    bad = tmp_path / "bad"
    bad.mkdir()
    lines = (datasets / "first" / "orders.csv").read_text().splitlines()
    (bad / "orders.csv").write_text("\n".join([lines[0]] + [ln.replace("Z,", "Z,-", 1) for ln in lines[1:50]]) + "\n")
    before = snapshot(state / "model.rejects")
    for run, folder in (
        (lambda: train(bad, state / "model", TrainOptions(seed=1, text_sources=())), "model.rejects"),
        (lambda: score(bad, state / "model", state / "p.db"), "p.db.rejects"),
    ):
        with pytest.raises(DataError, match="none of the 49 orders is valid") as exc:
            run()
        failed = (state / f"{folder}.failed" / "orders.rejects.csv").read_text()
        assert len(failed.strip().splitlines()) == 1 + 49 and failed.count("negative amount") >= 45, failed[:500]
        assert any(f"{folder}.failed" in n for n in exc.value.__notes__)
    assert snapshot(state / "model.rejects") == before


@pytest.mark.parametrize(
    ("point", "new_rejects"),
    [("train:bundle-written", False), ("rejects:new-marked", True), ("rejects:old-moved-aside", True)],
)
def test_train_killed_at_each_step_leaves_the_rejects_of_the_bundle_in_place(
    state, datasets, point, new_rejects, tmp_path
):
    old = snapshot(state / "model.rejects")
    write_rejects(load_tables(datasets / "second").rejects, tmp_path / "expected")
    args = ["train", "--data", str(datasets / "second"), "--out", str(state / "model"), "--no-text", "--seed", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INSIGHT_FAULT_POINT": point}
    r = subprocess.run([INSIGHT, *args], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert leftovers(state, "model.rejects"), "the killed run leaves its staging or set-aside folder"
    recover_rejects(state / "model.rejects")  # what the next run does first
    assert leftovers(state, "model.rejects") == []
    now = snapshot(state / "model.rejects")
    if new_rejects:  # the new bundle was in place: its rejects replace the old ones
        assert now == snapshot(tmp_path / "expected") != old
    else:
        assert now == old


def test_a_folder_of_someone_elses_files_at_the_rejects_name_is_refused_not_deleted(state, datasets, tmp_path):
    """`<out>.rejects` and `<out>.rejects.failed` are replaced and removed by every run: a folder of the user's notes
    there, or the input tables themselves (`score --data s.db.rejects --store s.db`), had been deleted with exit 0."""
    from service.rejects_files import RejectsNotWritable

    bundle_before = snapshot(state / "model")
    notes = state / "model.rejects"
    shutil.rmtree(notes)
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    with pytest.raises(RejectsNotWritable, match="notes.txt"):
        train(datasets / "first", state / "model", TrainOptions(seed=1, text_sources=()))
    assert (notes / "notes.txt").read_text() == "mine" and snapshot(state / "model") == bundle_before

    data = tmp_path / "s.db.rejects"
    shutil.copytree(datasets / "first", data)
    before = snapshot(data)
    r = subprocess.run(
        [INSIGHT, "score", "--data", str(data), "--model", str(state / "model"), "--store", str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 2 and "did not write" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert snapshot(data) == before


def test_train_through_a_link_or_dot_writes_lock_and_rejects_beside_the_real_bundle(state, datasets, monkeypatch):
    """``--out LINK`` had put the writer lock and the rejects beside the link while the bundle went to its target (two
    trains, through the link and the real name, both ran and one replaced the other; the real bundle's rejects were
    the previous data's); ``--out .`` from inside the bundle had put the rejects inside it and failed after all the
    work (reliability probe, stop 30, F2 and F3)."""
    from service.writer_lock import WriterBusy, one_writer

    (state / "link").symlink_to(state / "model")
    # the same lock, whichever name the folder is given by
    with one_writer(state / "model", "another `insight train`"), pytest.raises(WriterBusy):
        train(datasets / "second", state / "link", TrainOptions(seed=1, text_sources=()))
    res = train(datasets / "second", state / "link", TrainOptions(seed=1, text_sources=()))
    assert res.out_dir == state / "model" and (state / "link").is_symlink()
    assert res.summary.rejects_dir == str(state / "model.rejects") and not (state / "link.rejects").exists()
    monkeypatch.chdir(state / "model")
    res = train(datasets / "first", ".", TrainOptions(seed=1, text_sources=()))
    assert res.out_dir == state / "model" and res.summary.rejects_dir == str(state / "model.rejects")
    assert not [p.name for p in (state / "model").iterdir() if "rejects" in p.name]
