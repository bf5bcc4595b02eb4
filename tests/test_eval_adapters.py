"""Dataset adapters on small fixtures written by the tests, plus the backtest's split and point-in-time cut."""
import gzip
import zipfile
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from eval.adapters import load_cdnow, load_dataset, load_olist, load_online_retail
from eval.backtest import make_split, truncate, truth
from eval.baselines import Calibration, PastSpend, RFMLookup
from service.features import TABULAR_FEATURES, FeatureBuilder
from service.tables import DataError


# --------------------------------------------------------------------------- CDNOW


def _write_cdnow(path):
    lines = ["customer_id date number_of_cds dollar_value",
             " 00001 19970101 1 11.77", " 00002 19970112 1 12.00", " 00002 19970112 5 77.00",
             " 00003 19970102 2 20.76", " 00003 19970330 2 20.76", " 00004 1997XX01 1 5.00", " 00005 19970105 1 -3.00"]
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


def test_cdnow_from_zip(tmp_path):
    _write_cdnow(tmp_path / "x.gz")
    with zipfile.ZipFile(tmp_path / "cdnow.zip", "w") as z:
        z.writestr("data/CDNOW_master.txt", gzip.decompress((tmp_path / "x.gz").read_bytes()))
    assert len(load_cdnow(tmp_path / "cdnow.zip").loaded.tables["orders"]) == 5


# --------------------------------------------------------------------------- Olist


def _olist_tables():
    customers = pd.DataFrame({
        "customer_id": ["c1", "c2", "c3", "c4"], "customer_unique_id": ["U1", "U1", "U2", "U3"],
        "customer_zip_code_prefix": ["1000", "1000", "2000", "3000"], "customer_city": ["a", "a", "b", "c"], "customer_state": ["SP", "SP", "RJ", "MG"]})
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5"], "customer_id": ["c1", "c2", "c3", "c4", "c4"],
        "order_status": ["delivered", "delivered", "canceled", "unavailable", "delivered"],
        "order_purchase_timestamp": ["2017-01-05 10:00:00", "2017-06-01 12:00:00", "2017-02-01 09:00:00", "2017-03-01 09:00:00", "not a date"],
        "order_approved_at": [None] * 5, "order_delivered_carrier_date": [None] * 5, "order_delivered_customer_date": [None] * 5,
        "order_estimated_delivery_date": [None] * 5})
    items = pd.DataFrame({
        "order_id": ["o1", "o1", "o2", "o3", "o4", "o5"], "order_item_id": ["1", "2", "1", "1", "1", "1"],
        "product_id": ["p1", "p2", "p1", "p3", "p9", "p1"], "seller_id": ["s"] * 6, "shipping_limit_date": ["2017-01-10"] * 6,
        "price": ["10", "20", "10", "30", "40", "10"], "freight_value": ["1", "2", "1", "3", "4", "1"]})
    payments = pd.DataFrame({
        "order_id": ["o1", "o1", "o3", "o4", "o5"], "payment_sequential": ["1", "2", "1", "1", "1"], "payment_type": ["credit_card", "voucher", "boleto", "boleto", "boleto"],
        "payment_installments": ["1"] * 5, "payment_value": ["25.5", "7.5", "33", "44", "11"]})  # o2 has no payment row
    reviews = pd.DataFrame({
        "review_id": ["r1", "r2", "r3", "r1"], "order_id": ["o1", "o2", "o3", "o4"], "review_score": ["5", "4", "1", "9"],
        "review_comment_title": ["Ótimo", None, None, None], "review_comment_message": ["Chegou\r\nrápido", None, "Não chegou", "texto"],
        "review_creation_date": ["2017-01-12 00:00:00", "2017-06-10 00:00:00", "2017-02-10 00:00:00", "2017-03-10 00:00:00"],
        "review_answer_timestamp": [None] * 4})
    products = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "product_category_name": ["beleza_saude", "cama_mesa_banho", None],
                             "product_name_lenght": ["1"] * 3})
    trans = pd.DataFrame({"product_category_name": ["beleza_saude", "cama_mesa_banho"], "product_category_name_english": ["health_beauty", "bed_bath_table"]})
    return {"olist_customers_dataset": customers, "olist_orders_dataset": orders, "olist_order_items_dataset": items,
            "olist_order_payments_dataset": payments, "olist_order_reviews_dataset": reviews, "olist_products_dataset": products,
            "product_category_name_translation": trans}


def _check_olist(ds):
    t = ds.loaded.tables
    assert set(t["customers"]["customer_id"]) == {"U1", "U2", "U3"}  # keyed by customer_unique_id
    o = t["orders"].set_index("order_id")
    assert list(o.loc[["o1", "o2"], "customer_id"]) == ["U1", "U1"]
    assert o.loc["o1", "amount"] == pytest.approx(33.0)  # both payments (card + voucher)
    assert o.loc["o2", "amount"] == pytest.approx(11.0)  # no payment: items + freight
    assert o.loc["o3", "status"] == "canceled" and o.loc["o4", "status"] == "canceled"  # unavailable: not delivered
    assert o.loc["o1", "n_items"] == 2 and o.loc["o1", "category"] in ("health beauty", "bed bath table")
    assert ds.reject_reasons()["orders"] == {"unparseable order_ts": 1}
    r = t["reviews"].set_index("order_id")
    assert r.loc["o1", "text"] == "Ótimo. Chegou rápido" and r.loc["o1", "customer_id"] == "U1"
    assert "o2" not in r.index  # rating only: left out before validation, counted
    assert ds.dropped["reviews without a title or message (rating only)"] == 1
    assert ds.reject_reasons()["reviews"] == {"rating outside 1-5": 1}  # review_id r1 reused: kept distinct per order
    e = t["events"]
    assert set(e["text"]) <= {"health beauty", "bed bath table"} and e["event_type"].eq("purchase").all()
    assert ds.reject_reasons()["events"]["empty text"] == 2  # products without category / unknown product
    assert ds.text_sources == ("review", "browse") and ds.currency == "R$"


def test_olist_adapter_from_gzip_directory(tmp_path):
    for name, df in _olist_tables().items():
        df.to_csv(tmp_path / f"{name}.csv.gz", index=False)
    _check_olist(load_olist(tmp_path))


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


# --------------------------------------------------------------------------- Online Retail


def _retail_frame():
    return pd.DataFrame({
        "InvoiceNo": ["536365", "536365", "536366", "C536367", "536368", "536369", "536370", "C536371"],
        "StockCode": ["85123A", "71053", "22633", "85123A", "22000", "21000", "23843", "23843"],
        "Description": ["WHITE HANGING HEART T-LIGHT HOLDER", "WHITE METAL LANTERN", "nan", "WHITE HANGING HEART T-LIGHT HOLDER",
                        "RED MUG", "BLUE MUG", "PAPER CRAFT , LITTLE BIRDIE", "PAPER CRAFT , LITTLE BIRDIE"],
        "Quantity": [6, 2, 3, -2, 4, 1, 80995, -80995],
        "InvoiceDate": pd.to_datetime(["2010-12-01 08:26", "2010-12-01 08:26", "2010-12-02 09:00", "2010-12-03 10:00", "2010-12-04 11:00",
                                       "2010-12-05 12:00", "2010-12-06 09:15", "2010-12-06 09:27"]),
        "UnitPrice": [2.55, 3.39, 1.0, 2.55, 1.5, 2.0, 2.08, 2.08],
        "CustomerID": [17850.0, 17850.0, 13047.0, 17850.0, None, 13047.0, 16446.0, 16446.0],
        "Country": ["United Kingdom", "United Kingdom", "France", "United Kingdom", "United Kingdom", "France", "United Kingdom", "United Kingdom"]})


def test_online_retail_adapter(tmp_path):
    df = _retail_frame()
    df.to_parquet(tmp_path / "Online Retail.parquet")
    for src in (tmp_path, tmp_path / "Online Retail.parquet"):
        ds = load_online_retail(src)
        o = ds.loaded.tables["orders"].set_index("order_id")
        assert o.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 2 * 3.39) and o.loc["536365", "customer_id"] == "17850"
        assert o.loc["C536367", "status"] == "returned" and o.loc["C536367", "amount"] == pytest.approx(5.10)
        assert o.loc["536365", "status"] == "completed"  # only partly cancelled: stays spend, the cancellation is a return
        assert o.loc["536370", "status"] == "canceled" and o.loc["C536371", "status"] == "returned"  # undone line for line
        assert ds.dropped["purchase invoices undone by an identical cancellation (status canceled: no spend)"] == 1
        assert ds.reject_reasons()["orders"] == {"empty customer_id": 1}  # the guest invoice
        e = ds.loaded.tables["events"]
        assert len(e) == 4 and "nan" not in set(e["text"])  # cancellation lines are not browsing; "nan" description rejected
        assert ds.reject_reasons()["events"] == {"empty text": 1, "empty customer_id": 1}
        assert ds.dropped["cancellation lines (not browsing text)"] == 2
        c = ds.loaded.tables["customers"].set_index("customer_id")
        assert c.loc["13047", "country"] == "France"
        assert ds.text_sources == ("browse",)
    # a CSV copy inside a zip reads the same
    with zipfile.ZipFile(tmp_path / "online_retail.zip", "w") as z:
        z.writestr("Online Retail.csv", df.to_csv(index=False))
    assert len(load_online_retail(tmp_path / "online_retail.zip").loaded.tables["orders"]) == 6


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
    orders = pd.DataFrame({"order_id": [f"o{i}" for i in range(200)], "customer_id": [f"c{i % 40}" for i in range(200)],
                           "order_ts": days.strftime("%Y-%m-%d"), "amount": "10"})
    ds = Dataset("x", validate_tables({"orders": orders}), DatasetDefaults(cutoff=None, horizon_days=60), source="mem")
    s = make_split(ds)
    assert s.cutoff.date() == (days[-1] - timedelta(days=60)).date() and s.horizon_days == 60
    # 140 days of history before the cutoff: two 60-day horizons do not fit after 30 days of history -> shortened
    assert s.train_horizon_days == (139 - 30) // 2 and any("shortened" in n for n in s.notes)
    with pytest.raises(DataError, match="before the first order"):
        make_split(ds, cutoff="2019-06-01")


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
