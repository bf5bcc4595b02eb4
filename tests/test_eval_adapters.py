"""Dataset adapters on small fixtures written by the tests, plus the backtest's split and point-in-time cut.

The point-in-time guarantee: for a cutoff inside the data, an adapter run on the raw input cut at the
cutoff gives exactly ``truncate(adapter(full raw input), cutoff)``, table by table, so a model fitted on
the calibration side cannot tell the two apart. Each dataset's raw fixture is written in its real layout
with the rows that break naive adapters (a cancellation after the cutoff repeating a purchase before it,
reviews answered after the cutoff of orders before it, orders delivered after the cutoff, customers
first seen after it), and is cut the way the raw data would have stood at the cutoff.
"""

import gzip
import zipfile
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from eval.adapters import default_data_path, load_cdnow, load_dataset, load_olist, load_online_retail, load_synthetic
from eval.backtest import make_split, truncate, truth
from eval.baselines import Calibration, PastSpend, RFMLookup
from service.features import TABULAR_FEATURES, FeatureBuilder
from service.pipeline import parse_cutoff
from service.tables import TABLES, DataError


def assert_point_in_time(load, full_input, cut_input, cutoff):
    """``load(cut_input)`` equals ``truncate(load(full_input), cutoff)``: same rows, values, dtypes and columns."""
    full, cut = load(full_input), load(cut_input)
    want = truncate(full.loaded, cutoff)
    for name in TABLES:
        got_t, want_t = cut.loaded.tables[name], want.tables[name]
        assert list(got_t.columns) == list(want_t.columns), name
        assert dict(got_t.dtypes) == dict(want_t.dtypes), name
        order = list(got_t.columns)
        pd.testing.assert_frame_equal(
            got_t.sort_values(order, kind="mergesort").reset_index(drop=True),
            want_t.sort_values(order, kind="mergesort").reset_index(drop=True),
            check_exact=True,
            obj=name,
        )
    # not vacuous: the full data goes on after the cutoff, and the cut keeps rows before it
    after = [
        n
        for n, c in (("orders", "order_ts"), ("reviews", "review_ts"), ("events", "event_ts"))
        if len(full.loaded.tables[n]) and (full.loaded.tables[n][c] > cutoff).any()
    ]
    assert "orders" in after and len(cut.loaded.tables["orders"]) > 0
    return full, cut


# --------------------------------------------------------------------------- CDNOW


def _write_cdnow(path, lines=None):
    lines = lines or [
        "customer_id date number_of_cds dollar_value",
        " 00001 19970101 1 11.77",
        " 00002 19970112 1 12.00",
        " 00002 19970112 5 77.00",
        " 00003 19970102 2 20.76",
        " 00003 19970330 2 20.76",
        " 00004 1997XX01 1 5.00",
        " 00005 19970105 1 -3.00",
    ]
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")


def test_cdnow_adapter(tmp_path):
    _write_cdnow(tmp_path / "CDNOW_master.txt.gz")
    for src in (tmp_path, tmp_path / "CDNOW_master.txt.gz"):  # directory or the file itself
        ds = load_cdnow(src)
        o = ds.loaded.tables["orders"]
        assert len(o) == 5 and set(o["customer_id"]) == {"00001", "00002", "00003"}  # zero-padded ids kept as text
        assert o.loc[o["customer_id"] == "00002", "amount"].sum() == pytest.approx(89.0)
        assert o["n_items"].sum() == 11
        assert ds.reject_reasons() == {"orders": {"unparseable order_ts": 1, "negative amount": 1}}
        assert ds.text_sources == () and ds.defaults.cutoff == "1997-09-30" and ds.defaults.horizon_days == 273
        c = ds.loaded.tables["customers"].set_index("customer_id")
        assert str(c.loc["00003", "signup_ts"].date()) == "1997-01-02" and "00004" not in c.index  # first purchase


def test_cdnow_without_a_header_line_keeps_its_first_purchase(tmp_path):
    """The file as distributed has no header line: its first purchase had been taken for one and lost, counted
    nowhere."""
    lines = [" 00001 19970101 1 11.77", " 00002 19970112 1 12.00"]
    _write_cdnow(tmp_path / "CDNOW_master.txt.gz", lines)
    orders = load_cdnow(tmp_path).loaded.tables["orders"]
    assert list(orders["customer_id"]) == ["00001", "00002"]


def test_cdnow_from_zip(tmp_path):
    _write_cdnow(tmp_path / "x.gz")
    with zipfile.ZipFile(tmp_path / "cdnow.zip", "w") as z:
        z.writestr("data/CDNOW_master.txt", gzip.decompress((tmp_path / "x.gz").read_bytes()))
    assert len(load_cdnow(tmp_path / "cdnow.zip").loaded.tables["orders"]) == 5


CDNOW_PIT = [
    "customer_id date number_of_cds dollar_value",
    " 00001 19970101 1 11.77",
    " 00001 19970301 2 25.00",  # before and after the cutoff
    " 00002 19970112 1 12.00",
    " 00002 19970112 5 77.00",  # two orders on one day
    " 00003 19970220 2 20.76",  # first seen after the cutoff
    " 00004 1997XX01 1 5.00",
    " 00005 19970105 1 -3.00",
    " 00005 19970210 1 4.00",
]


def test_cdnow_point_in_time(tmp_path):
    cutoff = parse_cutoff("1997-02-15", None)
    _write_cdnow(tmp_path / "full.txt.gz", CDNOW_PIT)
    keep = [ln for ln in CDNOW_PIT[1:] if not ln.split()[1].isdigit() or ln.split()[1] <= "19970215"]
    _write_cdnow(tmp_path / "cut.txt.gz", CDNOW_PIT[:1] + keep)
    full, cut = assert_point_in_time(load_cdnow, tmp_path / "full.txt.gz", tmp_path / "cut.txt.gz", cutoff)
    assert "00003" in set(full.loaded.tables["customers"]["customer_id"]) - set(
        cut.loaded.tables["customers"]["customer_id"]
    )


# --------------------------------------------------------------------------- Olist

OLIST_TS = ["order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date"]


def _olist_tables():
    """The Kaggle tables (names without suffix) of a few customers, with the rows that trip adapters up."""
    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "customer_unique_id": ["U1", "U1", "U2", "U3", "U3", "U4", "U5"],
            "customer_zip_code_prefix": ["1000", "2000", "2000", "3000", "3000", "4000", "5000"],
            "customer_city": list("aabccde"),
            "customer_state": ["SP", "RJ", "RJ", "MG", "MG", "BA", "PR"],
        }
    )  # U1 moved from SP to RJ for their second order
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7"],
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "order_status": ["delivered", "delivered", "canceled", "unavailable", "delivered", "delivered", "shipped"],
            "order_purchase_timestamp": [
                "2017-01-05 10:00:00",
                "2017-06-01 12:00:00",
                "2017-02-01 09:00:00",
                "2017-03-01 09:00:00",
                "not a date",
                "2017-03-30 10:00:00",
                "2017-05-01 08:00:00",
            ],
            # o6: bought before the 2017-03-31 cutoff, shipped and delivered after it
            "order_approved_at": [
                "2017-01-05 11:00:00",
                "2017-06-01 13:00:00",
                None,
                "2017-03-01 10:00:00",
                None,
                "2017-03-30 11:00:00",
                "2017-05-01 09:00:00",
            ],
            "order_delivered_carrier_date": [
                "2017-01-06 10:00:00",
                "2017-06-02 10:00:00",
                None,
                None,
                None,
                "2017-04-02 10:00:00",
                "2017-05-03 10:00:00",
            ],
            "order_delivered_customer_date": [
                "2017-01-12 10:00:00",
                "2017-06-08 10:00:00",
                None,
                None,
                None,
                "2017-04-08 10:00:00",
                None,
            ],
            "order_estimated_delivery_date": [
                "2017-01-20 00:00:00",
                "2017-06-20 00:00:00",
                "2017-02-20 00:00:00",
                "2017-03-20 00:00:00",
                "2017-03-20 00:00:00",
                "2017-04-15 00:00:00",
                "2017-05-20 00:00:00",
            ],
        }
    )
    items = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6", "o7"],
            "order_item_id": ["1", "2", "1", "1", "1", "1", "1", "1"],
            "product_id": ["p1", "p2", "p1", "p3", "p9", "p1", "p2", "p1"],
            "seller_id": ["s"] * 8,
            "shipping_limit_date": ["2017-01-10"] * 8,
            "price": ["10", "20", "10", "30", "40", "10", "50", "10"],
            "freight_value": ["1", "2", "1", "3", "4", "1", "5", "1"],
        }
    )
    payments = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o3", "o4", "o5", "o6", "o7"],
            "payment_sequential": ["1", "2", "1", "1", "1", "1", "1"],
            "payment_type": ["credit_card", "voucher", "boleto", "boleto", "boleto", "credit_card", "boleto"],
            "payment_installments": ["1"] * 7,
            "payment_value": ["25.5", "7.5", "33", "44", "11", "55", "11"],
        }
    )  # o2 has no payment row
    reviews = pd.DataFrame(
        {
            "review_id": ["r1", "r2", "r3", "r1", "r6", "r7"],
            "order_id": ["o1", "o2", "o3", "o4", "o6", "o99"],
            "review_score": ["5", "4", "1", "9", "2", "3"],
            "review_comment_title": ["Ótimo", None, None, None, None, None],
            "review_comment_message": ["Chegou\r\nrápido", None, "Não chegou", "texto", "Demorou", "órfão"],
            # r6: survey sent on the cutoff day, answered after it
            "review_creation_date": [
                "2017-01-12 00:00:00",
                "2017-06-10 00:00:00",
                "2017-02-10 00:00:00",
                "2017-03-10 00:00:00",
                "2017-03-31 00:00:00",
                "2017-03-01 00:00:00",
            ],
            "review_answer_timestamp": [
                "2017-01-13 10:00:00",
                "2017-06-11 10:00:00",
                "2017-02-12 10:00:00",
                "2017-03-11 10:00:00",
                "2017-04-01 09:00:00",
                "2017-03-02 10:00:00",
            ],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["p1", "p2", "p3"],
            "product_category_name": ["beleza_saude", "cama_mesa_banho", None],
            "product_name_lenght": ["1"] * 3,
        }
    )
    trans = pd.DataFrame(
        {
            "product_category_name": ["beleza_saude", "cama_mesa_banho"],
            "product_category_name_english": ["health_beauty", "bed_bath_table"],
        }
    )
    return {
        "olist_customers_dataset": customers,
        "olist_orders_dataset": orders,
        "olist_order_items_dataset": items,
        "olist_order_payments_dataset": payments,
        "olist_order_reviews_dataset": reviews,
        "olist_products_dataset": products,
        "product_category_name_translation": trans,
    }


def _olist_at(tables, cutoff):
    """The raw tables as an export at ``cutoff`` would hold them.

    Orders bought after it are gone with their items, payments, customer rows (one per order) and
    manifest rows; reviews count from their answer; the approval, shipping and delivery times after
    the cutoff are not there yet, and a then undelivered order shows the status it had (Olist keeps
    no status history, so a canceled order stays canceled: the one exception, see ``load_olist``).
    """
    t = {k: v.copy() for k, v in tables.items()}
    okey = "olist_orders_union" if "olist_orders_union" in t else "olist_orders_dataset"
    rkey = "olist_order_reviews_union" if "olist_order_reviews_union" in t else "olist_order_reviews_dataset"
    o = t[okey]
    ts = pd.to_datetime(o["order_purchase_timestamp"], errors="coerce")
    gone = set(o.loc[ts > cutoff, "order_id"])
    o = o[~o["order_id"].isin(gone)].copy()
    known = {c: pd.to_datetime(o[c]) <= cutoff for c in OLIST_TS}
    for c in OLIST_TS:
        o.loc[~known[c], c] = None
    progressing = ~o["order_status"].isin(["canceled", "unavailable"]) & o["order_delivered_customer_date"].isna()
    o.loc[progressing, "order_status"] = np.where(
        known["order_delivered_carrier_date"], "shipped", np.where(known["order_approved_at"], "approved", "created")
    )[progressing.to_numpy()]
    t[okey] = o
    r = t[rkey]
    t[rkey] = r[~r["order_id"].isin(gone) & (pd.to_datetime(r["review_answer_timestamp"]) <= cutoff)]
    for k in ("olist_order_items_dataset", "olist_order_payments_dataset", "orders_source_manifest"):
        if k in t:
            t[k] = t[k][~t[k]["order_id"].isin(gone)]
    gone_cust = set(tables[okey].loc[tables[okey]["order_id"].isin(gone), "customer_id"])
    t["olist_customers_dataset"] = t["olist_customers_dataset"][
        ~t["olist_customers_dataset"]["customer_id"].isin(gone_cust)
    ]
    return t


def _write_kaggle(d, tables):
    d.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(d / f"{name}.csv.gz", index=False)
    return d


def _check_olist(ds):
    t = ds.loaded.tables
    c = t["customers"].set_index("customer_id")
    assert set(c.index) == {"U1", "U2", "U3", "U4", "U5"}  # keyed by customer_unique_id
    assert (
        c.loc["U1", "state"] == "SP" and str(c.loc["U1", "signup_ts"]) == "2017-01-05 10:00:00+00:00"
    )  # their first order
    assert (
        str(c.loc["U3", "signup_ts"]) == "2017-03-01 09:00:00+00:00"
    )  # the order without a readable date does not count
    o = t["orders"].set_index("order_id")
    assert list(o.loc[["o1", "o2"], "customer_id"]) == ["U1", "U1"]
    assert o.loc["o1", "amount"] == pytest.approx(33.0)  # both payments (card + voucher)
    assert o.loc["o2", "amount"] == pytest.approx(11.0)  # no payment: items + freight
    assert o.loc["o3", "status"] == "canceled" and o.loc["o4", "status"] == "canceled"  # unavailable: not delivered
    assert set(o.loc[["o1", "o6", "o7"], "status"]) == {
        "completed"
    }  # delivered or shipped: what happened after the purchase is not on the row
    assert o.loc["o1", "n_items"] == 2 and o.loc["o1", "category"] in ("health beauty", "bed bath table")
    assert ds.reject_reasons()["orders"] == {"unparseable order_ts": 1}
    r = t["reviews"].set_index("order_id")
    assert r.loc["o1", "text"] == "Ótimo. Chegou rápido" and r.loc["o1", "customer_id"] == "U1"
    assert str(r.loc["o1", "review_ts"]) == "2017-01-13 10:00:00+00:00"  # when the customer answered
    assert (
        "o2" not in r.index and "o99" not in r.index
    )  # rating only / order not kept: left out before validation, counted
    assert ds.dropped["reviews without a title or message (rating only)"] == 1
    assert ds.dropped["reviews of orders not kept (or of unknown customers)"] >= 1
    assert ds.reject_reasons()["reviews"] == {"rating outside 1-5": 1}  # review_id r1 reused: kept distinct per order
    e = t["events"]
    assert set(e["text"]) <= {"health beauty", "bed bath table"} and e["event_type"].eq("purchase").all()
    assert ds.reject_reasons()["events"]["empty text"] == 2  # products without category / unknown product
    assert ds.text_sources == ("review", "browse") and ds.currency == "R$"


def test_olist_adapter_from_gzip_directory(tmp_path):
    ds = load_olist(_write_kaggle(tmp_path, _olist_tables()))
    _check_olist(ds)
    assert ds.notes[0].startswith("Data: the Kaggle layout")


def test_olist_adapter_from_kaggle_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "brazilian-ecommerce.zip", "w") as z:
        for name, df in _olist_tables().items():
            z.writestr(f"{name}.csv", df.to_csv(index=False))
    _check_olist(load_olist(tmp_path / "brazilian-ecommerce.zip"))


def test_olist_missing_table_is_a_clear_error(tmp_path):
    for name, df in _olist_tables().items():
        if name != "olist_order_payments_dataset":
            df.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(DataError, match="olist_order_payments_dataset"):
        load_olist(tmp_path)


def _olist_union_tables():
    """The union layout: the sampled orders and reviews, a manifest, and FULL customers/items/payments tables.

    U6 has two orders in the full data but only o10 was sampled (whole_customer 0); c99/o99 is an order of the
    full tables that no sample holds.
    """
    k = _olist_tables()
    orders = pd.concat(
        [
            k["olist_orders_dataset"],
            pd.DataFrame(
                {
                    "order_id": ["o10"],
                    "customer_id": ["c10"],
                    "order_status": ["delivered"],
                    "order_purchase_timestamp": ["2017-02-02 10:00:00"],
                    "order_approved_at": [None],
                    "order_delivered_carrier_date": [None],
                    "order_delivered_customer_date": [None],
                    "order_estimated_delivery_date": ["2017-02-20 00:00:00"],
                }
            ),
        ],
        ignore_index=True,
    ).sort_values("order_id")
    reviews = pd.concat(
        [
            k["olist_order_reviews_dataset"],
            pd.DataFrame(
                {
                    "review_id": ["r10"],
                    "order_id": ["o10"],
                    "review_score": ["5"],
                    "review_comment_title": [None],
                    "review_comment_message": ["bom"],
                    "review_creation_date": ["2017-02-10 00:00:00"],
                    "review_answer_timestamp": ["2017-02-11 00:00:00"],
                }
            ),
        ],
        ignore_index=True,
    )
    cust = pd.concat(
        [
            k["olist_customers_dataset"],
            pd.DataFrame(
                {
                    "customer_id": ["c10", "c11", "c99"],
                    "customer_unique_id": ["U6", "U6", "U99"],
                    "customer_zip_code_prefix": ["6000"] * 3,
                    "customer_city": ["f"] * 3,
                    "customer_state": ["SC"] * 3,
                }
            ),
        ],
        ignore_index=True,
    )
    items = pd.concat(
        [
            k["olist_order_items_dataset"],
            pd.DataFrame(
                {
                    "order_id": ["o10", "o11", "o99"],
                    "order_item_id": ["1"] * 3,
                    "product_id": ["p2"] * 3,
                    "seller_id": ["s"] * 3,
                    "shipping_limit_date": ["2017-01-10"] * 3,
                    "price": ["70"] * 3,
                    "freight_value": ["7"] * 3,
                }
            ),
        ],
        ignore_index=True,
    )
    pays = pd.concat(
        [
            k["olist_order_payments_dataset"],
            pd.DataFrame(
                {
                    "order_id": ["o10", "o11", "o99"],
                    "payment_sequential": ["1"] * 3,
                    "payment_type": ["boleto"] * 3,
                    "payment_installments": ["1"] * 3,
                    "payment_value": ["77"] * 3,
                }
            ),
        ],
        ignore_index=True,
    )
    unique = dict(zip(cust["customer_id"], cust["customer_unique_id"]))
    u = orders["customer_id"].map(unique)
    manifest = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "in_dhipin": "1",
            "in_cabg": "0",
            "customer_unique_id": u,
            "customer_orders_total": u.map(cust.groupby("customer_unique_id").size()).astype(str),
            "customer_orders_in_union": u.map(u.value_counts()).astype(str),
        }
    )
    manifest["whole_customer"] = (
        (manifest["customer_orders_total"] == manifest["customer_orders_in_union"]).astype(int).astype(str)
    )
    return {
        "olist_orders_union": orders,
        "olist_order_reviews_union": reviews,
        "orders_source_manifest": manifest,
        "olist_customers_dataset": cust,
        "olist_order_items_dataset": items,
        "olist_order_payments_dataset": pays,
        "olist_products_dataset": k["olist_products_dataset"],
        "product_category_name_translation": k["product_category_name_translation"],
    }


def _write_union(base, tables, with_subset=True):
    """The shared folder's layout: union/, full_reference_tables/, products and translation at the top (and the old
    subset)."""
    where = {
        "olist_orders_union": "union",
        "olist_order_reviews_union": "union",
        "orders_source_manifest": "union",
        "olist_customers_dataset": "full_reference_tables",
        "olist_order_items_dataset": "full_reference_tables",
        "olist_order_payments_dataset": "full_reference_tables",
    }
    for name, df in tables.items():
        d = base / where.get(name, "")
        d.mkdir(parents=True, exist_ok=True)
        df.to_csv(d / f"{name}.csv.gz", index=False)
    if with_subset:  # the old 26k-subset files at the top: here only U1's and U2's orders
        k = _olist_tables()
        keep = {"o1", "o2", "o3"}
        sub = {n: (df[df["order_id"].isin(keep)] if "order_id" in df else df) for n, df in k.items()}
        sub["olist_customers_dataset"] = k["olist_customers_dataset"][
            k["olist_customers_dataset"]["customer_id"].isin(["c1", "c2", "c3"])
        ]
        _write_kaggle(
            base,
            {
                n: df
                for n, df in sub.items()
                if n not in ("olist_products_dataset", "product_category_name_translation")
            },
        )
    return base


def test_olist_union_is_the_default_and_keeps_whole_customers(tmp_path):
    base = _write_union(tmp_path / "olist", _olist_union_tables())
    ds = load_olist(base)
    _check_olist(ds)  # the same customers as the Kaggle layout: U6 (one of two orders sampled) and c99 are left out
    assert "o10" not in set(ds.loaded.tables["orders"]["order_id"]) and "U6" not in set(
        ds.loaded.tables["customers"]["customer_id"]
    )
    assert ds.dropped["orders of 1 customers with orders missing from the union (whole_customer 0)"] == 1
    assert ds.dropped["reviews of orders not kept (or of unknown customers)"] == 2  # o10's and o99's
    assert (
        "union" in ds.source
        and ds.notes[0].startswith("Data: the union")
        and "5 customers with 6 orders; 1 (20.00%) have 2 or more orders" in ds.notes[0]
    )
    assert ds.summary()["adapter_dropped"] == ds.dropped
    # the union folder itself, and load_dataset with the folder above, read the same
    pd.testing.assert_frame_equal(load_olist(base / "union").loaded.tables["orders"], ds.loaded.tables["orders"])
    pd.testing.assert_frame_equal(load_dataset("olist", base).loaded.tables["customers"], ds.loaded.tables["customers"])
    # union=False reads the old subset files beside it
    old = load_olist(base, union=False)
    assert set(old.loaded.tables["orders"]["order_id"]) == {"o1", "o2", "o3"} and "Kaggle layout" in old.notes[0]
    with pytest.raises(DataError, match="no Olist union"):
        load_olist(_write_kaggle(tmp_path / "kaggle", _olist_tables()), union=True)


def test_olist_union_needs_the_full_reference_tables(tmp_path):
    t = _olist_union_tables()
    base = _write_union(
        tmp_path, {k: v for k, v in t.items() if k != "olist_order_payments_dataset"}, with_subset=False
    )
    with pytest.raises(DataError, match="olist_order_payments_dataset"):
        load_olist(base)
    (base / "full_reference_tables").rename(base / "elsewhere")
    with pytest.raises(DataError, match="full_reference_tables"):
        load_olist(base)


@pytest.mark.parametrize("layout", ["kaggle", "union"])
def test_olist_point_in_time(tmp_path, layout):
    cutoff = parse_cutoff("2017-03-31", None)
    build, write = (_olist_tables, _write_kaggle) if layout == "kaggle" else (_olist_union_tables, _write_union)
    full_dir, cut_dir = (
        write(tmp_path / "full", build()),
        write(tmp_path / "cut", _olist_at(build(), cutoff.tz_localize(None))),
    )
    full, cut = assert_point_in_time(load_olist, full_dir, cut_dir, cutoff)
    o = cut.loaded.tables["orders"].set_index("order_id")
    assert o.loc["o6", "status"] == "completed"  # delivered after the cutoff: the same row before and after
    assert "o6" in set(full.loaded.tables["reviews"]["order_id"]) - set(
        cut.loaded.tables["reviews"]["order_id"]
    )  # answered after
    assert {"U1", "U5"} <= set(full.loaded.tables["customers"]["customer_id"]) and "U5" not in set(
        cut.loaded.tables["customers"]["customer_id"]
    )


# --------------------------------------------------------------------------- Online Retail


def _retail_frame():
    return pd.DataFrame(
        {
            "InvoiceNo": ["536365", "536365", "536366", "C536367", "536368", "536369", "536370", "C536371"],
            "StockCode": ["85123A", "71053", "22633", "85123A", "22000", "21000", "23843", "23843"],
            "Description": [
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "WHITE METAL LANTERN",
                "nan",
                "WHITE HANGING HEART T-LIGHT HOLDER",
                "RED MUG",
                "BLUE MUG",
                "PAPER CRAFT , LITTLE BIRDIE",
                "PAPER CRAFT , LITTLE BIRDIE",
            ],
            "Quantity": [6, 2, 3, -2, 4, 1, 80995, -80995],
            "InvoiceDate": pd.to_datetime(
                [
                    "2010-12-01 08:26",
                    "2010-12-01 08:26",
                    "2010-12-02 09:00",
                    "2010-12-03 10:00",
                    "2010-12-04 11:00",
                    "2010-12-05 12:00",
                    "2010-12-06 09:15",
                    "2010-12-06 09:27",
                ]
            ),
            "UnitPrice": [2.55, 3.39, 1.0, 2.55, 1.5, 2.0, 2.08, 2.08],
            "CustomerID": [17850.0, 17850.0, 13047.0, 17850.0, None, 13047.0, 16446.0, 16446.0],
            "Country": [
                "United Kingdom",
                "United Kingdom",
                "France",
                "United Kingdom",
                "United Kingdom",
                "France",
                "United Kingdom",
                "United Kingdom",
            ],
        }
    )


def test_online_retail_adapter(tmp_path):
    df = _retail_frame()
    df.to_parquet(tmp_path / "Online Retail.parquet")
    for src in (tmp_path, tmp_path / "Online Retail.parquet"):
        ds = load_online_retail(src)
        o = ds.loaded.tables["orders"].set_index("order_id")
        assert (
            o.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 2 * 3.39)
            and o.loc["536365", "customer_id"] == "17850"
        )
        assert o.loc["C536367", "status"] == "returned" and o.loc["C536367", "amount"] == pytest.approx(5.10)  # partial
        assert o.loc["536365", "status"] == "completed"
        # undone line for line: the cancellation is a whole cancellation at its own time, the purchase stays as it
        # happened
        assert o.loc["C536371", "status"] == "canceled" and o.loc["C536371", "amount"] == pytest.approx(168469.60)
        assert o.loc["536370", "status"] == "completed"
        assert any("1 of them repeat an earlier purchase" in n for n in ds.notes)
        assert ds.reject_reasons()["orders"] == {"empty customer_id": 1}  # the guest invoice
        e = ds.loaded.tables["events"]
        assert len(e) == 4 and "nan" not in set(
            e["text"]
        )  # cancellation lines are not browsing; "nan" description rejected
        assert ds.reject_reasons()["events"] == {"empty text": 1, "empty customer_id": 1}
        assert ds.dropped["cancellation lines (not browsing text)"] == 2
        c = ds.loaded.tables["customers"].set_index("customer_id")
        assert c.loc["13047", "country"] == "France" and str(c.loc["13047", "signup_ts"]) == "2010-12-02 09:00:00+00:00"
        assert ds.text_sources == ("browse",)
    # a CSV copy inside a zip reads the same
    with zipfile.ZipFile(tmp_path / "online_retail.zip", "w") as z:
        z.writestr("Online Retail.csv", df.to_csv(index=False))
    assert len(load_online_retail(tmp_path / "online_retail.zip").loaded.tables["orders"]) == 6


def _retail_tricky():
    """More invoices around a 2010-12-05 cutoff: customer 12000 (France first, then mostly Germany) buys on 12-04
    in an invoice whose lines span a minute and cancels it line for line on 12-08; 12001 is first seen on 12-07;
    17850's partial return comes before the cutoff."""
    extra = pd.DataFrame(
        {
            "InvoiceNo": ["536380", "536380", "C536390", "C536390", "536391", "536391", "536392", "536393"],
            "StockCode": ["22111", "22112", "22112", "22111", "22111", "22113", "22113", "22111"],
            "Description": ["MUG A", "MUG B", "MUG B", "MUG A", "MUG A", "MUG C", "MUG C", "MUG A"],
            "Quantity": [12, 6, -6, -12, 1, 1, 2, 3],
            "InvoiceDate": pd.to_datetime(
                [
                    "2010-12-04 10:00",
                    "2010-12-04 10:01",
                    "2010-12-08 14:00",
                    "2010-12-08 14:00",
                    "2010-12-09 10:00",
                    "2010-12-09 10:00",
                    "2010-12-07 10:00",
                    "2010-12-10 10:00",
                ]
            ),
            "UnitPrice": [1.25, 2.1, 2.1, 1.25, 1.25, 3.0, 3.0, 1.25],
            "CustomerID": [12000.0, 12000.0, 12000.0, 12000.0, 12000.0, 12000.0, 12001.0, 12000.0],
            "Country": ["France", "France", "Germany", "Germany", "Germany", "Germany", "Spain", "Germany"],
        }
    )
    return pd.concat([_retail_frame(), extra], ignore_index=True)


def test_online_retail_invoice_with_an_unreadable_line_is_a_counted_reject(tmp_path):
    """A UnitPrice written '3,39' or a Quantity 'six' had ended the run in a pandas traceback; the invoice holding it
    has no known total, so its order is rejected and counted (not summed without that line)."""
    (tmp_path / "Online Retail.csv").write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        '536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,"3,39",17850,United Kingdom\n'
        "536366,22632,HAND WARMER RED,six,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
        "536367,22633,HAND WARMER BLUE,2,2010-12-01 08:29:00,1.85,17850,United Kingdom\n"
    )
    ds = load_online_retail(tmp_path)
    assert list(ds.loaded.tables["orders"]["order_id"]) == ["536367"]
    assert ds.reject_reasons() == {"orders": {"non-numeric amount": 2}}


def test_online_retail_point_in_time(tmp_path):
    cutoff = parse_cutoff("2010-12-05", None)
    df = _retail_tricky()
    (tmp_path / "full").mkdir(), (tmp_path / "cut").mkdir()
    df.to_parquet(tmp_path / "full" / "Online Retail.parquet")
    df[df["InvoiceDate"] <= cutoff.tz_localize(None)].to_parquet(tmp_path / "cut" / "Online Retail.parquet")
    full, cut = assert_point_in_time(load_online_retail, tmp_path / "full", tmp_path / "cut", cutoff)
    fo = full.loaded.tables["orders"].set_index("order_id")
    assert (
        fo.loc["536380", "status"] == "completed" and fo.loc["C536390", "status"] == "canceled"
    )  # undone after the cutoff
    assert str(fo.loc["536380", "order_ts"]) == "2010-12-04 10:01:00+00:00"  # the invoice is complete at its last line
    assert cut.loaded.tables["orders"].set_index("order_id").loc["536380", "amount"] == pytest.approx(
        12 * 1.25 + 6 * 2.1
    )
    c = full.loaded.tables["customers"].set_index("customer_id")
    assert c.loc["12000", "country"] == "France"  # the country of the first invoice, though later ones say Germany
    assert "12001" in c.index and "12001" not in set(cut.loaded.tables["customers"]["customer_id"])


# --------------------------------------------------------------------------- synthetic


def test_synthetic_point_in_time(tmp_path):
    from service.synth import generate, write_tables

    tables = generate(300, seed=4)
    full_dir = tmp_path / "full"
    write_tables(tables, full_dir)
    cutoff = make_split(load_synthetic(full_dir)).cutoff
    ts_col = {"customers": "signup_ts", "orders": "order_ts", "reviews": "review_ts", "events": "event_ts"}
    cut = {}
    for name, col in ts_col.items():
        t = pd.to_datetime(tables[name][col], errors="coerce", utc=True, format="ISO8601")
        cut[name] = tables[name][~(t > cutoff)]  # rows without a readable time are kept (and rejected either way)
    write_tables(cut, tmp_path / "cut")
    assert_point_in_time(load_synthetic, full_dir, tmp_path / "cut", cutoff)


# --------------------------------------------------------------------------- the shared real data


@pytest.mark.slow
@pytest.mark.parametrize("name, cutoff", [("online-retail", "2011-09-09"), ("cdnow", "1997-09-30")])
def test_real_data_point_in_time(tmp_path, name, cutoff):
    """The shared copies cut at the default cutoffs: the adapters give the truncated tables exactly.

    (Before the fix, 5 Online Retail invoices before 2011-09-09 changed status when the input was cut.)
    """
    path = default_data_path(name)
    if path is None:
        pytest.skip(f"no shared copy of {name} (../shared/data or $INSIGHT_EVAL_DATA)")
    cut_ts = parse_cutoff(cutoff, None)
    if name == "online-retail":
        df = pd.read_parquet(path / "Online Retail.parquet")
        df[df["InvoiceDate"] <= cut_ts.tz_localize(None)].to_parquet(tmp_path / "Online Retail.parquet")
        full, cut = assert_point_in_time(load_online_retail, path, tmp_path, cut_ts)
        o = cut.loaded.tables["orders"].set_index("order_id")
        assert set(o.loc[["555751", "557152", "557517", "564163", "565778"], "status"]) == {"completed"}
    else:
        lines = gzip.decompress((path / "CDNOW_master.txt.gz").read_bytes()).decode().splitlines()
        keep = [ln for ln in lines[1:] if ln.split()[1] <= cut_ts.strftime("%Y%m%d")]
        _write_cdnow(tmp_path / "CDNOW_master.txt.gz", lines[:1] + keep)
        full, cut = assert_point_in_time(load_cdnow, path, tmp_path, cut_ts)
    assert len(cut.loaded.tables["orders"]) < len(full.loaded.tables["orders"])


def test_unknown_dataset_and_missing_path(tmp_path):
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("nope")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("cdnow", tmp_path / "missing")


# --------------------------------------------------------------------------- split and point-in-time


@pytest.fixture(scope="module")
def small_synth():
    return load_dataset("synthetic", customers=600, seed=5)


def test_default_split_and_short_history():
    from eval.adapters import Dataset, DatasetDefaults
    from service.tables import validate_tables

    days = pd.date_range("2020-01-01", periods=200, freq="D")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(200)],
            "customer_id": [f"c{i % 40}" for i in range(200)],
            "order_ts": days.strftime("%Y-%m-%d"),
            "amount": "10",
        }
    )
    ds = Dataset("x", validate_tables({"orders": orders}), DatasetDefaults(cutoff=None, horizon_days=60), source="mem")
    s = make_split(ds)
    assert s.cutoff.date() == (days[-1] - timedelta(days=60)).date() and s.horizon_days == 60
    # 139 days of history before the cutoff: the RFM snapshot at cutoff - 60 keeps 30+ days of history -> not shortened
    assert s.train_horizon_days == 60
    # a 130-day horizon from an earlier cutoff: the RFM cells learn the longest that leaves 30 days of history
    long = make_split(ds, cutoff="2020-03-01", horizon_days=130)
    assert long.horizon_days == 130 and long.train_horizon_days == 60 - 30 and any("not 130" in n for n in long.notes)
    with pytest.raises(DataError, match="before the first order"):
        make_split(ds, cutoff="2019-06-01")


def test_a_holdout_past_the_last_order_is_refused_with_what_would_fit():
    """A holdout window that ends after the data would judge every model on part of its horizon (levels, churn and
    coverage all wrong): refused, naming the longest horizon from that cutoff and the latest cutoff for that horizon."""
    from eval.adapters import Dataset, DatasetDefaults
    from service.tables import validate_tables

    days = pd.date_range("2020-01-01", periods=200, freq="D")  # last order 2020-07-18
    orders = pd.DataFrame(
        {"order_id": [f"o{i}" for i in range(200)], "customer_id": [f"c{i % 40}" for i in range(200)]}
        | {"order_ts": days.strftime("%Y-%m-%d"), "amount": "10"}
    )
    ds = Dataset("x", validate_tables({"orders": orders}), DatasetDefaults(cutoff=None, horizon_days=60), source="mem")
    assert make_split(ds, cutoff="2020-07-08", horizon_days=10).horizon_days == 10  # ends on the last order's day
    with pytest.raises(
        DataError, match=r"ends after the last order \(2020-07-18\).*--horizon-days 10 or less.*2020-07-07"
    ):
        make_split(ds, cutoff="2020-07-08", horizon_days=11)
    with pytest.raises(DataError, match=r"ends after the last order.*30-day.*--horizon-days 20 or less.*2020-06-18"):
        make_split(ds, cutoff="2020-06-28", horizon_days=30)
    with pytest.raises(
        DataError, match=r"ends after the last order"
    ) as err:  # a cutoff after the data: no horizon fits
        make_split(ds, cutoff="2020-08-01", horizon_days=5)
    assert "--horizon-days" not in str(err.value) and "on or before 2020-07-13" in str(err.value)


def test_truncated_tables_give_the_same_features_and_no_future(small_synth):
    ds = small_synth
    split = make_split(ds)
    cal = truncate(ds.loaded, split.cutoff)
    for name, col in (("orders", "order_ts"), ("reviews", "review_ts"), ("events", "event_ts")):
        assert (cal.tables[name][col] <= split.cutoff).all()
        assert (ds.loaded.tables[name][col] > split.cutoff).any()  # the full data does go on
    full = FeatureBuilder(ds.loaded.tables).snapshot(split.cutoff, split.horizon_days)
    cut = FeatureBuilder(cal.tables).snapshot(split.cutoff, split.horizon_days)
    pd.testing.assert_frame_equal(full[["customer_id"] + TABULAR_FEATURES], cut[["customer_id"] + TABULAR_FEATURES])
    assert cut["future_value"].eq(0).all()  # nothing after the cutoff is left to see
    outcome = truth(ds.loaded, split)
    assert list(outcome["customer_id"]) == list(full["customer_id"]) and outcome["future_value"].sum() > 0
    with pytest.raises(AssertionError, match="after the cutoff"):
        Calibration(ds.loaded, split.cutoff, split.horizon_days, split.train_horizon_days)


def test_simple_baselines_fit_on_calibration_only(small_synth):
    ds = small_synth
    split = make_split(ds)
    cal = Calibration(truncate(ds.loaded, split.cutoff), split.cutoff, split.horizon_days, split.train_horizon_days)
    ids = truth(ds.loaded, split)["customer_id"]
    past = PastSpend().fit(cal).predict(ids).value
    spend = cal.purchases.groupby("customer_id")["amount"].sum().reindex(ids).fillna(0).to_numpy()
    assert np.corrcoef(past, spend)[0, 1] == pytest.approx(1.0)  # a rescaled past spend
    rfm = RFMLookup().fit(cal).predict(ids)
    assert len(rfm.value) == len(ids) and np.isfinite(rfm.value).all() and (rfm.value >= 0).all()
    churn = next(iter(rfm.churn.values()))
    assert ((churn >= 0) & (churn <= 1)).all()
