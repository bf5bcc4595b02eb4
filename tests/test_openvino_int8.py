"""The ``openvino-int8`` recipe: synthetic calibration texts, a cache file name that carries the recipe, and vectors
that do not depend on the batch (texts of equal token length run together, unpadded)."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings import openvino_backend as ob


def test_int8_file_name_carries_the_recipe():
    assert ob.INT8_RECIPE in ob.OV_INT8_FILE and ob.OV_INT8_FILE.endswith(".xml")
    assert ob.OV_INT8_FILE != "openvino/openvino_model_qint8_static.xml"  # the first recipe's file
    assert ob.OV_INT8_FILE != ob.OV_FP32_FILE


def test_an_export_of_another_recipe_is_rebuilt(tmp_path, monkeypatch):
    """A cached folder holding another recipe's int8 file is not taken for this recipe's: the export runs again."""
    pytest.importorskip("openvino")
    from embeddings.model_files import model_fingerprint

    src = tmp_path / "model"
    src.mkdir()
    (src / "config.json").write_text("{}")
    target = tmp_path / "exports" / model_fingerprint(src)
    for name in (ob.OV_FP32_FILE, "openvino/openvino_model_qint8_static.xml"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_text("<net/>")
    built = []
    monkeypatch.setattr(ob, "build_in_place", lambda t, build, failure: built.append(t))
    ob.openvino_export(str(src), quantized=True, export_dir=tmp_path / "exports")
    assert built == [target]
    # The float model of that folder is still served as it is.
    fp32 = ob.openvino_export(str(src), quantized=False, export_dir=tmp_path / "exports")
    assert fp32 == (str(target), ob.OV_FP32_FILE)
    assert len(built) == 1


def test_int8_calibration_texts_are_synthetic_fixed_and_long():
    from transformers import AutoTokenizer

    from embeddings import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model(None))
    texts = ob.int8_calibration_texts(tok)
    assert texts == ob.int8_calibration_texts(tok)  # a fixed seed
    assert len(texts) == ob.CALIBRATION_SHORT + ob.CALIBRATION_JOINED
    assert texts[: ob.CALIBRATION_SHORT] == ob.calibration_texts(ob.CALIBRATION_SHORT)
    lengths = [len(tok(t)["input_ids"]) for t in texts[ob.CALIBRATION_SHORT :]]
    assert min(lengths) >= 4 and max(lengths) >= ob.CALIBRATION_MAX_TOKENS  # long texts, up to the encoder's limit


def _varied_synthetic_texts(n: int) -> list[str]:
    """Short and long synthetic texts (never real data), many of them of equal token length."""
    pool = ob.calibration_texts(400, seed=5)
    rng = np.random.default_rng(5)
    texts = pool[: n // 2]
    while len(texts) < n:
        texts.append(" ".join(pool[i] for i in rng.integers(len(pool), size=int(rng.integers(2, 12)))))
    return list(dict.fromkeys(texts + ["", "ok", "ok!"]))


@pytest.mark.slow
def test_int8_vectors_do_not_depend_on_the_batch(tmp_path):
    """A text gets the same int8 vector alone or in any batch (padded batches moved components by up to 5e-3)."""
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    import embeddings

    enc = embeddings.SentenceTransformerEncoder(backend="openvino-int8", export_dir=tmp_path)
    exported = sorted("/".join(p.relative_to(tmp_path).parts[1:]) for p in tmp_path.rglob("*.xml"))
    assert exported == sorted([ob.OV_FP32_FILE, ob.OV_INT8_FILE])  # <fingerprint>/<file>, the recipe in the name
    texts = _varied_synthetic_texts(160)
    v = enc.encode(texts)
    alone = np.concatenate([enc.encode([t]) for t in texts[:60]])
    np.testing.assert_allclose(alone, v[:60], rtol=0, atol=1e-6)
    rng = np.random.default_rng(1)
    for batch_size in (3, 16, 256):
        perm = rng.permutation(len(texts))
        shuffled = np.empty_like(v)
        shuffled[perm] = enc.encode([texts[i] for i in perm], batch_size=batch_size)
        np.testing.assert_allclose(shuffled, v, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_openvino_encoder_serves_concurrent_threads(tmp_path):
    """OpenVINO's model holds one infer request: concurrent encode calls (API requests, the cold-start prefetch) take
    turns instead of failing with "Infer Request is busy", and every thread gets its texts' own vectors."""
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    from concurrent.futures import ThreadPoolExecutor

    import embeddings

    enc = embeddings.SentenceTransformerEncoder(backend="openvino-int8", export_dir=tmp_path)
    texts = _varied_synthetic_texts(80)
    want = enc.encode(texts)
    chunks = [texts[i::8] for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda chunk: enc.encode(chunk, batch_size=4), chunks * 3))
    for i, vecs in enumerate(got):
        np.testing.assert_allclose(vecs, want[i % 8 :: 8], rtol=0, atol=1e-6)
