"""Shared fixtures: one synthetic dataset, one trained bundle and one scored store per test session.

The end-to-end fixtures use the real embedding model (bundled all-MiniLM-L6-v2, offline) and real XGBoost.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# OpenMP threads that sleep instead of spinning while they wait: on a 2-core machine shared with other work,
# spinning XGBoost threads slowed training up to 40x and pushed fixtures past the test timeout.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
from bundles import relabelled_bundle  # noqa: E402

from embeddings.exports import ENV_EXPORT_DIR, default_cache_dir  # noqa: E402

# One set of model exports for every test, the subprocess ones included (they give the CLI and the server a private
# INSIGHT_CACHE_DIR): exports hold no customer data, and the default int8 one takes about 20 s to build.
os.environ.setdefault(ENV_EXPORT_DIR, str(default_cache_dir()))

E2E_CUSTOMERS = 2000
E2E_SEED = 11


@pytest.fixture(scope="session")
def encoder(tmp_path_factory):
    """The real encoder behind a cache private to this test session."""
    from service.pipeline import make_encoder

    return make_encoder(None, tmp_path_factory.mktemp("embedding-cache"))


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    from service.synth import generate, write_tables

    d = tmp_path_factory.mktemp("synth")
    write_tables(generate(E2E_CUSTOMERS, seed=E2E_SEED), d)
    return d


@pytest.fixture(scope="session")
def trained(synth_dir, tmp_path_factory, encoder):
    from service.pipeline import TrainOptions, train

    return train(synth_dir, tmp_path_factory.mktemp("model") / "bundle", TrainOptions(seed=3), encoder=encoder)


@pytest.fixture(scope="session")
def scored(synth_dir, trained, tmp_path_factory, encoder):
    from service.pipeline import score

    store = tmp_path_factory.mktemp("store") / "profiles.db"
    return score(synth_dir, trained.out_dir, store, encoder=encoder)


@pytest.fixture(scope="session")
def relabelled_copy():
    """``copy(src_store, src_bundle, dst, version, scored_at=None) -> (store, version)``: a copy of bundle + store under
    ``dst``; with ``version`` (a tag), relabelled as another model version (same boosters), as a re-train would be;
    returns the store and the version."""
    import json
    import shutil

    from service.store import ProfileStore, profiles, store_meta

    def copy(src_store, src_bundle, dst, version: str | None, scored_at: str | None = None):
        dst.mkdir(parents=True)
        bundle = dst / "bundle"
        if version:
            version = relabelled_bundle(src_bundle, bundle, version)
        else:
            shutil.copytree(src_bundle, bundle)
            version = json.loads((bundle / "manifest.json").read_text())["model_version"]
        store = dst / "profiles.db"
        shutil.copy(src_store, store)
        meta = {"model_version": version, "model_dir": str(bundle)} | ({"scored_at": scored_at} if scored_at else {})
        ps = ProfileStore(store)
        with ps.engine.begin() as con:
            con.execute(profiles.update().values(model_version=version))
            for key, value in meta.items():
                con.execute(store_meta.update().where(store_meta.c.key == key).values(value=value))
        ps.close()
        return store, version

    return copy
