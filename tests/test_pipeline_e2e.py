"""End to end on ~2,000 generated customers with the real embedding model and real XGBoost."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from service.bundle import BundleError, ModelBundle
from service.explain import ALL_DRIVER_NAMES, check_narrative, facts_from_profile
from service.features import TABULAR_FEATURES, FeatureBuilder
from service.models import ValueModel
from service.pipeline import TrainOptions, explain, score, train
from service.store import ProfileStore
from service.tables import load_tables
from service.tiers import TIER_ORDER

pytestmark = pytest.mark.slow


def test_bundle_is_complete_and_metrics_sane(trained):
    b = trained.bundle
    files = {p.name for p in trained.out_dir.iterdir()}
    assert {"manifest.json", "value.json", "churn.json", "reducer_review.npz", "reducer_browse.npz"} <= files
    m = b.metrics
    powers = {f"tweedie:{p}" for p in ValueModel.POWERS}
    assert m["value_objective"] in powers and powers <= set(m["value_selection"])
    assert m["train_horizon_days"] == b.config["horizon_days"] and len(m["panel_rows"]) >= 2
    assert m["value"]["normalized_gini"] > 0.5
    assert m["churn"]["roc_auc"] > 0.7
    manifest = json.loads((trained.out_dir / "manifest.json").read_text())
    assert manifest["versions"]["xgboost"] and manifest["data_fingerprint"] and manifest["tiers"]["thresholds"]
    # read from the xgboost-cpu distribution the project installs: "unknown" had made the major-version check a no-op
    assert manifest["versions"]["xgboost"].split(".")[0] == __import__("xgboost").__version__.split(".")[0]


def test_text_features_raise_holdout_gini_over_tabular_only(tmp_path_factory, encoder):
    """On 10,000 customers. At 2,000 the gain (+0.002..+0.037 over 11 seeds) is too noisy to assert a margin; at
    5,000 it was +0.015..+0.044 over 4 data and 2 model seeds, but the check's bootstrap share fell to 0.85 in two of
    those 8 runs on int8 vectors (0.955 at worst on onnx's), under the 0.9 it asks; at 10,000 0.97..1.0 on both."""
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("synth10k")
    write_tables(generate(10000, seed=2), d)
    bundle = train(d, d / "model", TrainOptions(seed=0), encoder=encoder).bundle
    m = bundle.metrics
    check = m["text_check"]  # one booster with text and one without, on the held-out validation customers
    assert check["used"] and check["with_text"] > check["tabular_only"] + 0.01, check
    assert any(c.endswith("_text_value_score") for c in bundle.feature_names)  # the bundle's models do use text


def test_scored_store_has_every_customer_with_tiers_in_shares(scored):
    f = scored.frame
    ps = ProfileStore(scored.store)
    assert ps.count() == len(f) > 1000
    shares = f["tier"].value_counts(normalize=True)
    assert set(f["tier"]) == set(TIER_ORDER)
    assert abs(shares["VIP"] - 0.05) < 0.02 and abs(shares["Low"] - 0.5) < 0.06
    # VIP customers really are worth more, in hindsight too: synthetic data includes the future window
    # only when the cutoff is earlier than the data end; here it is the end, so check predictions are ordered.
    assert f.groupby("tier")["predicted_value"].min()["VIP"] >= f.groupby("tier")["predicted_value"].max()["High"]
    p = ps.get(f["customer_id"].iloc[0])
    assert p["profile"]["drivers"] and p["rfm_segment"]
    ps.close()


def test_drivers_sum_to_prediction_minus_one_shared_baseline(scored):
    """Currency contributions of all families add up to prediction - baseline, and the baseline is the same for all."""
    ps = ProfileStore(scored.store)
    baselines = []
    for cid in scored.frame["customer_id"].iloc[:50]:
        p = ps.get(cid)
        baselines.append(p["predicted_value"] - sum(d["contribution"] for d in p["profile"]["drivers"]))
    ps.close()
    assert np.ptp(baselines) < 0.1  # each driver is rounded to cents


def test_vip_explanation_is_grounded(scored):
    vip = scored.frame[scored.frame["tier"] == "VIP"]["customer_id"].iloc[0]
    exp = explain(vip, scored.store)
    assert exp.tier == "VIP" and exp.narrator == "template" and exp.check.passed and not exp.fallback
    assert exp.customer_id in exp.narrative and "VIP" in exp.narrative
    assert any(d.name in exp.narrative for d in exp.drivers)
    for e in exp.evidence:
        assert e.text in exp.narrative or exp.evidence.index(e) >= 2


def test_explanations_pass_the_check_for_many_customers(scored):
    ps = ProfileStore(scored.store)
    meta = ps.meta()
    from service.explain import TemplateNarrator

    for cid in scored.frame["customer_id"].sample(100, random_state=0):
        facts = facts_from_profile(ps.get(cid), meta)
        result = check_narrative(TemplateNarrator().narrate(facts), facts, ALL_DRIVER_NAMES)
        assert result.passed, (cid, result.reasons)
    ps.close()


def test_similar_index_written_beside_store(scored):
    from embeddings.index import SimilarityIndex

    idx = SimilarityIndex.load(scored.index_dir)
    assert len(idx) == len(scored.frame)
    cid = scored.frame["customer_id"].iloc[0]
    ids, sims = idx.neighbours_of(cid, k=5)
    assert cid not in ids and len(ids) == 5 and (np.diff(sims) <= 1e-6).all()


def test_leakage_changing_data_after_cutoff_changes_no_feature(synth_dir):
    loaded = load_tables(synth_dir)
    cutoff = pd.Timestamp("2025-09-30T23:59:59Z")
    before = FeatureBuilder(loaded.tables).snapshot(cutoff, 90)
    t = {k: v.copy() for k, v in loaded.tables.items()}
    late = t["orders"]["order_ts"] > cutoff
    t["orders"].loc[late, "amount"] *= 10
    t["orders"] = pd.concat([t["orders"], t["orders"][late].assign(order_id=lambda d: d["order_id"] + "x")])
    t["reviews"].loc[t["reviews"]["review_ts"] > cutoff, "rating"] = 1.0
    t["events"] = t["events"][t["events"]["event_ts"] <= cutoff - pd.Timedelta(0)].pipe(
        lambda e: pd.concat([e, e.assign(event_ts=cutoff + pd.Timedelta(days=3))])
    )
    after = FeatureBuilder(t).snapshot(cutoff, 90)
    pd.testing.assert_frame_equal(before[["customer_id"] + TABULAR_FEATURES], after[["customer_id"] + TABULAR_FEATURES])
    assert not np.allclose(before["future_value"], after["future_value"])  # the target did see the change


def test_same_seed_same_predictions(synth_dir, trained, tmp_path, encoder):
    again = train(synth_dir, tmp_path / "again", TrainOptions(seed=3), encoder=encoder)
    assert (again.out_dir / "value.json").read_bytes() == (trained.out_dir / "value.json").read_bytes()
    assert (again.out_dir / "churn.json").read_bytes() == (trained.out_dir / "churn.json").read_bytes()


def test_failed_score_keeps_previous_profiles(scored, synth_dir, tmp_path, encoder):
    store = tmp_path / "p.db"
    shutil.copy(scored.store, store)
    shutil.copytree(scored.index_dir, str(store) + ".index")
    before = ProfileStore(store).count()
    with pytest.raises(BundleError):
        score(synth_dir, tmp_path / "no-such-model", store, encoder=encoder)
    assert ProfileStore(store).count() == before


def test_broken_bundles_are_refused(trained, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(trained.out_dir, b)
    (b / "churn.json").write_text("{}")
    with pytest.raises(BundleError, match="checksum"):
        ModelBundle.load(b)
    shutil.rmtree(b)
    shutil.copytree(trained.out_dir, b)
    (b / "value.json").unlink()
    with pytest.raises(BundleError, match="value.json is missing"):
        ModelBundle.load(b)
    shutil.rmtree(b)
    shutil.copytree(trained.out_dir, b)
    m = json.loads((b / "manifest.json").read_text())
    m["versions"]["xgboost"] = "1.7.6"
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="retrain"):
        ModelBundle.load(b)
    (b / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        ModelBundle.load(b)
    (b / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)  # had raised RecursionError (probe, stop 30)
    with pytest.raises(BundleError, match="nested too deeply"):
        ModelBundle.load(b)
    # valid JSON of the wrong shape: it had failed inside the loading with an AttributeError naming no file
    good = json.loads((trained.out_dir / "manifest.json").read_text())
    for shape, field in (
        ([], "not an object"),
        ({**good, "files": []}, "files"),
        ({**good, "versions": "2.1"}, "versions"),
    ):
        (b / "manifest.json").write_text(json.dumps(shape))
        with pytest.raises(BundleError, match=f"manifest.*{field}"):
            ModelBundle.load(b)


MANIFEST_EDITS = {
    "thresholds not an object": lambda m: m["tiers"].__setitem__("thresholds", "x"),
    "no tiers": lambda m: m.__setitem__("tiers", None),
    "a NaN threshold": lambda m: m["tiers"]["thresholds"].__setitem__("VIP", float("nan")),
    "VIP below High": lambda m: m["tiers"]["thresholds"].__setitem__("VIP", 0.0),
    "segments malformed": lambda m: m.__setitem__("rfm", {"edges": "q"}),
    "peers a list": lambda m: m.__setitem__("peers", [1, 2]),
    "config a list": lambda m: m.__setitem__("config", []),
    "horizon in words": lambda m: m["config"].__setitem__("horizon_days", "ninety"),
    "another currency": lambda m: m["config"].__setitem__("currency", "EUR"),
    "version a number": lambda m: m.__setitem__("model_version", 5),
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS))
def test_an_edited_or_damaged_manifest_is_refused_with_one_message(trained, tmp_path, edit):
    """The manifest's tiers, segments, peers and config are hashed into the model version: any edit is a BundleError
    (one line from the CLI and the server), never an AttributeError or a bundle that scores with other tiers."""
    b = tmp_path / "b"
    shutil.copytree(trained.out_dir, b)
    m = json.loads((b / "manifest.json").read_text())
    MANIFEST_EDITS[edit](m)
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="does not match its model version"):
        ModelBundle.load(b)


@pytest.mark.parametrize("edit", ["thresholds not an object", "peers a list", "config a list", "horizon in words"])
def test_a_legacy_manifest_is_checked_for_shape(trained, tmp_path, edit):
    """A bundle from before the version covered the manifest (its version hashes the files only) still loads, and a
    malformed section is still one BundleError."""
    from service.bundle import _version_digest

    b = tmp_path / "b"
    shutil.copytree(trained.out_dir, b)
    m = json.loads((b / "manifest.json").read_text())
    m["model_version"] = m["created_at"][:10] + "-" + _version_digest(m["files"], m["data_fingerprint"], None)[:10]
    (b / "manifest.json").write_text(json.dumps(m))
    assert ModelBundle.load(b).model_version == m["model_version"]
    MANIFEST_EDITS[edit](m)
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="malformed"):
        ModelBundle.load(b)


def test_model_version_names_the_tiers_too(trained, tmp_path):
    """Two bundles that differ only in their tier shares are different models: the server pairs a store with its
    bundle by this version, so a bundle retrained with other shares must not pass for the store's."""
    from dataclasses import replace

    from service.tiers import TierPolicy

    b = ModelBundle.load(trained.out_dir)
    versions = []
    for name in ("first", "again"):
        copy = replace(b, model_version="")
        copy.save(tmp_path / name)
        versions.append(copy.model_version)
    other = replace(b, tiers=TierPolicy(shares={"VIP": 0.10, "High": 0.15, "Medium": 0.30}), model_version="")
    other.tiers.fit(np.linspace(1.0, 1000.0, 500))
    other.save(tmp_path / "other")
    assert versions[0] == versions[1] != other.model_version


def test_retrain_replaces_bundle_atomically(synth_dir, trained, tmp_path, encoder):
    out = tmp_path / "m"
    shutil.copytree(trained.out_dir, out)
    train(synth_dir, out, TrainOptions(seed=3, horizon_days=60, text_check=False), encoder=encoder)
    assert ModelBundle.load(out).config["horizon_days"] == 60
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dirs left behind
