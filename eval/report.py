"""Write an evaluation's report files from a BacktestResult: ``metrics.json`` (every number), the plots, and
``report.md`` (tables + plots), plus the rows each table's validation rejected. The README's per-dataset tables come
from ``metrics.json`` through ``python -m eval.readme_tables``.

A killed or failed run never leaves a half-written report: every file is written into ``.<out>.tmp-<pid>-*`` beside
the output directory first (not inside it: a concurrent run's swap would take a staging folder inside with the old
report), then the folder is swapped in whole (``service.crash.swap_dir``); a later run removes the temp directories of
writers that are gone.

Where each part lives: the content of metrics.json in eval.report_metrics, the markdown of report.md in
eval.report_markdown and eval.report_value_markdown, the headline rows and verdict (also printed by the CLI) in
eval.report_headline, the figures' formatting in eval.report_format, the drawings in eval.plots.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from eval import plots
from eval.backtest import BacktestResult
from eval.report_headline import headline_rows, verdict
from eval.report_markdown import render_markdown
from eval.report_metrics import build_metrics
from service.crash import fault_point, orphaned, recover_swap, remove, swap_dir, write_text_atomic
from service.rejects_files import write_rejects

__all__ = ["build_metrics", "headline_rows", "render_markdown", "verdict", "write_report"]


def _plot_labels(ok: dict, shown: dict) -> dict[str, str]:
    """Legend label per model drawn: its label, what it stands in for (the tabular model the product equals when the
    data has no text), and its seed count when it has several."""
    return {
        k: r.label
        + (" = product (no text)" if ok.get("product") and ok["product"].info.get("same_as") == k else "")
        + (f", {r.n_seeds} seeds" if r.n_seeds > 1 else "")
        for k, r in shown.items()
    }


def _churn_plots(
    m: dict, ok: dict, value_tables: dict, base_rate: float, out_dir: Path, title: str, cur: str
) -> dict[str, Path]:
    """The calibration plot (value deciles and churn reliability side by side) and, where a model has a churn score,
    the churn calibration plot; a churn score of a model drawn under another's name is left out."""
    churn_curves = {
        label: (c["calibration"], c.get("ece"), c.get("roc_auc"), c["model"])
        for label, c in m["churn"].items()
        if not ok[c["model"]].info.get("same_as")
    }
    pngs = {
        "calibration": plots.calibration(
            value_tables, churn_curves, base_rate, out_dir / "calibration.png", f"Calibration, {title}", cur
        )
    }
    if churn_curves:
        pngs["churn_calibration"] = plots.churn_calibration(
            {k: (v[0], v[2] if v[2] is not None else float("nan")) for k, v in churn_curves.items()},
            base_rate,
            out_dir / "churn_calibration.png",
            f"Churn calibration, {title}",
        )
    return pngs


def _draw_plots(res: BacktestResult, m: dict, out_dir: Path) -> dict[str, Path]:
    """Every plot of the report, drawn into ``out_dir``: plot name -> PNG path (in the report's order)."""
    p = res.primary
    ds = res.dataset
    title = f"{ds.name}: cutoff {p.split.cutoff.date()}, horizon {p.split.horizon_days} days"
    ok = {k: r for k, r in p.runs.items() if r.error is None}
    shown = {k: r for k, r in ok.items() if not r.info.get("same_as")}
    labels = _plot_labels(ok, shown)
    deciles = {k: (labels[k], m["models"][k]["value"]["deciles"]) for k in shown}
    pngs = {
        "lorenz": plots.lorenz(
            p.truth["future_value"].to_numpy(),
            {k: (labels[k], r.values, m["models"][k]["value"]["normalized_gini"]) for k, r in shown.items()},
            out_dir / "lorenz.png",
            f"Cumulative gain, {title}",
        ),
        "deciles": plots.deciles(
            deciles, out_dir / "deciles.png", ds.currency, f"Predicted vs actual value by decile, {title}"
        ),
    }
    pngs |= _churn_plots(m, ok, deciles, float(p.truth["churn"].mean()), out_dir, title, ds.currency)
    if m.get("ablation") and m["ablation"].get("table"):
        pngs["ablation"] = plots.ablation(
            m["ablation"]["table"], out_dir / "ablation.png", f"Text-feature ablation, {title}"
        )
    if m.get("rolling"):
        pngs["rolling"] = plots.rolling(
            m["rolling"], labels, out_dir / "rolling.png", f"Normalized Gini per cutoff, {ds.name}"
        )
    return pngs


def write_report(res: BacktestResult, out_dir: Path, command: str) -> tuple[dict, Path, Path]:
    """Write metrics.json, the plots and report.md into ``out_dir``; returns (metrics, report path, metrics path).

    The files are staged in a temp directory and renamed into place (``metrics.json`` last), so a run killed before
    the renames leaves the previous report whole; plots the previous report listed and this one does not draw are
    removed after."""
    remove_orphaned_staging(out_dir)  # first: it puts back a report a killed swap had left aside
    out_dir.mkdir(parents=True, exist_ok=True)
    before = _listed_plots(out_dir / "metrics.json")
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    journal = out_dir / f".eval-moving.tmp-{os.getpid()}.json"  # written only when the report is moved in file by file
    try:
        m = build_metrics(res, command)
        m["plots"] = {k: v.name for k, v in _draw_plots(res, m, stage).items()}
        write_rejects(res.dataset.loaded.rejects, stage / "rejects", suffix=".rejects.csv.gz")
        (stage / "report.md").write_text(render_markdown(m))
        (stage / "metrics.json").write_text(json.dumps(m, indent=1, ensure_ascii=False) + "\n")
        fault_point("eval:report-staged")
        if _holds_only_its_report(out_dir, before):
            swap_dir(stage, out_dir, fault="eval")
        else:  # the folder holds the analyst's own files too: they stay, the report's files are moved in one by one
            write_text_atomic(
                journal, json.dumps({"stage": str(stage), "remove": sorted(before - set(m["plots"].values()))})
            )
            _move_in(journal)
    finally:
        if not journal.exists():  # a move that failed half-way stays journaled, for the next run to finish
            remove(stage)
    return m, out_dir / "report.md", out_dir / "metrics.json"


def _move_in(journal: Path) -> None:
    """Move the staged report the journal names into its folder file by file (metrics.json last: it names the rest),
    remove the plots the previous report listed and this one does not, then the staging folder and the journal. A run
    killed half-way leaves the journal, and the next writer (``remove_orphaned_staging``) finishes the move, so the
    folder never keeps a mix of two reports."""
    out_dir = journal.parent
    plan = json.loads(journal.read_text())
    stage = Path(plan["stage"])
    staged = [p.relative_to(stage) for p in stage.rglob("*") if p.is_file()] if stage.is_dir() else []
    for i, rel in enumerate(sorted(staged, key=lambda r: (r.name == "metrics.json", r))):
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / rel, out_dir / rel)
        if i == 0:
            fault_point("eval:moving-in")
    for name in plan["remove"]:
        if "/" not in name:
            remove(out_dir / name)
    remove(stage)
    remove(journal)


def _holds_only_its_report(out_dir: Path, plots: set[str]) -> bool:
    """Whether ``out_dir`` holds nothing but an earlier report: its metrics.json, report.md, the plots that metrics.json
    lists and its rejects folder (and staging folders that earlier versions kept inside it)."""
    for p in out_dir.iterdir():
        if p.name.startswith(".report.tmp-"):
            continue
        if p.is_file() and (p.name in ("metrics.json", "report.md") or p.name in plots):
            continue
        if p.is_dir() and p.name == "rejects" and all(q.name.endswith(".rejects.csv.gz") for q in p.iterdir()):
            continue
        return False
    return True


def remove_orphaned_staging(out_dir: Path) -> list[Path]:
    """Repair what a killed report writer left (a live writer's stays): a report it was moving into ``out_dir`` file by
    file is moved in whole; beside ``out_dir`` its staging folder is removed, and a report it had set aside is put back
    when ``out_dir`` is missing; inside ``out_dir`` the staging folders of earlier versions. Returns the journals
    finished and the paths restored or removed."""
    moves = [j for j in out_dir.glob(".eval-moving.tmp-*.json") if orphaned(j)] if out_dir.is_dir() else []
    for journal in moves:  # first: its staging folder beside out_dir is what recover_swap would remove
        try:
            _move_in(journal)
        except (OSError, ValueError, KeyError, TypeError):
            remove(journal)  # unreadable: nothing to finish
    touched = moves + recover_swap(out_dir)
    gone = [p for p in out_dir.glob(".report.tmp-*") if orphaned(p)] if out_dir.is_dir() else []
    for p in gone:
        remove(p)
    return touched + gone


# What write_report puts in a report folder
REPORT_PLOTS = ("lorenz.png", "deciles.png", "calibration.png", "churn_calibration.png", "ablation.png", "rolling.png")


def check_report_out(out_dir: Path) -> None:
    """Refuse, before any work, a folder whose report.md, metrics.json or plot files are not an earlier report of this
    harness (an analyst's own metrics.json or notes in report.md would be replaced). ValueError."""
    if not out_dir.is_dir():
        return
    ours = _is_our_metrics(out_dir / "metrics.json")
    listed = _listed_plots(out_dir / "metrics.json") if ours else set()
    foreign = []
    if (out_dir / "metrics.json").exists() and not ours:
        foreign.append("metrics.json")
    report = out_dir / "report.md"
    if report.exists() and not (ours and _starts_with(report, b"# Evaluation report")):
        foreign.append("report.md")
    foreign += [name for name in REPORT_PLOTS if (out_dir / name).exists() and name not in listed]
    if foreign:
        raise ValueError(
            f"--out {out_dir}: holds {', '.join(foreign)}, which no earlier `insight eval` wrote there; the report "
            "would replace them, so move them out or choose another --out"
        )


def _is_our_metrics(path: Path) -> bool:
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and {"dataset", "split", "models", "command", "created"} <= m.keys()


def _starts_with(path: Path, head: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(head)) == head
    except OSError:
        return False


def _listed_plots(metrics_path: Path) -> set[str]:
    """The plot files an existing metrics.json lists (none when it is missing or unreadable)."""
    try:
        plots_ = json.loads(metrics_path.read_text()).get("plots") or {}
    except (OSError, ValueError, AttributeError):
        return set()
    return {str(v) for v in plots_.values() if isinstance(v, str) and "/" not in v and v.endswith(".png")}
