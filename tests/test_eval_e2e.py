"""The evaluation harness end to end: `insight eval` on small data, BG/NBD (PyMC-Marketing MAP) included."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from eval.adapters import load_dataset
from eval.backtest import make_split, truncate
from eval.baselines import Calibration, SnapshotXGBoost

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def synthetic_report(synth_dir, encoder, tmp_path_factory):
    from eval.app import EvalOptions, run_eval

    out = tmp_path_factory.mktemp("eval-synthetic")
    # two seeds, no text ablation: every learned fit is a full product training (the ablation is tested with
    # stand-in models in test_eval_harness.py, and runs in the real-data reports)
    return run_eval(
        EvalOptions(
            dataset="synthetic",
            data=synth_dir,
            out=out,
            n_boot=30,
            seeds=2,
            ablation=False,
            command="insight eval --dataset synthetic (test)",
        ),
        encoder=encoder,
    )


def test_report_files_and_every_model_side_by_side(synthetic_report):
    r = synthetic_report
    names = {p.name for p in r.out_dir.iterdir()}
    assert {
        "report.md",
        "metrics.json",
        "lorenz.png",
        "deciles.png",
        "calibration.png",
        "churn_calibration.png",
    } <= names
    for png in ("lorenz.png", "deciles.png", "calibration.png", "churn_calibration.png"):
        assert (r.out_dir / png).read_bytes()[:8] == PNG
    m = json.loads((r.out_dir / "metrics.json").read_text())
    assert list(m["models"]) == ["past_spend", "rfm", "bgnbd_gg", "xgb_tabular", "product"]
    for key, e in m["models"].items():
        assert e["error"] is None, (key, e["error"])
        assert e["value"]["n"] == m["split"]["customers"]  # the same customers for every model
        g = e["intervals"]["normalized_gini"]
        assert g["low"] <= g["estimate"] <= g["high"]
        assert e["fit_seconds"] >= 0 and e["score_seconds"] >= 0
        assert e["n_seeds"] == (2 if key in ("xgb_tabular", "product") else 1)
        assert e["value"]["calibration_ratio"] > 0
    assert m["models"]["bgnbd_gg"]["info"]["params"]["r"] > 0  # a real PyMC-Marketing MAP fit
    assert m["models"]["product"]["value"]["normalized_gini"] > 0.4
    assert m["models"]["bgnbd_gg"]["value"]["normalized_gini"] > 0.3
    v = m["models"]["product"]["value"]
    assert len(v["per_seed"]["normalized_gini"]) == 2 and v["normalized_gini"] == pytest.approx(
        np.mean(v["per_seed"]["normalized_gini"])
    )
    churn_labels = set(m["churn"])
    assert {"BG/NBD P(no purchase in horizon)", "Product: XGBoost + text"} <= churn_labels
    assert not any("alive" in label for label in churn_labels)  # 1 - P(alive) ranks one-time buyers backwards
    assert all(0 <= c["ece"] <= 1 and 0 <= c["brier"] <= 1 for c in m["churn"].values())
    assert m["models"]["bgnbd_gg"]["next_order"]["n"] == m["split"]["buyers_in_holdout"]
    h = m["headline"]["normalized_gini"]
    assert h["best_baseline"] in ("past_spend", "rfm", "bgnbd_gg", "xgb_tabular") and h["difference"]["low"] is not None
    assert m["split"]["cutoff"] < m["split"]["holdout_end"]
    text = (r.out_dir / "report.md").read_text()
    assert "BG/NBD + Gamma-Gamma" in text and "![Cumulative gain" in text and "![Calibration" in text
    assert r.headline and r.verdict
    assert "± " in text and "### Calibration" in text and "churn ECE" in text


def test_bgnbd_churn_is_p_no_purchase_not_one_minus_p_alive(synthetic_report):
    """BG/NBD's churn score is P(no purchase in the horizon): positive for one-time buyers (whose P(alive) is 1)."""
    from eval import metrics as M

    res = synthetic_report.result.primary
    run = res.runs["bgnbd_gg"]
    assert list(run.churn) == ["BG/NBD P(no purchase in horizon)"]
    churn = run.churn["BG/NBD P(no purchase in horizon)"][0]
    o = synthetic_report.result.dataset.loaded.tables["orders"]
    o = o[(o["order_ts"] <= res.split.cutoff) & (o["status"] == "completed")]
    one_timers = (o.groupby("customer_id").size().reindex(res.truth["customer_id"]).fillna(0) == 1).to_numpy()
    assert (
        one_timers.any() and (churn[one_timers] > 0.05).all()
    )  # 1 - P(alive) would be exactly 0 for every one of them
    assert M.churn_scores(res.truth["churn"].to_numpy(), churn)["roc_auc"] > 0.6
    buyers = res.truth["churn"].to_numpy() == 0
    days = run.next_days[0][buyers]
    assert ((days >= 0) & (days <= res.split.horizon_days)).all()


def test_product_scoring_matches_the_products_own_scoring():
    """The harness scores the product's bundle through predict_tables; it must equal score_tables, unscaled."""
    from service.pipeline import score_tables

    ds = load_dataset("synthetic", customers=800, seed=3)
    split = make_split(ds)
    cal = Calibration(truncate(ds.loaded, split.cutoff), split.cutoff, split.horizon_days, split.train_horizon_days)
    model = SnapshotXGBoost(()).fit(cal)
    frame, _, _ = score_tables(model.bundle_, cal.loaded, split.cutoff)
    pred = model.predict(frame["customer_id"])
    np.testing.assert_allclose(pred.value, frame["predicted_value"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(next(iter(pred.churn.values())), frame["churn_probability"].to_numpy(), rtol=1e-6)


def _cdnow_eval_args(path, out) -> list[str]:
    return [
        "eval",
        "--dataset",
        "cdnow",
        "--data",
        str(path),
        "--out",
        str(out),
        "--cutoff",
        "2025-06-30",
        "--horizon-days",
        "120",
        "--bootstrap",
        "20",
        "--seeds",
        "1",
    ]


@pytest.fixture(scope="module")
def cdnow_style_report(synth_dir, tmp_path_factory):
    """`insight eval --dataset cdnow` through the CLI, on orders of the synthetic data written in CDNOW's layout:
    (the CDNOW-style file, the report directory, the CLI result)."""
    from service.cli import app

    tmp_path = tmp_path_factory.mktemp("cdnow-style")
    o = pd.read_csv(synth_dir / "orders.csv")
    o = o[o["status"] == "completed"]
    ids = o["customer_id"].str[1:].str.zfill(5)
    lines = ["customer_id date number_of_cds dollar_value"] + [
        f" {c} {pd.Timestamp(t).strftime('%Y%m%d')} {n} {a:.2f}"
        for c, t, n, a in zip(ids, o["order_ts"], o["n_items"], o["amount"])
    ]
    path = tmp_path / "CDNOW_master.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    out = tmp_path / "report"
    # an earlier report in the same directory: its ablation plot is not drawn this time (no text in CDNOW), so it
    # goes; a file of the analyst's own stays
    out.mkdir()
    earlier = {"dataset": {}, "split": {}, "models": {}, "command": "insight eval", "created": "2026-01-01"}
    (out / "metrics.json").write_text(json.dumps(earlier | {"plots": {"ablation": "ablation.png"}}))
    (out / "ablation.png").write_bytes(PNG)
    (out / "notes.txt").write_text("mine")
    return path, out, CliRunner().invoke(app, _cdnow_eval_args(path, out))


def test_cli_eval_on_a_cdnow_style_file(cdnow_style_report):
    _, out, res = cdnow_style_report
    assert res.exit_code == 0, res.output
    assert "BG/NBD" in res.output and "normalized" in res.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["split"]["horizon_days"] == 120 and m["models"]["product"]["info"]["same_as"] == "xgb_tabular"
    assert m["models"]["product"]["n_seeds"] == 1  # --seeds reaches the backtest (the default is 5)
    assert m["ablation"] is None  # no text in CDNOW
    assert (out / "lorenz.png").exists() and "ablation.png" not in {p.name for p in out.iterdir()}
    assert not list(out.parent.glob(".report.tmp-*"))  # the staging directory is gone
    assert (out / "notes.txt").read_text() == "mine"


def test_eval_killed_while_writing_its_report_leaves_the_previous_report_whole(cdnow_style_report):
    """SIGKILL once every new report file is staged, before any is moved into place: the previous report is
    byte-identical (no truncated metrics.json, no new plot beside old numbers); the next run removes the staging."""
    import os
    import signal
    import subprocess
    import sys

    from eval.report import remove_orphaned_staging

    path, out, first = cdnow_style_report
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    code = "import sys; from service.cli import app; sys.argv = ['insight'] + sys.argv[1:]; app()"
    env = dict(os.environ, INSIGHT_FAULT_POINT="eval:report-staged")
    proc = subprocess.run(
        [sys.executable, "-c", code, *_cdnow_eval_args(path, out)], env=env, capture_output=True, timeout=600
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    staged = list(out.parent.glob(".report.tmp-*"))  # beside the report folder, not in it
    assert len(staged) == 1 and (staged[0] / "metrics.json").is_file()  # it was killed with everything staged
    assert remove_orphaned_staging(out) == staged and not list(out.parent.glob(".report.tmp-*"))


def test_a_report_folder_is_swapped_whole_and_a_kill_between_the_renames_is_undone(cdnow_style_report, tmp_path):
    """A folder holding only an earlier report is replaced whole (moved file by file, a run killed between two renames
    had left new plots and report.md beside the old metrics.json); killed between the swap's two renames, the old
    report is aside and the next writer puts it back, byte-identical. A folder with the analyst's own files keeps them
    (the fixture's folder takes that path)."""
    import os
    import signal
    import subprocess
    import sys

    from eval.report import remove_orphaned_staging

    path, _, _ = cdnow_style_report
    out = tmp_path / "report"
    code = "import sys; from service.cli import app; sys.argv = ['insight'] + sys.argv[1:]; app()"

    def run_eval(**env):
        return subprocess.run(
            [sys.executable, "-c", code, *_cdnow_eval_args(path, out)],
            env=dict(os.environ, **env),
            capture_output=True,
            timeout=600,
        )

    assert run_eval().returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    proc = run_eval(INSIGHT_FAULT_POINT="eval:old-moved-aside")
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert not out.exists() and len(list(tmp_path.glob(".report.old-*"))) == 1
    remove_orphaned_staging(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    assert run_eval().returncode == 0 and [p.name for p in tmp_path.iterdir()] == ["report"]


def test_two_runs_writing_one_report_folder_both_finish_and_the_last_report_is_whole(
    cdnow_style_report, tmp_path, monkeypatch
):
    """A second run swaps its report in while the first has everything staged: the first had staged inside the folder
    the second swapped away, and failed with FileNotFoundError. Now both finish; the folder holds the last report
    whole, and nothing is left beside it."""
    import eval.report as report
    from service.cli import app

    path, _, _ = cdnow_style_report
    out = tmp_path / "report"
    results, calls = [], []
    real_build, real_fault = report.build_metrics, report.fault_point

    def build(res, command):
        results.append(res)
        return real_build(res, command)

    def second_run_lands(name):
        real_fault(name)
        if name == "eval:report-staged" and not calls:
            calls.append(name)
            report.write_report(results[0], out, "the second run")

    monkeypatch.setattr(report, "build_metrics", build)
    monkeypatch.setattr(report, "fault_point", second_run_lands)
    res = CliRunner().invoke(app, _cdnow_eval_args(path, out))
    assert res.exit_code == 0, res.output
    assert calls
    m = json.loads((out / "metrics.json").read_text())
    assert m["command"] != "the second run"  # the first run swapped in last
    assert {p.name for p in out.iterdir()} >= {"metrics.json", "report.md", *m["plots"].values()}
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_cli_eval_user_error_has_no_traceback(tmp_path):
    from service.cli import app

    res = CliRunner().invoke(
        app, ["eval", "--dataset", "olist", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output


def test_a_report_folder_with_the_analysts_own_report_files_is_refused_before_any_work(tmp_path):
    """An analyst's own metrics.json and report.md in --out had been replaced by the report, exit 0 (reliability probe,
    stop 29, F3); now nothing is read or written and the command names them."""
    from service.cli import app

    out = tmp_path / "mine"
    out.mkdir()
    (out / "metrics.json").write_text('{"auc": 0.91}')
    (out / "report.md").write_text("# My notes\n")
    (out / "lorenz.png").write_bytes(PNG)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = CliRunner().invoke(app, ["eval", "--dataset", "synthetic", "--customers", 200, "--out", str(out)])
    assert res.exit_code == 2 and "holds metrics.json, report.md, lorenz.png" in res.output, res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_eval_killed_while_moving_its_report_in_beside_the_analysts_files_is_finished_by_the_next_run(
    cdnow_style_report, tmp_path
):
    """A folder with the analyst's own files gets the report file by file; killed between two of those moves, it had
    kept new plots beside the old metrics.json and every later run was refused for files "no earlier eval wrote"
    (reliability probe, stop 30, F1). Now the move is journaled: the next run finishes it, then runs."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    from eval.report import REPORT_PLOTS, remove_orphaned_staging

    path, fixture_out, first = cdnow_style_report
    assert first.exit_code == 0, first.output
    out = tmp_path / "report"
    shutil.copytree(fixture_out, out)
    (out / "calibration.png").unlink()  # so the killed run's first move is a new plot beside the old metrics.json
    old_metrics = (out / "metrics.json").read_bytes()
    code = "import sys; from service.cli import app; sys.argv = ['insight'] + sys.argv[1:]; app()"
    env = dict(os.environ, INSIGHT_FAULT_POINT="eval:moving-in")
    proc = subprocess.run(
        [sys.executable, "-c", code, *_cdnow_eval_args(path, out)], env=env, capture_output=True, timeout=600
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert (out / "metrics.json").read_bytes() == old_metrics and list(out.glob(".eval-moving.tmp-*"))
    finished = remove_orphaned_staging(out)
    assert finished and not list(out.glob(".eval-moving.tmp-*")) and [p.name for p in tmp_path.iterdir()] == ["report"]
    m = json.loads((out / "metrics.json").read_text())
    assert (out / "metrics.json").read_bytes() != old_metrics and (out / "notes.txt").read_text() == "mine"
    assert {p.name for p in out.iterdir() if p.name in REPORT_PLOTS} == set(m["plots"].values())
    res = CliRunner().invoke(__import__("service.cli", fromlist=["app"]).app, _cdnow_eval_args(path, out))
    assert res.exit_code == 0, res.output


def test_eval_into_a_link_to_a_report_folder_writes_where_it_points_and_keeps_the_link(cdnow_style_report, tmp_path):
    """The link itself had been replaced by a folder of its own (reliability probe, stop 30, F4)."""
    import shutil

    from service.cli import app

    path, fixture_out, _ = cdnow_style_report
    target = tmp_path / "2025-12"
    shutil.copytree(fixture_out, target)
    (target / "notes.txt").unlink()  # a folder of only a report: swapped whole
    link = tmp_path / "current"
    link.symlink_to(target)
    res = CliRunner().invoke(app, _cdnow_eval_args(path, link))
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and (target / "metrics.json").is_file() and (target / "report.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-12", "current"]
