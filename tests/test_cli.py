"""The CLI: user mistakes end with one clear line on stderr and exit code 2, never a traceback; a newcomer's first
runs print no warnings they cannot act on, counts that add up and say what they count, help that is never cut, and
the version."""

import json
import logging
import os
import re
import socket
import subprocess
import sys
import warnings
from importlib.metadata import version

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_for_every_command():
    for cmd in (
        ["--help"],
        ["data", "synth", "--help"],
        ["train", "--help"],
        ["score", "--help"],
        ["explain", "--help"],
        ["demo", "--help"],
    ):
        r = run(*cmd)
        assert r.exit_code == 0 and "Usage" in r.output


def test_synth_writes_four_tables(tmp_path):
    r = run("data", "synth", "--customers", 50, "--seed", 1, "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert {p.name for p in tmp_path.iterdir()} >= {"customers.csv", "orders.csv", "reviews.csv", "events.csv"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--data", "/no/such/dir", "--out", "/tmp/x"], "does not exist"),
        (["explain", "C1", "--store", "/no/such/store.db"], "profile store does not exist"),
        (["score", "--data", "/no/such/dir", "--model", "/no/such/model", "--store", "/tmp/s.db"], "does not exist"),
        (["train", "--data", "/tmp", "--out", "/tmp/x", "--tier-shares", "VIP=lots"], "cannot parse"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args, message):
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_a_machine_error_keeps_its_notes(capsys):
    """A full disk or a missing permission (OSError) is one line naming the file, followed by the run's notes (where
    the rejected rows went); the notes were dropped for these errors."""
    import errno

    import typer

    from service.cli.errors import user_errors

    @user_errors
    def failing():
        exc = OSError(errno.ENOSPC, "No space left on device", "/data/out/value.json")
        exc.add_note("12 rejected rows are kept in /data/out/rejects")
        raise exc

    with pytest.raises(typer.Exit) as stop:
        failing()
    assert stop.value.exit_code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "error: No space left on device (/data/out/value.json)",
        "note: 12 rejected rows are kept in /data/out/rejects",
    ]


def test_outputs_that_are_not_ours_are_never_replaced(tmp_path):
    """--out and --store that name someone's file or folder are refused before any work: a train into a folder of
    other files had moved it aside and deleted it to put the bundle there."""
    notes, project = tmp_path / "notes.txt", tmp_path / "project"
    notes.write_text("mine")
    project.mkdir()
    (project / "readme.md").write_text("also mine")
    for out, message in ((notes, "is not a model bundle folder"), (project, "not a model bundle (no manifest.json)")):
        r = run("train", "--data", tmp_path, "--out", out, "--no-text")
        assert r.exit_code == 2 and message in r.output and "choose another --out" in r.output, r.output
    for store, message in (
        (project, "is a folder, not a profile store file"),
        (notes, "is not a SQLite profile store"),
    ):
        r = run("score", "--data", tmp_path, "--model", tmp_path / "m", "--store", store)
        assert r.exit_code == 2 and message in r.output, r.output
    assert notes.read_text() == "mine" and [p.name for p in project.iterdir()] == ["readme.md"]


def test_generated_tables_never_overwrite_someone_elses(tmp_path):
    """`insight data synth --out` and `insight demo --workdir` into a folder of real tables are refused; a folder they
    generated before is generated again."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "orders.csv").write_text("order_id,customer_id,order_ts,amount\nO1,C1,2025-01-01,5\n")
    for args in (
        ["data", "synth", "--customers", 50, "--out", real],
        ["demo", "--workdir", tmp_path, "--customers", 200],
    ):
        if args[0] == "demo":
            (tmp_path / "data").mkdir()
            (tmp_path / "data" / "orders.csv").write_text((real / "orders.csv").read_text())
        r = run(*args)
        assert r.exit_code == 2 and "already holds input tables that were not generated here (orders.csv)" in r.output
    assert (real / "orders.csv").read_text().startswith("order_id,customer_id,order_ts,amount\nO1,")
    gen = tmp_path / "generated"
    assert run("data", "synth", "--customers", 50, "--out", gen).exit_code == 0
    assert run("data", "synth", "--customers", 60, "--seed", 2, "--out", gen).exit_code == 0
    # a table of someone's put in, or a generated one edited, since: refused, and both kept (stop 29, F3)
    (gen / "reviews.csv").unlink()
    (gen / "reviews.jsonl").write_text('{"review_id": "R1"}\n')
    with open(gen / "orders.csv", "a") as f:
        f.write("O99,C000001,2025-01-01T00:00:00Z,5.00,completed,1,grocery\n")
    kept = {p.name: p.read_bytes() for p in gen.iterdir()}
    r = run("data", "synth", "--customers", 60, "--seed", 3, "--out", gen)
    assert r.exit_code == 2 and "orders.csv, reviews.jsonl were not generated here or changed since" in r.output
    assert {p.name: p.read_bytes() for p in gen.iterdir()} == kept
    (gen / "reviews.jsonl").unlink()
    (gen / "orders.csv").unlink()
    assert run("data", "synth", "--customers", 60, "--seed", 3, "--out", gen).exit_code == 0


def test_generation_interrupted_halfway_leaves_the_old_tables_whole_and_can_be_run_again(tmp_path, monkeypatch):
    """A `data synth` killed or failing (a full disk) after its first table had left customers of the new seed beside
    orders of the old one, which the next train took without a word; the folder is now written whole beside the old
    one and swapped in."""
    import service.synth.write as write

    real_write = write.write_tables

    def first_table_then_fails(tables, out_dir, **kw):
        real_write({"customers": tables["customers"]}, out_dir, **kw)
        raise OSError(28, "No space left on device")

    out = tmp_path / "gen"
    assert run("data", "synth", "--customers", 50, "--seed", 1, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(write, "write_tables", first_table_then_fails)
    r = run("data", "synth", "--customers", 60, "--seed", 2, "--out", out)
    assert r.exit_code == 2 and "No space left on device" in r.output and "Traceback" not in r.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old tables, every one of them
    assert [p.name for p in tmp_path.iterdir()] == ["gen"]  # no staging folder left
    monkeypatch.setattr(write, "write_tables", real_write)
    r = run("data", "synth", "--customers", 60, "--seed", 2, "--out", out)
    assert r.exit_code == 0, r.output
    assert sum(1 for _ in open(out / "customers.csv")) == 61 and [p.name for p in tmp_path.iterdir()] == ["gen"]
    # a folder that also holds other files keeps them; the tables are moved in
    (out / "notes.txt").write_text("mine")
    assert run("data", "synth", "--customers", 40, "--seed", 3, "--out", out).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine" and sum(1 for _ in open(out / "customers.csv")) == 41


def test_one_order_far_after_the_rest_is_warned_about(tmp_path):
    """One order dated 2100 (for 2024) moved the default cutoff and every snapshot there; training finished with a
    validation Gini of -0.59 and no word. It still trains (the date is valid), with a warning naming the date."""
    d = tmp_path / "d"
    assert run("data", "synth", "--customers", 300, "--seed", 3, "--out", d).exit_code == 0
    with open(d / "orders.csv", "a") as f:
        f.write("O99999999,C000001,2100-12-31T00:00:00Z,10.00,completed,1,grocery\n")
    r = run("train", "--data", d, "--out", tmp_path / "m", "--no-text")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.replace("│", " ").split())
    assert "warning the cutoff is the last order, 2100-12-31" in text and "pass --cutoff" in text


def test_missing_column_names_the_file(tmp_path):
    pd.DataFrame({"order_id": ["o1"], "customer_id": ["a"], "order_ts": ["2025-01-01"]}).to_csv(
        tmp_path / "orders.csv", index=False
    )
    r = run("train", "--data", tmp_path, "--out", tmp_path / "m")
    assert r.exit_code == 2 and "orders.csv" in r.output and "'amount'" in r.output


def test_a_semicolon_separated_file_is_told_so(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id;customer_id;order_ts;amount\no1;a;2025-01-01;5\n")
    r = run("train", "--data", tmp_path, "--out", tmp_path / "m")
    assert r.exit_code == 2 and "the header looks separated by ';': save the file with commas" in r.output


@pytest.mark.slow
def test_explain_json_is_the_api_contract(scored):
    from service.explain import Explanation

    cid = scored.frame["customer_id"].iloc[0]
    r = run("explain", cid, "--store", scored.store, "--json")
    assert r.exit_code == 0, r.output
    exp = Explanation.model_validate(json.loads(r.stdout))
    assert exp.customer_id == cid and exp.check.passed
    assert {
        "customer_id",
        "tier",
        "predicted_value",
        "narrative",
        "drivers",
        "evidence",
        "narrator",
        "check",
        "fallback",
    } <= set(json.loads(r.stdout))


@pytest.mark.slow
def test_unknown_customer(scored):
    r = run("explain", "NOPE", "--store", scored.store)
    assert r.exit_code == 2 and "'NOPE' is not in the store" in r.output


def test_a_busy_port_is_one_line_and_exit_2():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run("serve", "--store", "/no/such/store.db", "--port", port)
    assert r.exit_code == 2, r.output
    assert f"cannot listen on 127.0.0.1:{port}" in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- help, version (issue 12, item 6)


def _commands():
    """Every command path of the CLI, the groups included (``[]`` is ``insight`` itself)."""
    import typer.main

    def walk(cmd, path):
        yield path, cmd
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            yield from walk(sub, path + [name])

    return list(walk(typer.main.get_command(app), []))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("columns", [80, 40])
def test_help_is_never_cut(columns):
    commands = _commands()
    assert {" ".join(p) for p, _ in commands} >= {
        "",
        "train",
        "score",
        "explain",
        "serve",
        "demo",
        "eval",
        "eval-explanations",
        "data",
        "data synth",
    }
    for path, cmd in commands:
        r = runner.invoke(app, path + ["--help"], env={"COLUMNS": str(columns)})
        assert r.exit_code == 0 and r.output.startswith("Usage:"), (path, r.output)
        where = f"insight {' '.join(path)} --help at {columns} columns"
        assert "…" not in r.output and not re.search(r"(?<!\])\.\.\.$", r.output, re.M), f"{where}: cut off\n{r.output}"
        too_wide = [line for line in r.output.splitlines() if len(line) > columns]
        assert not too_wide, f"{where}: lines wider than the terminal: {too_wide}"
        flat = _squash(r.output)
        for param in cmd.params:
            for flag in getattr(param, "opts", []):
                if flag.startswith("--"):
                    assert flag in r.output, f"{where}: {flag} missing"
            if getattr(param, "help", None):
                assert _squash(param.help) in flat, f"{where}: help of {param.name} incomplete"
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            first = sub.get_short_help_str(limit=10_000)
            assert _squash(first) in flat, f"{where}: the summary of '{name}' is incomplete"


def test_version():
    r = run("--version")
    assert r.exit_code == 0
    assert r.output == f"insight (customer-insight) {version('customer-insight')}\n"
    from service import __version__

    assert __version__ == version("customer-insight")  # the source tree and the installed metadata agree


def test_onnx_export_silences_only_its_own_library_noise():
    """The export's tracer warning and two library log lines are dropped; any other warning or message still shows."""
    from torch.jit import TracerWarning

    from embeddings.exports import quiet_export

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Keep()
    loggers = [
        logging.getLogger("sentence_transformers.backend.utils"),
        logging.getLogger("transformers.configuration_utils"),
    ]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with quiet_export():
                warnings.warn_explicit(
                    "torch.tensor results are registered as constants",
                    TracerWarning,
                    "modeling_attn_mask_utils.py",
                    196,
                    module="transformers.modeling_attn_mask_utils",
                )
                warnings.warn_explicit(
                    "a tracer warning from our own code", TracerWarning, "x.py", 1, module="embeddings.other"
                )
                warnings.warn("something else", FutureWarning, stacklevel=1)
                loggers[0].warning(
                    "Saving the exported ONNX model is heavily recommended to avoid having to export it again."
                )
                loggers[1].warning("`torch_dtype` is deprecated! Use `dtype` instead!")
                loggers[1].warning("another transformers message")
            loggers[0].warning("Saving the exported ONNX model is heavily recommended (outside the export)")
        shown = [str(w.message) for w in seen]
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    assert shown == ["a tracer warning from our own code", "something else"]
    assert records == [
        "another transformers message",
        "Saving the exported ONNX model is heavily recommended (outside the export)",
    ]


# ----------------------------------------------------------------------------- a newcomer's first runs (slow: real
# model)


@pytest.fixture(scope="module")
def first_runs(tmp_path_factory):
    """`insight data synth`, `train` and `score` as a newcomer runs them: subprocesses, a fresh cache and no shared
    exports (so the default backend's model export happens too, quietly), default warning filters, a wide terminal
    so that each summary row is one line."""
    work = tmp_path_factory.mktemp("first-runs")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "INSIGHT_EXPORT_DIR")}
    env.update(
        {"INSIGHT_CACHE_DIR": str(work / "cache"), "COLUMNS": "400", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    )

    def cli(*args):
        r = subprocess.run(
            [sys.executable, "-m", "service.cli", *map(str, args)], env=env, capture_output=True, text=True, timeout=900
        )
        assert r.returncode == 0, (args, r.stderr[-3000:])
        return r

    synth = cli("data", "synth", "--customers", 400, "--seed", 4, "--inject-errors", 0.01, "--out", work / "data")
    train = cli("train", "--data", work / "data", "--out", work / "model")
    score = cli("score", "--data", work / "data", "--model", work / "model", "--store", work / "profiles.db")
    return {"synth": synth, "train": train, "score": score}


# What a run may print on stderr: stage ticks, tables (box drawing), their titles, synth's file list.
_EXPECTED_STDERR = re.compile(
    r"^\s*$|^✓ |^[\u2500-\u257f]|^(train|score)\s*$|^validation \(snapshot|^  (customers|orders|reviews|events) |"
    r"^done in "
)


@pytest.mark.slow
def test_first_runs_print_no_warnings(first_runs):
    for name, r in first_runs.items():
        odd = [line for line in r.stderr.splitlines() if not _EXPECTED_STDERR.search(line)]
        assert not odd, f"insight {name}: unexpected stderr lines: {odd}"
        assert not re.search(r"warn|deprecat|traceback|recommended", r.stderr, re.I), r.stderr


def _row(stderr: str, label: str) -> str:
    m = re.search(rf"│ {re.escape(label)}\s+│ (.+?)\s+│", stderr)
    assert m, f"no '{label}' row in:\n{stderr}"
    return m.group(1)


def _n(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.slow
def test_counts_add_up_and_say_what_they_count(first_runs):
    synth = first_runs["synth"].stderr
    written = {m.group(1): _n(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+([\d,]+) rows ->", synth, re.M)}
    assert written["customers"] == 400
    for name in ("train", "score"):
        err = first_runs[name].stderr
        read, kept, rejected = map(
            _n, re.fullmatch(r"([\d,]+) read = ([\d,]+) kept \+ ([\d,]+) rejected", _row(err, "input rows")).groups()
        )
        assert read == kept + rejected and rejected > 0
        per_table = {}
        for table in ("customers", "orders", "reviews", "events"):
            r, k, j = map(
                _n,
                re.fullmatch(r"([\d,]+) read = ([\d,]+) kept \+ ([\d,]+) rejected", _row(err, f"  {table}")).groups(),
            )
            assert r == k + j and r == written[table], (name, table)
            per_table[table] = (r, k, j)
        assert sum(v[0] for v in per_table.values()) == read and sum(v[2] for v in per_table.values()) == rejected
        assert "<table>.rejects.csv" in _row(err, "rejected rows")

    train = first_runs["train"].stderr
    m = re.fullmatch(
        r"([\d,]+) in the data; ([\d,]+) with an order by the cutoff (\S+) \(tiers are cut on these\)",
        _row(train, "customers"),
    )
    assert m, _row(train, "customers")
    in_data, with_orders = _n(m.group(1)), _n(m.group(2))
    assert in_data == 400 and 0 < with_orders <= in_data
    rows = _row(train, "training rows")
    total, snapshots = re.fullmatch(
        r"([\d,]+) = one per customer with an order before each of (\d+) snapshots \((.+)\)"
        r"(; the validation customers are left out)?",
        rows,
    ).group(1, 3)
    per_snapshot = [_n(n) for n in re.findall(r"\d{4}-\d{2}-\d{2}: ([\d,]+)", snapshots)]
    assert len(per_snapshot) >= 2 and sum(per_snapshot) == _n(total) and max(per_snapshot) <= with_orders
    assert re.fullmatch(
        r"[\d,]+ = customers (held out of training )?with an order before \S+, checked against their next \d+ days",
        _row(train, "validation rows"),
    )

    score = first_runs["score"]
    m = re.fullmatch(
        r"([\d,]+) in the data = ([\d,]+) scored \(an order by the cutoff (\S+)\) \+ "
        r"([\d,]+) not scored \(no valid order by then\)",
        _row(score.stderr, "customers"),
    )
    assert m, _row(score.stderr, "customers")
    known, scored, unscored = _n(m.group(1)), _n(m.group(2)), _n(m.group(4))
    assert (
        known == scored + unscored == in_data
        and scored == with_orders
        and m.group(3) == re.search(r"cutoff (\S+)", _row(train, "customers")).group(1)
    )
    tiers = [_n(n) for n in re.findall(r"^│ (?:VIP|High|Medium|Low)\s+│\s+([\d,]+) │", score.stdout, re.M)]
    assert sum(tiers) == scored


@pytest.mark.slow
@pytest.mark.parametrize(
    "env, message",
    [
        (
            {"INSIGHT_LLM_PROVIDER": "gpt9"},
            "INSIGHT_LLM_PROVIDER = 'gpt9': Input should be 'template', 'openai' or 'hf'",
        ),
        (
            {"INSIGHT_LLM_PROVIDER": "openai", "INSIGHT_LLM_MAX_TOKENS": "abc"},
            "INSIGHT_LLM_MAX_TOKENS = 'abc': Input should be a valid integer",
        ),
    ],
)
def test_a_bad_setting_is_named_by_its_environment_variable(scored, monkeypatch, env, message):
    """Before: a pydantic dump over four lines naming the model class ("1 validation error for NarratorOptions")."""
    from service.config import get_settings

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()  # read this environment, not the one an earlier test cached
    try:
        r = run("explain", scored.frame["customer_id"].iloc[0], "--store", scored.store)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert r.exit_code == 2 and message in r.output and "validation error for" not in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1


def test_a_bad_secret_setting_is_never_echoed():
    from pydantic import SecretStr, ValidationError
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from service.cli.errors import settings_message

    class Probe(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="PROBE_")
        api_key: SecretStr
        store_url: int = 0

    try:
        Probe(api_key=["sk-very-secret"], store_url="postgres://u:pw@h/db")  # type: ignore[arg-type]
    except ValidationError as exc:
        text = settings_message(exc)
    assert "PROBE_API_KEY" in text and "PROBE_STORE_URL" in text
    assert "sk-very-secret" not in text and "pw@" not in text


def test_a_settings_file_that_is_not_utf8_is_named(tmp_path, monkeypatch):
    """Settings are read from .env in the current folder: one saved as Latin-1 (or garbage) had said only "'utf-8'
    codec can't decode byte 0xff in position 30"."""
    from service.config import get_settings

    (tmp_path / ".env").write_bytes(b"INSIGHT_LLM_PROVIDER=template\n\xff\xfe caf\xe9\n")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        r = run("explain", "C1", "--store", tmp_path / "none.db")
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 2 and ".env: the settings file is not UTF-8" in r.output, r.output


def test_settings_in_the_env_file_reach_those_read_outside_the_settings_class(tmp_path, monkeypatch):
    """INSIGHT_PLAYBOOK in .env (like the input bounds, index and export folders, embedding backend) had been ignored:
    only the Settings class read .env. A variable set in the environment still wins."""
    monkeypatch.setenv("INSIGHT_PLAYBOOK", "unset after the test")
    monkeypatch.delenv("INSIGHT_PLAYBOOK")  # the CLI sets it from .env in this process; teardown unsets it again
    from_file = tmp_path / "from-env-file.toml"
    (tmp_path / ".env").write_text(f"INSIGHT_PLAYBOOK={from_file}\n")
    monkeypatch.chdir(tmp_path)
    r = run("explain", "C1", "--store", tmp_path / "none.db")
    assert f"{from_file}: cannot read the playbook" in r.output, r.output
    from_env = tmp_path / "from-environment.toml"
    monkeypatch.setenv("INSIGHT_PLAYBOOK", str(from_env))
    r = run("explain", "C1", "--store", tmp_path / "none.db")
    assert f"{from_env}: cannot read the playbook" in r.output, r.output


def test_a_broken_playbook_stops_the_server_and_is_told_beside_an_explanation(scored, tmp_path, monkeypatch):
    """INSIGHT_PLAYBOOK naming a broken file had been ignored in silence: every answer lost its next action."""
    broken = tmp_path / "playbook.toml"
    broken.write_text("x = [")
    monkeypatch.setenv("INSIGHT_PLAYBOOK", str(broken))
    monkeypatch.setenv("INSIGHT_API_KEYS", "k:agent")
    with socket.socket() as probe:  # a port free now, so the busy-port check (which comes first) passes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    r = run("serve", "--store", scored.store, "--port", port)
    assert r.exit_code == 2 and f"{broken}: cannot read the playbook" in r.output, r.output
    r = run("serve", "--store", scored.store, "--port", port, "--log-level", "bogus")  # a KeyError after the load
    assert r.exit_code == 2 and "--log-level 'bogus'" in r.output and "Traceback" not in r.output, r.output
    cid = scored.frame["customer_id"].iloc[0]
    r = run("explain", cid, "--store", scored.store)
    assert r.exit_code == 0 and "warning:" in r.output and "the explanation has no next action" in r.output


def test_paths_are_shown_as_the_user_would_type_them(tmp_path, monkeypatch):
    """The run summaries print the store, index and rejects folders relative to the current folder when inside it
    (an absolute temp path had filled the summary table's cell and been cut); outside it, and database URLs, as
    given."""
    from service.cli.output import shown_path

    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "out" / "p.db.rejects") == os.path.join("out", "p.db.rejects")
    assert shown_path("p.db") == "p.db"
    assert shown_path("/definitely/elsewhere/p.db") == "/definitely/elsewhere/p.db"
    assert shown_path("postgresql://u@localhost:5432/db") == "postgresql://u@localhost:5432/db"


def test_a_database_password_is_never_printed(tmp_path):
    """`insight explain` and `eval-explanations` printed a PostgreSQL store URL with its password when the database
    could not be read, over two lines; a symlink loop as --store was a RuntimeError traceback."""
    url = "postgresql://user:s3cretpw@127.0.0.1:1/db"
    in_query = "postgresql://user@127.0.0.1:1/db?password=s3cretpw"  # libpq's other place for it
    loop = tmp_path / "loop.db"
    loop.symlink_to(loop)
    for args in (
        ["explain", "C1", "--store", url],
        ["explain", "C1", "--store", in_query],
        ["eval-explanations", "--store", url, "--n", "1"],
        ["eval-explanations", "--store", in_query, "--n", "1"],
        ["explain", "C1", "--store", str(loop)],
    ):
        r = run(*args)
        assert r.exit_code == 2 and "s3cretpw" not in r.output and "Traceback" not in r.output, r.output
        assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1, r.output
    # the line a successful score run ends with names the store by shown_path
    from service.cli.output import shown_path

    assert "s3cretpw" not in shown_path(url) + shown_path(in_query) and "127.0.0.1:1/db" in shown_path(url)


def test_stores_that_differ_by_schema_socket_or_a_folded_name_keep_apart_index_folders(tmp_path, monkeypatch):
    """Two PostgreSQL stores in one database (schemas by search_path), two clusters reached through sockets, or names
    that fold alike ('my db', 'my_db') had one index folder, so scoring one deleted the other's index (stop 29, F6). A
    plain URL keeps the folder it always had."""
    from service.store_location import index_root

    monkeypatch.setenv("INSIGHT_INDEX_DIR", str(tmp_path))
    groups = [
        (
            "postgresql://u:p@h:5432/shop?options=-csearch_path%3Da",
            "postgresql://u:p@h:5432/shop?options=-csearch_path%3Db",
        ),
        ("postgresql:///shop?host=/run/pg&port=5432", "postgresql:///shop?host=/run/pg&port=5433"),
        ("postgresql://h/my db", "postgresql://h/my_db"),
    ]
    for a, b in groups:
        assert index_root(a) != index_root(b), (a, b)
    assert index_root("postgresql://u:p@h:5432/shop") == tmp_path / "h-5432-shop"
    assert index_root("postgresql://u:p@h:5432/shop?password=x") == index_root("postgresql://u@h:5432/shop?password=y")


def test_an_unknown_long_id_and_an_eval_out_that_is_a_file_are_one_line(scored, tmp_path):
    """A 100,000-character id had been echoed over 1,252 lines; `eval --out <a file>` failed only after the whole
    backtest."""
    r = run("explain", "X" * 100_000, "--store", scored.store)
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and "100,000 characters" in r.output and len(r.output) < 400
    afile = tmp_path / "afile"
    afile.write_text("mine")
    r = run("eval", "--dataset", "synthetic", "--customers", 200, "--out", afile)
    assert r.exit_code == 2 and "is a file" in r.output and "reading" not in r.output, r.output
    assert afile.read_text() == "mine"


def test_train_options_are_checked_before_any_work(tmp_path):
    """Tier shares that cannot be were refused only after the embeddings and the training; a currency such as 'USD 100'
    was taken and made every explanation fail its own check."""
    for args, said in (
        (["--tier-shares", "VIP=0.5,High=0.5,Medium=0.3"], "sum to less than 1"),
        (["--currency", "USD 100"], "--currency"),
        (["--currency", ""], "--currency"),
    ):
        r = run("train", "--data", tmp_path / "no-such-data", "--out", tmp_path / "m", *args)
        assert r.exit_code == 2 and said in r.output, r.output


@pytest.mark.parametrize("var", ["INSIGHT_DATA_DIR", "INSIGHT_API_SNAPSHOT_DIR"])
def test_a_file_where_a_folder_setting_is_meant_is_named(tmp_path, monkeypatch, var):
    """A file in INSIGHT_DATA_DIR or INSIGHT_API_SNAPSHOT_DIR had been reported as 'no orders table' or 'cannot read
    the profile store', the setting unnamed."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv(var, str(afile))
    monkeypatch.setenv("INSIGHT_API_KEYS", "k:agent")
    r = run("serve", "--store", tmp_path / "p.db")
    assert r.exit_code == 2 and var in r.output and "not a folder" in r.output, r.output


@pytest.mark.parametrize(
    "env, message",
    [
        ({"INSIGHT_AMOUNT_MAX": "-1"}, "INSIGHT_AMOUNT_MAX='-1' must be a number above 0"),
        ({"INSIGHT_N_ITEMS_MAX": "lots"}, "INSIGHT_N_ITEMS_MAX='lots' is not a number"),
        ({"INSIGHT_DATE_MIN": "2200-01-01"}, "must be increasing"),
    ],
)
def test_serve_refuses_a_bad_input_bound_before_it_starts(scored, monkeypatch, env, message):
    """The server had started and answered every valid POST /v1/score with a 422 that blamed the request's tables
    (hostile probe, stop 29, F5); `train` already refused such a setting."""
    import socket

    monkeypatch.setenv("INSIGHT_API_KEYS", "k1:agent")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with socket.socket() as busy:  # were the setting let through, the busy port would fail it, never a server started
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = run("serve", "--store", scored.store, "--port", busy.getsockname()[1])
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1, r.output
    from service.api.app import create_app
    from service.tables import DataError

    with pytest.raises(DataError, match=message.split("'")[0] or "range"):  # the app itself, however it is started
        create_app(store=scored.store, load=False)
