"""Tests for the synthetic data generator (service/synth.py)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from service import synth

N = 3000
SEED = 11
END = "2025-12-31"
PERIOD_START = pd.Timestamp("2024-01-01", tz="UTC")  # END - 2 years (730.5 days), floored to the minute
PERIOD_END = pd.Timestamp("2026-01-01", tz="UTC")  # exclusive: a date-only END runs through 23:59
CUTOFF = PERIOD_END - pd.Timedelta(days=90)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$")

COLUMNS = {
    "customers": ["customer_id", "signup_ts", "country"],
    "orders": ["order_id", "customer_id", "order_ts", "amount", "status", "n_items", "category"],
    "reviews": ["review_id", "customer_id", "review_ts", "rating", "text", "order_id"],
    "events": ["customer_id", "event_ts", "event_type", "text", "product_id"],
}
TS_COL = {"customers": "signup_ts", "orders": "order_ts", "reviews": "review_ts", "events": "event_ts"}
BULK_WORDS = re.compile(
    r"\b(?:bulk|wholesale|pack of|office|our team|staff|vat invoice|business|company)\b", re.IGNORECASE
)
COMPLAINT_WORDS = re.compile(
    r"refund|never ordering|never again|damaged|late|broken|missing|worst|avoid|"
    r"nightmare|elsewhere|unacceptable|closing my account",
    re.IGNORECASE,
)


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, utc=True, format="%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return synth.generate(N, seed=SEED, end=END)


@pytest.fixture(scope="module")
def parsed(tables) -> dict[str, pd.DataFrame]:
    out = {}
    for name, col in TS_COL.items():
        df = tables[name].copy()
        df["ts"] = _ts(df[col])
        out[name] = df
    return out


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames():
    a = synth.generate(400, seed=3)
    b = synth.generate(400, seed=3)
    assert set(a) == set(b) == {*synth.TABLES, "truth", "errors"}
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_different_seed_gives_different_data():
    a = synth.generate(400, seed=3)
    b = synth.generate(400, seed=4)
    assert not a["orders"].equals(b["orders"])
    assert not a["reviews"]["text"].equals(b["reviews"]["text"])
    assert not a["customers"]["signup_ts"].equals(b["customers"]["signup_ts"])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_files_are_byte_identical_for_the_same_seed(tmp_path, fmt):
    pa_ = synth.write_tables(synth.generate(300, seed=8), tmp_path / "a", fmt=fmt)
    pb_ = synth.write_tables(synth.generate(300, seed=8), tmp_path / "b", fmt=fmt)
    assert set(pa_) == set(synth.TABLES)
    for name in synth.TABLES:
        assert pa_[name].name == f"{name}.{fmt}"
        assert pa_[name].read_bytes() == pb_[name].read_bytes(), name


# --------------------------------------------------------------------------- contract


def test_columns_and_dtypes(tables):
    for name, cols in COLUMNS.items():
        df = tables[name]
        assert list(df.columns) == cols, name
        assert len(df) > 0
        for c in cols:
            if c in ("amount",):
                assert df[c].dtype == np.float64
            elif c in ("rating", "n_items"):
                assert df[c].dtype == np.int64, (name, c)
            else:
                assert df[c].dtype == "str", (name, c, df[c].dtype)
        assert df[TS_COL[name]].str.match(ISO).all(), name
    assert len(tables["errors"]) == 0
    assert tables["customers"]["customer_id"].str.match(r"^C\d{6}$").all()
    assert tables["orders"]["order_id"].is_unique
    assert tables["reviews"]["review_id"].is_unique
    assert tables["customers"]["customer_id"].is_unique
    assert set(tables["orders"]["status"]) == {"completed", "returned", "canceled"}
    assert (tables["orders"]["status"] == "completed").mean() > 0.8
    assert set(tables["orders"]["category"]) <= set(synth.catalogue()["category"])
    assert set(tables["events"]["event_type"]) == {"view", "search", "cart"}


def test_value_ranges_and_references(tables, parsed):
    cust, orders, reviews, events = (parsed[t] for t in synth.TABLES)
    assert reviews["rating"].between(1, 5).all()
    assert (orders["amount"] > 0).all()
    assert np.allclose(orders["amount"] * 100, np.round(orders["amount"] * 100))
    assert (orders["n_items"] >= 1).all()
    for df in (cust, orders, reviews, events):
        assert df["ts"].min() >= PERIOD_START and df["ts"].max() < PERIOD_END
    # the data reach the end of the period
    assert orders["ts"].max() > PERIOD_END - pd.Timedelta(days=2)
    ids = set(cust["customer_id"])
    for df in (orders, reviews, events):
        assert set(df["customer_id"]) <= ids
    # nothing happens before signup
    signup = cust.set_index("customer_id")["ts"]
    for df in (orders, reviews, events):
        assert (df["ts"] >= signup.reindex(df["customer_id"]).to_numpy()).all()
    # each review follows one of its author's (non-canceled) orders by a few days
    o = orders.set_index("order_id")
    ro = o.reindex(reviews["order_id"])
    assert ro["customer_id"].notna().all()
    assert (ro["customer_id"].to_numpy() == reviews["customer_id"].to_numpy()).all()
    lag = (reviews["ts"].to_numpy() - ro["ts"].to_numpy()) / pd.Timedelta(days=1)
    assert (lag > 0).all() and (lag <= 21).all()
    assert (ro["status"] != "canceled").all()
    # texts: non-empty; product ids exactly on view/cart events, from the catalogue
    assert (reviews["text"].str.strip().str.len() > 0).all()
    assert (events["text"].str.strip().str.len() > 0).all()
    is_search = events["event_type"] == "search"
    assert events.loc[is_search, "product_id"].isna().all()
    assert events.loc[~is_search, "product_id"].isin(set(synth.catalogue()["product_id"])).all()
    # texts vary but repeat (templates x products)
    assert 0.2 < reviews["text"].nunique() / len(reviews) < 0.95


def test_coverage_of_reviews_and_events(tables):
    n = len(tables["customers"])
    assert 0.30 <= tables["reviews"]["customer_id"].nunique() / n <= 0.50
    assert 0.60 <= tables["events"]["customer_id"].nunique() / n <= 0.80


def test_heavy_tail_one_time_buyers_and_churners(parsed):
    orders = parsed["orders"]
    spend = orders[orders["status"] == "completed"].groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    top = spend.iloc[: len(spend) // 10].sum() / spend.sum()
    assert top > 0.40, top
    n_orders = orders.groupby("customer_id").size()
    one_time = (n_orders == 1).mean()
    assert 0.35 <= one_time <= 0.60, one_time
    # many buyers before the cutoff do not come back in the last 90 days
    before = set(orders.loc[orders["ts"] <= CUTOFF, "customer_id"])
    after = set(orders.loc[orders["ts"] > CUTOFF, "customer_id"])
    assert 0.4 < 1 - len(before & after) / len(before) < 0.9


def test_seasonality_and_staggered_acquisition(parsed):
    ts = parsed["orders"]["ts"]
    y24 = ts[ts.dt.year == 2024]
    per_month = y24.dt.month.value_counts().sort_index()
    assert per_month[[11, 12]].mean() > 1.3 * per_month[[8, 9]].mean()  # Q4 peak beats the growth trend
    signup_q = parsed["customers"]["ts"].dt.quarter + 4 * (parsed["customers"]["ts"].dt.year - 2024)
    counts = signup_q.value_counts()
    assert len(counts) == 8 and counts.min() > 0.03 * len(signup_q)  # every quarter acquires customers


def test_truth_frame(tables):
    truth = tables["truth"]
    assert len(truth) == N
    assert truth["customer_id"].equals(tables["customers"]["customer_id"])
    assert set(truth["segment"]) == set(synth.SEGMENTS)
    shares = truth["segment"].value_counts(normalize=True)
    assert 0.4 < shares["regular"] < 0.6 and 0.04 < shares["business"] < 0.10
    assert isinstance(truth["change_ts"].dtype, pd.DatetimeTZDtype)
    # browsers never order; everyone else does
    buyers = set(tables["orders"]["customer_id"])
    assert not (truth.loc[truth["segment"] == "browser", "customer_id"].isin(buyers)).any()
    assert truth.loc[truth["segment"] != "browser", "customer_id"].isin(buyers).all()
    # revealed business customers really use bulk language somewhere
    texts = pd.concat([tables["reviews"][["customer_id", "text"]], tables["events"][["customer_id", "text"]]])
    bulky = set(texts.loc[texts["text"].str.contains(BULK_WORDS), "customer_id"])
    rev_bus = truth.loc[(truth["segment"] == "business") & truth["revealed"], "customer_id"]
    assert rev_bus.isin(bulky).mean() > 0.9


# --------------------------------------------------------------------------- text carries future signal


def test_bulk_language_predicts_spend_above_history(parsed):
    orders, reviews, events = parsed["orders"], parsed["reviews"], parsed["events"]
    texts = pd.concat(
        [
            reviews.loc[reviews["ts"] <= CUTOFF, ["customer_id", "text"]],
            events.loc[events["ts"] <= CUTOFF, ["customer_id", "text"]],
        ]
    )
    bulky = set(texts.loc[texts["text"].str.contains(BULK_WORDS), "customer_id"])
    done = orders[orders["status"] == "completed"]
    first = orders[orders["ts"] <= CUTOFF].groupby("customer_id")["ts"].min()
    past = done[done["ts"] <= CUTOFF].groupby("customer_id")["amount"].sum().reindex(first.index, fill_value=0)
    future = done[done["ts"] > CUTOFF].groupby("customer_id")["amount"].sum().reindex(first.index, fill_value=0)
    exposure = ((CUTOFF - first).dt.total_seconds() / 86400).clip(lower=90)
    expected = past * 90 / exposure  # history-based run-rate for the next 90 days
    is_bulk = first.index.isin(bulky)
    assert is_bulk.sum() >= 50
    ratio_bulk = future[is_bulk].sum() / expected[is_bulk].sum()
    ratio_rest = future[~is_bulk].sum() / expected[~is_bulk].sum()
    assert ratio_bulk > 1.5 * ratio_rest, (ratio_bulk, ratio_rest)
    assert ratio_bulk > 1.2


def test_complaints_predict_churn(parsed):
    orders, reviews = parsed["orders"], parsed["reviews"]
    recent = set(orders.loc[(orders["ts"] <= CUTOFF) & (orders["ts"] > CUTOFF - pd.Timedelta(days=120)), "customer_id"])
    came_back = set(orders.loc[orders["ts"] > CUTOFF, "customer_id"])
    bad = reviews[(reviews["ts"] <= CUTOFF) & (reviews["rating"] <= 2) & reviews["text"].str.contains(COMPLAINT_WORDS)]
    complainers = set(bad["customer_id"]) & recent
    others = recent - complainers
    assert len(complainers) >= 30
    churn_c = 1 - len(complainers & came_back) / len(complainers)
    churn_o = 1 - len(others & came_back) / len(others)
    assert churn_c > churn_o + 0.2, (churn_c, churn_o)


# --------------------------------------------------------------------------- injected errors


def test_no_errors_by_default(tables):
    assert len(tables["errors"]) == 0
    assert list(tables["errors"].columns) == ["table", "row", "column", "kind", "value"]


def test_inject_errors_produces_every_kind():
    clean = synth.generate(1500, seed=2)
    bad = synth.generate(1500, seed=2, inject_errors=0.02)
    errs = bad["errors"]
    expected = {
        "orders": {"bad_date", "negative_amount", "non_numeric_amount", "unknown_customer", "duplicate_id"},
        "reviews": {
            "bad_date",
            "rating_out_of_range",
            "rating_non_numeric",
            "unknown_customer",
            "duplicate_id",
            "empty_text",
        },
        "events": {"bad_date", "unknown_customer", "empty_text"},
    }
    for table, kinds in expected.items():
        assert set(errs.loc[errs["table"] == table, "kind"]) == kinds, table
        n_bad = (errs["table"] == table).sum()
        assert n_bad >= round(0.02 * len(clean[table])) - 1
    assert bad["orders"]["amount"].dtype == "str" and bad["reviews"]["rating"].dtype == "str"
    pd.testing.assert_frame_equal(bad["customers"], clean["customers"])
    ids = set(bad["customers"]["customer_id"])
    ts_col = {"orders": "order_ts", "reviews": "review_ts", "events": "event_ts"}
    id_col = {"orders": "order_id", "reviews": "review_id"}
    for e in errs.itertuples():
        row = bad[e.table].iloc[e.row]
        if e.kind == "bad_date":
            assert pd.isna(pd.to_datetime(row[ts_col[e.table]], utc=True, format="ISO8601", errors="coerce"))
        elif e.kind == "negative_amount":
            assert float(row["amount"]) < 0
        elif e.kind == "non_numeric_amount":
            assert pd.isna(pd.to_numeric(row["amount"], errors="coerce"))
        elif e.kind == "unknown_customer":
            assert row["customer_id"] not in ids
        elif e.kind == "duplicate_id":
            assert (bad[e.table][id_col[e.table]] == row[id_col[e.table]]).sum() == 2
        elif e.kind == "rating_out_of_range":
            assert int(row["rating"]) not in range(1, 6)
        elif e.kind == "rating_non_numeric":
            assert pd.isna(pd.to_numeric(row["rating"], errors="coerce"))
        elif e.kind == "empty_text":
            assert row["text"].strip() == ""
        else:  # pragma: no cover
            raise AssertionError(e.kind)
    # the rows that are not listed are the clean rows, unchanged
    for table in expected:
        listed = set(errs.loc[errs["table"] == table, "row"])
        keep = [i for i in range(len(clean[table])) if i not in listed]
        got = bad[table].iloc[keep].reset_index(drop=True)
        want = clean[table].iloc[keep].reset_index(drop=True)
        if table == "orders":
            want["amount"] = want["amount"].map("{:.2f}".format).astype("str")
        if table == "reviews":
            want["rating"] = want["rating"].astype("str")
        pd.testing.assert_frame_equal(got, want)


# --------------------------------------------------------------------------- writing


def _read(path):
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_json(path, lines=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_write_tables_round_trips(tmp_path, fmt):
    tables = synth.generate(300, seed=21)
    paths = synth.write_tables(tables, tmp_path, fmt=fmt)
    assert set(paths) == set(synth.TABLES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.{fmt}" for t in synth.TABLES)
    for name in synth.TABLES:
        pd.testing.assert_frame_equal(_read(paths[name]), tables[name], check_dtype=False)
        assert _read(paths[name])[TS_COL[name]].str.match(ISO).all()
    with_truth = synth.write_tables(tables, tmp_path / "t", fmt=fmt, include_truth=True)
    truth = _read(with_truth["truth"])
    assert list(truth.columns) == list(tables["truth"].columns)
    assert truth["customer_id"].tolist() == tables["truth"]["customer_id"].tolist()
    back = _ts(truth["acquired_ts"]).dt.as_unit("us")
    assert back.equals(tables["truth"]["acquired_ts"].dt.as_unit("us"))


def test_csv_amounts_have_two_decimals(tmp_path):
    paths = synth.write_tables(synth.generate(200, seed=1), tmp_path)
    amounts = pd.read_csv(paths["orders"], dtype={"amount": str})["amount"]
    assert amounts.str.match(r"^\d+\.\d{2}$").all()


def test_write_tables_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        synth.write_tables(synth.generate(50, seed=1), tmp_path, fmt="xlsx")


def test_generating_another_format_into_a_folder_with_other_files_leaves_one_format(tmp_path):
    """Generated Parquet into a folder of earlier generated CSV that also holds the user's own file: the CSV tables
    go (two formats of one table are ambiguous to read), the user's file stays."""
    from service.synth.write import write_generated
    from service.tables import load_tables

    tables = synth.generate(80, seed=2)
    write_generated(tables, tmp_path / "d", fmt="csv")
    (tmp_path / "d" / "notes.txt").write_text("mine")
    write_generated(tables, tmp_path / "d", fmt="parquet")
    names = sorted(p.name for p in (tmp_path / "d").iterdir() if not p.name.startswith("."))
    assert names == sorted([f"{t}.parquet" for t in synth.TABLES] + ["notes.txt"])
    assert len(load_tables(tmp_path / "d").tables["orders"]) == len(tables["orders"])


# --------------------------------------------------------------------------- parameters


def test_end_and_years_bound_all_timestamps():
    t = synth.generate(300, seed=4, end="2024-06-30", years=1.0)
    lo, hi = pd.Timestamp("2023-06-30T18:00", tz="UTC"), pd.Timestamp("2024-07-01", tz="UTC")
    for name, col in TS_COL.items():
        ts = _ts(t[name][col])
        assert ts.min() >= lo and ts.max() < hi, name


def test_invalid_arguments():
    with pytest.raises(ValueError):
        synth.generate(0)
    with pytest.raises(ValueError):
        synth.generate(10, inject_errors=1.5)
    with pytest.raises(ValueError):
        synth.generate(10, years=0)


def test_catalogue_titles_keep_bulk_language_to_bulk_products():
    cat = synth.catalogue()
    assert len(cat) == 300 and cat["product_id"].is_unique and cat["category"].nunique() == 10
    is_bulk = cat["kind"] == "bulk"
    assert cat.loc[is_bulk, "title"].str.contains(BULK_WORDS).all()
    assert not cat.loc[~is_bulk, "title"].str.contains(BULK_WORDS).any()
    assert (cat["price"] > 0).all()
