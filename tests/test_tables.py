"""Input contract: every rejection reason, kept rows, and hard errors that name file, column and row."""

import gzip
import json

import pandas as pd
import pytest

from service.rejects_files import write_rejects
from service.tables import DataError, load_tables, validate_tables

ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o2"],
        "customer_id": ["a", "a", "b", "b", "ghost", "", "a", "b", "a"],
        "order_ts": [
            "2025-01-01T10:00:00Z",
            "2025-02-01",
            "not a date",
            "2025-03-01",
            "2025-03-02",
            "2025-03-03",
            "2025-03-04",
            "2025-03-05",
            "2025-04-01",
        ],
        "amount": ["10.5", "20", "5", "-3", "7", "8", "twelve", "inf", "9"],
    }
)
CUSTOMERS = pd.DataFrame(
    {"customer_id": ["a", "b", "b", " "], "signup_ts": ["2024-12-01", "2024-12-05", "2024-12-06", "2024-12-07"]}
)
REVIEWS = pd.DataFrame(
    {
        "review_id": ["r1", "r2", "r3", "r4", "r5", "r1"],
        "customer_id": ["a", "a", "b", "b", "ghost", "b"],
        "review_ts": ["2025-01-05", "2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"],
        "rating": ["5", "0", "five", "4", "3", "2"],
        "text": ["Great", "ok", "fine", "   ", "hello", "dup"],
    }
)
EVENTS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "ghost", "a"],
        "event_ts": ["2025-01-05", "2025-13-45", "2025-01-06", "2025-01-07"],
        "event_type": ["view", "search", "view", ""],
        "text": ["red shoes", "bulk paper", "x", "y"],
    }
)


@pytest.fixture()
def loaded():
    return validate_tables({"customers": CUSTOMERS, "orders": ORDERS, "reviews": REVIEWS, "events": EVENTS})


def reasons(loaded, table):
    rej = loaded.rejects[table]
    return dict(zip(rej["_row"], rej["_reason"]))


def test_every_order_rejection_reason_is_kept_with_its_row(loaded):
    assert reasons(loaded, "orders") == {
        3: "unparseable order_ts",
        4: "negative amount",
        5: "unknown customer_id",
        6: "empty customer_id",
        7: "non-numeric amount",
        8: "non-finite amount",
        9: "duplicate order_id",
    }
    assert loaded.tables["orders"]["order_id"].tolist() == ["o1", "o2"]
    # Rejected rows keep their original values, untouched.
    assert loaded.rejects["orders"].set_index("_row").loc[7, "amount"] == "twelve"


def test_review_and_event_rejections(loaded):
    assert reasons(loaded, "reviews") == {
        2: "rating outside 1-5",
        3: "non-numeric rating",
        4: "empty text",
        5: "unknown customer_id",
        6: "duplicate review_id",
    }
    assert reasons(loaded, "events") == {2: "unparseable event_ts", 3: "unknown customer_id", 4: "empty event_type"}


def test_customer_duplicates_and_blank_ids(loaded):
    assert reasons(loaded, "customers") == {3: "duplicate customer_id", 4: "empty customer_id"}


def test_counts_add_up_nothing_silently_dropped(loaded):
    for name, s in loaded.summary().items():
        assert s["read"] == s["kept"] + s["rejected"] or (name == "customers" and s["read"] == 4)
    assert loaded.n_rejected == 7 + 5 + 3 + 2


def test_rejects_written_to_files(loaded, tmp_path):
    paths = write_rejects(loaded.rejects, tmp_path)
    back = pd.read_csv(paths["orders"], dtype=str)
    assert len(back) == 7 and "_reason" in back and "_row" in back


def test_missing_required_column_names_file_and_column(tmp_path):
    ORDERS.drop(columns=["amount"]).to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(DataError, match=r"orders\.csv.*'amount'"):
        load_tables(tmp_path)


def test_unreadable_file_is_a_clear_error(tmp_path):
    (tmp_path / "orders.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match="orders.parquet: cannot read file"):
        load_tables(tmp_path)


def test_malformed_csv_names_the_line(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,order_ts,amount\no1,a,2025-01-01,1\no2,a,2025-01-02,1,extra,fields\n"
    )
    with pytest.raises(DataError, match=r"orders\.csv.*line 3"):
        load_tables(tmp_path)


def test_no_orders_table(tmp_path):
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(DataError, match="no orders table"):
        load_tables(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_tables(tmp_path / "nope")


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "jsonl"])
def test_all_formats_read_the_same(tmp_path, fmt):
    good = ORDERS.iloc[:2]
    path = tmp_path / f"orders.{fmt}"
    if fmt == "csv":
        good.to_csv(path, index=False)
    elif fmt == "csv.gz":
        with gzip.open(path, "wt") as f:
            good.to_csv(f, index=False)
    elif fmt == "parquet":
        good.to_parquet(path)
    else:
        path.write_text("\n".join(json.dumps(r) for r in good.to_dict("records")))
    loaded = load_tables(tmp_path)
    assert loaded.tables["orders"]["amount"].tolist() == [10.5, 20.0]
    assert str(loaded.tables["orders"]["order_ts"].dt.tz) == "UTC"


def test_typed_parquet_values_validate_too(tmp_path):
    df = pd.DataFrame(
        {
            "order_id": [1, 2],
            "customer_id": [10, 11],
            "order_ts": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "amount": [5.0, -1.0],
        }
    )
    df.to_parquet(tmp_path / "orders.parquet")
    loaded = load_tables(tmp_path)
    assert loaded.tables["orders"]["customer_id"].tolist() == ["10"]
    assert loaded.rejects["orders"]["_reason"].tolist() == ["negative amount"]


def test_two_files_for_one_table_is_ambiguous(tmp_path):
    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    ORDERS.to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(DataError, match="more than once"):
        load_tables(tmp_path)


def test_rows_of_a_customer_whose_own_row_was_rejected_say_so():
    """A customer row rejected for a bad optional value (a signup date written 01/02/2024) takes the customer's orders
    with it; they had been rejected as 'unknown customer_id', which sent the user looking for a missing customer."""
    raw = {
        "customers": pd.DataFrame({"customer_id": ["C1", "C2"], "signup_ts": ["01/02/2024", "2024-01-02"]}),
        "orders": pd.DataFrame(
            {
                "order_id": ["O1", "O2", "O3"],
                "customer_id": ["C1", "C2", "C9"],
                "order_ts": ["2024-02-01"] * 3,
                "amount": ["5", "6", "7"],
            }
        ),
    }
    loaded = validate_tables(raw, sources={"customers": "/x/customers.csv", "orders": "/x/orders.csv"})
    reasons = dict(zip(loaded.rejects["orders"]["customer_id"], loaded.rejects["orders"]["_reason"]))
    assert reasons["C1"].startswith("its customers row was rejected (customers.csv row 1: unparseable signup_ts")
    assert reasons["C9"] == "unknown customer_id"
    assert list(loaded.tables["orders"]["customer_id"]) == ["C2"]
