"""A customer's score does not depend on which other customers share its batch (issue 10).

The same customer must get bit-identical predicted value, churn probability, tier and drivers when
scored alone, in batches of other sizes and compositions, with the input rows shuffled, in a Dask
partition and through ``POST /v1/score``. The first tests pin each cause found, on small arrays and
tables, with inputs chosen so that the old code gave other bits; the end-to-end tests score one
small bundle (real embedding model, real XGBoost) every way and compare with ``==``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stored_facts import FIELDS, PROFILE_FIELDS, store_facts, stored_facts

from embeddings.rowwise import matmul_rows, row_norms

SCORED_AT = "2026-01-01T00:00:00+00:00"


def _single_rows_equal_batch(f, X, rows) -> None:
    """``f`` applied to each row alone, to reversed and to shuffled copies of ``X`` gives the batch's bits."""
    full = f(X)
    for i in rows:
        np.testing.assert_array_equal(f(X[i : i + 1]), full[i : i + 1], err_msg=f"row {i} alone")
    np.testing.assert_array_equal(f(X[::-1].copy())[::-1], full)
    perm = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(f(X[perm]), full[perm])
    np.testing.assert_array_equal(f(X[7:300]), full[7:300])


# ----------------------------------------------------------------------------- the arithmetic, piece by piece


def test_row_products_and_norms_are_the_same_bits_for_any_batch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 384)).astype(np.float32)  # more rows than one block (embeddings.rowwise.BLOCK_ROWS)
    W = rng.standard_normal((384, 10))
    offset = rng.standard_normal(384)
    _single_rows_equal_batch(lambda A: matmul_rows(A, W, offset=offset), X, rng.choice(len(X), 40, replace=False))
    _single_rows_equal_batch(lambda A: row_norms(A)[:, None], X, rng.choice(len(X), 40, replace=False))
    # and they are the products they claim to be
    np.testing.assert_allclose(
        matmul_rows(X, W, offset=offset), (X.astype(np.float64) - offset) @ W, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(row_norms(X), np.linalg.norm(X.astype(np.float64), axis=1), rtol=1e-12)
    assert matmul_rows(X[:0], W).shape == (0, 10) and row_norms(X[:0]).shape == (0,)
    with pytest.raises(ValueError):
        matmul_rows(X, W[:5])


def test_few_rows_take_a_shortcut_with_the_same_bits():
    """Up to FEW_ROWS rows are summed by an accumulate instead of the column loop: same bits, signed zeros and NaN
    included (a zero row times negative weights is a sum of -0.0 terms, which the loop starts from +0.0)."""
    from embeddings import rowwise

    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 50))
    X[3] = 0.0
    X[4] = -0.0
    X[5, 7] = np.nan
    X[6, :10] = 1e300
    W = rng.standard_normal((50, 6))
    W[:, 2] = -1.0
    full = matmul_rows(X, W)  # 200 rows: the column loop
    norms = row_norms(X)
    assert len(X) > rowwise.FEW_ROWS
    for n in (1, 2, rowwise.FEW_ROWS):
        for start in (0, 3, 5):
            part = matmul_rows(X[start : start + n], W)
            assert part.tobytes() == full[start : start + n].tobytes(), (n, start)  # signed zeros too
            assert row_norms(X[start : start + n]).tobytes() == norms[start : start + n].tobytes()
    assert np.signbit(full[3:5]).sum() == 0 and np.isnan(full[5]).all()


def test_text_pca_and_ridge_heads_score_a_customer_alone_as_in_a_batch():
    """The old float32 ``X @ components.T`` gave other bits for a single row than for 500 (BLAS kernels)."""
    from embeddings.reducer import TextReducer
    from service.text_features import TextHead

    rng = np.random.default_rng(2)
    V = rng.standard_normal((600, 384)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    reducer = TextReducer(n_components=8).fit(V)
    head = TextHead()  # as loaded from a bundle: only the coefficients matter to predict
    head.coef_, head.intercept_ = rng.standard_normal(384) / 10, 0.25
    rows = rng.choice(len(V), 60, replace=False)
    _single_rows_equal_batch(reducer.transform, V, rows)
    _single_rows_equal_batch(lambda A: head.predict(A)[:, None], V, rows)


def test_driver_families_are_summed_per_customer():
    """``contributions @ indicator`` summed a customer's columns in another order alone than in a batch."""
    from service.drivers import FamilyGrouper, feature_family
    from service.features import TABULAR_FEATURES

    names = TABULAR_FEATURES + [f"review_text_{i}" for i in range(8)] + ["n_review_texts", "review_text_value_score"]
    g = FamilyGrouper(names)
    C = np.random.default_rng(3).standard_normal((2000, len(names))) * 50
    _single_rows_equal_batch(g.transform, C, range(0, 2000, 97))
    fam = np.array([feature_family(n) for n in names])
    for j, family in enumerate(g.families):  # and each column is the sum of its family's features
        np.testing.assert_allclose(g.transform(C)[:, j], C[:, fam == family].sum(axis=1), rtol=1e-12, atol=1e-9)


class _FixedVectors:
    """An encoder whose vectors make the order of addition visible: 1e17 + 1 - 1e17 is 0 one way and 1 the other."""

    dim = 3
    VECTORS = {
        "alpha": [1e17, 0.0, 1.0],
        "bravo": [1.0, 0.0, 1.0],
        "charlie": [-1e17, 0.0, 1.0],
        "delta": [0.0, 3.0, 1.0],
    }

    def encode(self, texts):
        return np.asarray([self.VECTORS[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)


def test_pooling_does_not_depend_on_row_order_or_on_other_customers():
    """Texts used to be numbered in order of first appearance in the batch, and a customer's vectors added in
    that order; here customer A's texts come first in one batch and after customer B's in another."""
    from service.text_features import TextEmbeddings

    ts = pd.Timestamp("2025-06-01", tz="UTC")
    events = pd.DataFrame(
        {
            "customer_id": ["B", "A", "A", "A", "A", "C", "C"],
            "event_ts": [ts, ts, ts, ts, ts - pd.Timedelta(days=30), ts, ts],
            "event_type": "view",
            "text": ["charlie", "alpha", "bravo", "charlie", "bravo", "delta", "delta"],
        }
    )
    tables = {"reviews": pd.DataFrame(columns=["customer_id", "review_ts", "text"]), "events": events}
    cutoff = ts + pd.Timedelta(days=1)

    def pooled(ev, ids):
        emb = TextEmbeddings({**tables, "events": ev.reset_index(drop=True)}, _FixedVectors(), sources=("browse",))
        p = emb.pooled("browse", pd.Series(ids), cutoff)
        return {cid: (p.vectors[i].tobytes(), p.counts[i]) for i, cid in enumerate(ids)}

    everyone = pooled(events, ["A", "B", "C"])
    assert everyone["A"][1] == 4 and everyone["C"][1] == 2
    for cid in "ABC":
        assert pooled(events[events["customer_id"] == cid], [cid])[cid] == everyone[cid], cid
    for seed in range(6):
        shuffled = events.sample(frac=1, random_state=seed)
        assert pooled(shuffled, ["C", "A", "B"]) == everyone, seed
    assert pooled(events[events["customer_id"] != "B"], ["A", "C"]) == {c: everyone[c] for c in "AC"}


def _adversarial_tables(directory):
    """Synthetic tables plus rows that expose order-dependent aggregates, and the cutoff they are built around:
    amounts whose float sum depends on the order (0.1 + 0.2 + 0.3, before and after the cutoff), three last
    purchases at the same second (gaps of days, 0 and 0), three reviews at the same second."""
    from service.synth import generate, write_tables
    from service.tables import load_tables

    t = generate(300, seed=8)
    cutoff = pd.Timestamp(pd.to_datetime(t["orders"]["order_ts"], utc=True).max()) - pd.Timedelta(days=20)
    tie = cutoff - pd.Timedelta(hours=1)
    extra_o, extra_r = [], []
    for k, cid in enumerate(sorted(t["orders"]["customer_id"].unique())[::3]):
        for j, (amount, ts) in enumerate(
            [
                (0.7, cutoff - pd.Timedelta(days=200)),
                (0.1, tie - pd.Timedelta(days=9)),
                (0.2, tie),
                (0.3, tie),
                (1e-3, tie),
                (0.1, cutoff + pd.Timedelta(days=5)),
                (0.2, cutoff + pd.Timedelta(days=6)),
                (0.3, cutoff + pd.Timedelta(days=6)),
            ]
        ):
            extra_o.append(
                {
                    "order_id": f"X{k:03d}-{j}",
                    "customer_id": cid,
                    "order_ts": ts.isoformat(),
                    "amount": amount,
                    "status": "completed",
                    "n_items": 1 + j % 3,
                    "category": "toys",
                }
            )
        for j, rating in enumerate([2, 5, 3]):
            extra_r.append(
                {
                    "review_id": f"XR{k:03d}-{j}",
                    "customer_id": cid,
                    "review_ts": (tie - pd.Timedelta(days=2)).isoformat(),
                    "rating": rating,
                    "text": f"same moment review {j}",
                }
            )
    for name, extra in (("orders", extra_o), ("reviews", extra_r)):
        new = pd.DataFrame(extra)
        new = new.astype({c: t[name][c].dtype for c in new.columns})
        t[name] = pd.concat([t[name], new], ignore_index=True)
    write_tables(t, directory)
    return load_tables(directory).tables, cutoff


def test_duckdb_features_do_not_depend_on_row_order_or_on_other_customers(tmp_path):
    """Float sum(), avg() and stddev_samp() add in scan order, and arg_max over a tied timestamp picks either row."""
    from service.features import TABULAR_FEATURES, FeatureBuilder

    tables, cutoff = _adversarial_tables(tmp_path)
    cols = TABULAR_FEATURES + ["future_value", "future_orders", "churn"]

    def snap(t, threads=2):
        fb = FeatureBuilder(t, threads=threads)
        try:
            return fb.snapshot(cutoff, 90).set_index("customer_id")[cols]
        finally:
            fb.close()

    ref = snap(tables)
    assert (
        ref.notna().sum().min() > 0 and (ref["ipi_last_days"] == 0).sum() >= 90
    )  # the last of the same-second purchases
    for seed in range(4):
        shuffled = {k: v.sample(frac=1, random_state=seed).reset_index(drop=True) for k, v in tables.items()}
        got = snap(shuffled, threads=1 + seed % 2)
        pd.testing.assert_frame_equal(got.loc[ref.index], ref, check_exact=True, obj=f"shuffle {seed}")
    ids = np.array(sorted(ref.index))
    for part in (ids[:1], ids[5:6], ids[::7], ids[100:220]):
        sub = {
            k: v[v["customer_id"].isin(set(part))].reset_index(drop=True) if "customer_id" in v else v
            for k, v in tables.items()
        }
        got = snap(sub)
        pd.testing.assert_frame_equal(got, ref.loc[got.index], check_exact=True)


# ----------------------------------------------------------------------------- the whole scoring path, one bundle

N_CUSTOMERS = 400


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("batch-independence")
    write_tables(generate(N_CUSTOMERS, seed=21), d)
    return d


@pytest.fixture(scope="module")
def model_dir(data_dir, encoder):
    from service.pipeline import TrainOptions, train

    return train(data_dir, data_dir / "model", TrainOptions(seed=0, text_check=False), encoder=encoder).out_dir


@pytest.fixture(scope="module")
def setup(data_dir, model_dir):
    from service.bundle import ModelBundle
    from service.pipeline import parse_cutoff
    from service.tables import load_tables

    loaded = load_tables(data_dir)
    cutoff = parse_cutoff(None, loaded.tables["orders"]["order_ts"].max())
    return ModelBundle.load(model_dir), loaded.tables, cutoff


def _score(setup, encoder, tables) -> dict[str, dict]:
    from service.pipeline import score_tables
    from service.tables import LoadedData

    bundle, _, cutoff = setup
    _, rows, _ = score_tables(
        bundle,
        LoadedData({k: v.reset_index(drop=True) for k, v in tables.items()}),
        cutoff,
        encoder=encoder,
        scored_at=SCORED_AT,
    )
    return {r["customer_id"]: stored_facts(r) for r in rows}


def _only(tables, ids) -> dict[str, pd.DataFrame]:
    ids = set(ids)
    return {k: v[v["customer_id"].isin(ids)] if "customer_id" in v else v for k, v in tables.items()}


@pytest.fixture(scope="module")
def reference(setup, encoder):
    return _score(setup, encoder, setup[1])


def _diff(a, b) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        return "; ".join(
            f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b), key=str) if a.get(k) != b.get(k)
        )[:2000]
    return f"{a!r} != {b!r}"[:2000]


def _assert_same(got: dict[str, dict], reference: dict[str, dict], what: str) -> None:
    assert got, what
    for cid, facts in got.items():
        ref = reference[cid]
        for k in FIELDS + PROFILE_FIELDS:  # field by field first, so a failure names what moved
            assert facts.get(k) == ref.get(k), f"{what}: {cid} {k}: {_diff(facts.get(k), ref.get(k))}"
        assert facts == ref, f"{what}: {cid}"


def _picked(reference: dict[str, dict], setup) -> list[str]:
    """Customers of every tier, with and without review and browsing texts, plus a few at random."""
    _, tables, _ = setup
    with_reviews, with_events = set(tables["reviews"]["customer_id"]), set(tables["events"]["customer_id"])
    ids = sorted(reference)
    by_value = sorted(ids, key=lambda c: -reference[c]["predicted_value"])
    picks = [by_value[0], by_value[len(ids) // 10], by_value[len(ids) // 2], by_value[-1]]
    picks += [next(c for c in ids if c in with_reviews and c in with_events and c not in picks)]
    picks += [next((c for c in ids if c not in with_reviews and c not in picks), ids[1])]
    picks += [next((c for c in ids if c not in with_events and c not in picks), ids[2])]
    picks += list(np.random.default_rng(5).choice([c for c in ids if c not in picks], 3, replace=False))
    return list(dict.fromkeys(picks))


@pytest.mark.slow
def test_a_customer_scored_alone_gets_the_batch_score(setup, encoder, reference):
    picks = _picked(reference, setup)
    assert {reference[c]["tier"] for c in picks} >= {"VIP", "Low"}
    for cid in picks:
        _assert_same(_score(setup, encoder, _only(setup[1], [cid])), reference, f"{cid} alone")


@pytest.mark.slow
def test_batches_of_other_sizes_and_compositions_give_the_same_scores(setup, encoder, reference):
    from service.partition import partition_bounds, split_tables

    _, tables, _ = setup
    ids = sorted(reference)
    rng = np.random.default_rng(11)
    for size in (2, 9, 60, 170):
        _assert_same(
            _score(setup, encoder, _only(tables, rng.choice(ids, size, replace=False))),
            reference,
            f"random batch of {size}",
        )
    # contiguous id ranges, as the Dask partitions are cut, in-process
    bounds = partition_bounds(ids, 4)
    for k, part in enumerate(split_tables(tables, bounds)):
        _assert_same(_score(setup, encoder, part), reference, f"id range {k}")


@pytest.mark.slow
def test_shuffled_input_rows_give_the_same_scores(setup, encoder, reference):
    _, tables, _ = setup
    for seed in (0, 1):
        shuffled = {k: v.sample(frac=1, random_state=seed) for k, v in tables.items()}
        got = _score(setup, encoder, shuffled)
        assert set(got) == set(reference)
        _assert_same(got, reference, f"rows shuffled (seed {seed})")
    reversed_rows = {k: v.iloc[::-1] for k, v in tables.items()}
    _assert_same(_score(setup, encoder, reversed_rows), reference, "rows reversed")


@pytest.mark.slow
def test_a_dask_partition_gives_the_same_scores(data_dir, model_dir, encoder, reference, tmp_path):
    """Scored on a real ``local:2`` cluster (6 partitions of contiguous ids) and written to the store."""
    from service import scaleout
    from service.pipeline import score

    with scaleout.connect("local:2") as client:
        res = score(data_dir, model_dir, tmp_path / "dask.db", encoder=encoder, dask=client)
    assert res.summary.customers == len(reference)
    got = store_facts(tmp_path / "dask.db")
    assert set(got) == set(reference)
    _assert_same(got, reference, "Dask local:2")
    local = store_facts(_local_store(data_dir, model_dir, encoder, tmp_path))
    assert got == local


@pytest.mark.slow
def test_scoring_in_customer_ranges_stores_what_one_pass_stores(data_dir, model_dir, encoder, reference, tmp_path):
    """The single-machine run scores large populations in ranges (two passes) to bound memory: same rows, same index."""
    from service.pipeline import score
    from service.store import ProfileStore

    one = score(data_dir, model_dir, tmp_path / "one.db", encoder=encoder)
    ranged = score(data_dir, model_dir, tmp_path / "ranged.db", encoder=encoder, range_customers=37)
    assert len(reference) > 5 * 37  # several ranges
    pd.testing.assert_frame_equal(one.frame, ranged.frame)

    def stored(store):
        ps = ProfileStore(store)
        try:
            with ps.engine.connect() as con:
                rows = pd.read_sql("SELECT * FROM profiles ORDER BY customer_id", con).drop(columns="scored_at")
                meta = pd.read_sql("SELECT * FROM store_meta ORDER BY key", con)
        finally:
            ps.close()
        return rows, meta[~meta["key"].isin(["scored_at", "index_version"])].reset_index(drop=True)

    (rows_one, meta_one), (rows_ranged, meta_ranged) = stored(tmp_path / "one.db"), stored(tmp_path / "ranged.db")
    pd.testing.assert_frame_equal(rows_one, rows_ranged)
    pd.testing.assert_frame_equal(meta_one, meta_ranged)
    files = sorted(p.name for p in Path(one.index_dir).iterdir())
    assert files == sorted(p.name for p in Path(ranged.index_dir).iterdir()) and "index.faiss" in files
    for name in files:  # the same vectors in the same order: the same index, byte for byte
        assert (Path(one.index_dir) / name).read_bytes() == (Path(ranged.index_dir) / name).read_bytes(), name


def _local_store(data_dir, model_dir, encoder, tmp_path):
    from service.pipeline import score

    store = tmp_path / "local.db"
    score(data_dir, model_dir, store, encoder=encoder)
    return store


def _rows_as_sent(data_dir, cid: str, new_id: str) -> dict:
    """A customer's input rows as JSON, values as written in the files, under a new id (its ids keep their order)."""
    from service.tables import TABLES, find_table_file, read_raw

    tables = {}
    for name in TABLES:
        path = find_table_file(data_dir, name)
        if path is None:
            continue
        df = read_raw(path)
        df = df[df["customer_id"] == cid].assign(customer_id=new_id)
        for key in ("order_id", "review_id"):
            if key in df:
                df[key] = new_id + "-" + df[key]
        if len(df):
            tables[name] = json.loads(df.to_json(orient="records"))
    return tables


@pytest.mark.slow
def test_post_v1_score_gives_the_batch_scores(data_dir, model_dir, encoder, setup, reference, tmp_path):
    """Cold-start scoring through the API, one customer per request and several in one, written and read back raw."""
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.api.app import create_app
    from service.api.settings import ApiSettings

    store = _local_store(data_dir, model_dir, encoder, tmp_path)
    admin = "admin-key-batch-independence"
    settings = ApiSettings(store=str(store), api_keys=SecretStr(f"{admin}:admin"), api_preload_encoder=False)
    cutoff = setup[2].isoformat()
    picks = _picked(reference, setup)
    with TestClient(create_app(settings, encoder=encoder), raise_server_exceptions=False) as client:

        def post(tables):
            r = client.post(
                "/v1/score", json={"tables": tables, "write": True, "cutoff": cutoff}, headers={"X-API-Key": admin}
            )
            assert r.status_code == 200, r.text
            assert pd.Timestamp(r.json()["cutoff"]) == setup[2]
            return r.json()["profiles"]

        sent = {}
        for cid in picks[:4]:  # alone
            profiles = post(_rows_as_sent(data_dir, cid, f"ALONE-{cid}"))
            assert [p["customer_id"] for p in profiles] == [f"ALONE-{cid}"]
            sent[f"ALONE-{cid}"] = (cid, profiles[0])
        batch: dict[str, list] = {}
        for cid in picks:  # together, in one request
            for name, rows in _rows_as_sent(data_dir, cid, f"BATCH-{cid}").items():
                batch.setdefault(name, []).extend(rows)
        for p in post(batch):
            sent[p["customer_id"]] = (p["customer_id"].removeprefix("BATCH-"), p)
    assert len(sent) == 4 + len(picks)
    stored = store_facts(store)
    for new_id, (cid, view) in sent.items():
        ref = reference[cid]
        _assert_same({cid: stored[new_id]}, reference, f"POST /v1/score as {new_id}")
        assert view["predicted_value"] == round(ref["predicted_value"], 2) and view["tier"] == ref["tier"]
        assert [(d["name"], d["contribution"]) for d in view["drivers"]] == [
            (d["name"], d["contribution"]) for d in ref["drivers"][: len(view["drivers"])]
        ]
