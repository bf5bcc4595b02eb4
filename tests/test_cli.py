"""The CLI: user mistakes end with one clear line on stderr and exit code 2, never a traceback."""
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_for_every_command():
    for cmd in (["--help"], ["data", "synth", "--help"], ["train", "--help"], ["score", "--help"], ["explain", "--help"], ["demo", "--help"]):
        r = run(*cmd)
        assert r.exit_code == 0 and "Usage" in r.output


def test_synth_writes_four_tables(tmp_path):
    r = run("data", "synth", "--customers", 50, "--seed", 1, "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert {p.name for p in tmp_path.iterdir()} >= {"customers.csv", "orders.csv", "reviews.csv", "events.csv"}


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/no/such/dir", "--out", "/tmp/x"], "does not exist"),
    (["explain", "C1", "--store", "/no/such/store.db"], "profile store does not exist"),
    (["score", "--data", "/no/such/dir", "--model", "/no/such/model", "--store", "/tmp/s.db"], "does not exist"),
    (["train", "--data", "/tmp", "--out", "/tmp/x", "--tier-shares", "VIP=lots"], "cannot parse"),
])
def test_user_errors_are_one_line_without_traceback(args, message):
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_missing_column_names_the_file(tmp_path):
    pd.DataFrame({"order_id": ["o1"], "customer_id": ["a"], "order_ts": ["2025-01-01"]}).to_csv(tmp_path / "orders.csv", index=False)
    r = run("train", "--data", tmp_path, "--out", tmp_path / "m")
    assert r.exit_code == 2 and "orders.csv" in r.output and "'amount'" in r.output


@pytest.mark.slow
def test_explain_json_is_the_api_contract(scored):
    from service.explain import Explanation

    cid = scored.frame["customer_id"].iloc[0]
    r = run("explain", cid, "--store", scored.store, "--json")
    assert r.exit_code == 0, r.output
    exp = Explanation.model_validate(json.loads(r.stdout))
    assert exp.customer_id == cid and exp.check.passed
    assert {"customer_id", "tier", "predicted_value", "narrative", "drivers", "evidence", "narrator", "check", "fallback"} <= set(json.loads(r.stdout))


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
