"""A bundle read while `insight train` swaps another into its folder is one bundle's, never a mix (reading by path had
paired one run's manifest with another run's boosters), and `train --out` never deletes files that are not the
bundle's."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import service.bundle as bundle_module
from service.bundle import BundleError, ModelBundle
from service.crash import swap_dir


@pytest.fixture(scope="module")
def two_bundles(tmp_path_factory):
    """Two bundles trained with different seeds on the same data: same features, different boosters."""
    from service.pipeline import TrainOptions, train
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("bundles")
    write_tables(generate(250, seed=3), d / "data")
    train(d / "data", d / "a", TrainOptions(seed=1, text_sources=()))
    train(d / "data", d / "b", TrainOptions(seed=2, text_sources=(), horizon_days=60))
    return d


def _predictions(b: ModelBundle) -> np.ndarray:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(0, 5, (20, len(b.feature_names))), columns=b.feature_names)
    return np.concatenate([b.value_model.predict(X), b.churn_model.predict_proba(X)])


def _same_bundle(got: ModelBundle, ref: ModelBundle) -> bool:
    return (
        got.model_version == ref.model_version
        and got.config == ref.config
        and np.allclose(_predictions(got), _predictions(ref))
    )


@pytest.mark.parametrize("writer_finishes", [True, False])
def test_a_bundle_swapped_in_while_it_is_read_gives_one_whole_bundle(
    two_bundles, tmp_path, monkeypatch, writer_finishes
):
    """The swap lands after the reader has read the manifest and before it reads the boosters. Finished (the old folder
    removed) the reader reads the new bundle whole; stopped between its renames' end and the removal, it reads the old
    bundle whole. Either way manifest and boosters are one run's."""
    a, b = ModelBundle.load(two_bundles / "a"), ModelBundle.load(two_bundles / "b")
    assert a.model_version != b.model_version and not np.allclose(_predictions(a), _predictions(b))
    live = tmp_path / "model"
    shutil.copytree(two_bundles / "a", live)
    incoming = tmp_path / ".model.tmp-1"
    shutil.copytree(two_bundles / "b", incoming)

    real_check = bundle_module._check_made_here
    swaps = []

    def check_then_swap(d, m):  # called between the manifest read and the boosters' read
        real_check(d, m)
        if not swaps:
            swaps.append(d)
            if writer_finishes:
                swap_dir(incoming, live, fault="test")  # renames, then removes the set-aside old folder
            else:
                live.rename(tmp_path / ".model.old-1")
                incoming.rename(live)

    monkeypatch.setattr(bundle_module, "_check_made_here", check_then_swap)
    got = ModelBundle.load(live)
    assert swaps
    assert _same_bundle(got, b if writer_finishes else a)


def test_a_bundle_whose_manifest_names_a_path_outside_it_is_refused(two_bundles, tmp_path):
    import json

    live = tmp_path / "model"
    shutil.copytree(two_bundles / "a", live)
    m = json.loads((live / "manifest.json").read_text())
    m["files"]["../secret"] = "0" * 64
    (live / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="not a file of the bundle folder"):
        ModelBundle.load(live)


def test_train_refuses_a_bundle_folder_that_holds_other_files(two_bundles, tmp_path):
    """A profile store or notes kept inside the model folder would be deleted with the old bundle; they are refused
    before any training, and nothing in the folder changes."""
    from service.bundle import check_bundle_out

    live = tmp_path / "model"
    shutil.copytree(two_bundles / "a", live)
    (live / "profiles.db").write_bytes(b"SQLite format 3\0 not really")
    (live / "notes").mkdir()
    before = sorted(p.name for p in live.iterdir())
    with pytest.raises(BundleError, match=r"also holds other files \(notes, profiles.db\)"):
        check_bundle_out(live)
    assert sorted(p.name for p in live.iterdir()) == before
    (live / "profiles.db").unlink()
    (live / "notes").rmdir()
    check_bundle_out(live)  # the bundle's own files alone: it may be replaced


def test_train_refuses_a_bundle_folder_whose_manifest_is_unreadable(two_bundles, tmp_path):
    """Which files are the bundle's comes from its manifest; a damaged one leaves that unknown: nothing is replaced."""
    from service.bundle import check_bundle_out

    live = tmp_path / "model"
    shutil.copytree(two_bundles / "a", live)
    (live / "manifest.json").write_text('{"files": ')
    before = sorted(p.name for p in live.iterdir())
    with pytest.raises(BundleError, match=r"manifest.json cannot be read"):
        check_bundle_out(live)
    assert sorted(p.name for p in live.iterdir()) == before
