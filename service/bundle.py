"""The model bundle: everything scoring needs, in one directory written atomically and validated on load.

Layout: manifest.json (format, versions, feature list, tiers, RFM edges, peer quantiles, metrics,
data fingerprint, file checksums), value.json and churn.json (XGBoost JSON), reducer_*.npz.
No pickles: every file is plain JSON or arrays, so a bundle is inspectable and safe to load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from embeddings.index import file_sha256, fsync_path
from service.crash import fault_point, leftovers, recover_swap, swap_dir
from service.drivers import PeerPercentiles
from service.models import ChurnModel, ValueModel
from service.text_features import TextFeaturizer
from service.tiers import RFMSegmenter, TierPolicy

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
LIBRARIES = ("xgboost", "sentence-transformers", "scikit-learn", "numpy", "customer-insight")


class BundleError(ValueError):
    """A model bundle is missing, incomplete, corrupt or made by an incompatible version."""


# Other distributions of the same library: the project installs XGBoost as ``xgboost-cpu``, so asking for ``xgboost``
# alone recorded "unknown" in every bundle, the major-version check never fired, and a bundle made where the package is
# plain ``xgboost`` of the very same version was refused
_DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}


def library_versions() -> dict[str, str]:
    out = {}
    for lib in LIBRARIES:
        out[lib] = "unknown"
        for dist in _DISTRIBUTIONS.get(lib, (lib,)):
            try:
                out[lib] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return out


@dataclass
class ModelBundle:
    value_model: ValueModel
    churn_model: ChurnModel
    text: TextFeaturizer
    feature_names: list[str]
    tiers: TierPolicy
    rfm: RFMSegmenter
    peers: PeerPercentiles
    config: dict  # horizon_days, cutoff, train_cutoff, seed, embedding model, half-life, currency...
    metrics: dict = field(default_factory=dict)
    fingerprint: str = ""
    model_version: str = ""
    created_at: str = ""
    versions: dict = field(default_factory=library_versions)

    def save(self, out_dir: str | Path) -> Path:
        """Write to a temporary sibling directory, then swap it in with renames, so readers never see half a bundle."""
        out = Path(out_dir).resolve()
        check_bundle_out(out)
        recover_bundle(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
        try:
            self.value_model.save(tmp / "value.json")
            self.churn_model.save(tmp / "churn.json")
            text_spec = self.text.save(tmp)
            self.created_at = self.created_at or datetime.now(UTC).isoformat(timespec="seconds")
            files = sorted(p.name for p in tmp.iterdir())
            checksums = {name: file_sha256(tmp / name) for name in files}
            defining = {
                "feature_names": self.feature_names,
                "text": text_spec,
                "tiers": self.tiers.to_dict(),
                "rfm": self.rfm.to_dict(),
                "peers": self.peers.to_dict(),
                "config": self.config,
            }
            # through JSON once, so the hash is of what the manifest holds (tuples become lists, keys strings)
            defining = json.loads(json.dumps(defining, default=str))
            digest = _version_digest(checksums, self.fingerprint, defining)
            self.model_version = f"{self.created_at[:10]}-{digest[:10]}"
            manifest = {
                "bundle_format": BUNDLE_FORMAT,
                "model_version": self.model_version,
                "created_at": self.created_at,
                "versions": self.versions,
                **defining,
                "metrics": self.metrics,
                "data_fingerprint": self.fingerprint,
                "files": checksums,
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            for p in tmp.iterdir():
                fsync_path(p)
            os.chmod(tmp, 0o755)
            fault_point("train:bundle-written")
            swap_dir(tmp, out, fault="train")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelBundle:
        d = Path(model_dir)
        for _ in range(_READ_TRIES):
            read = _read_bundle(d)
            if read is not None:
                break
            time.sleep(0.05)
        else:
            raise BundleError(f"{d}: was replaced {_READ_TRIES} times while it was being read; try again")
        m, blobs = read
        required = ("feature_names", "tiers", "rfm", "peers", "config", "text", "files")
        missing = [k for k in required if k not in m]
        if missing or "value.json" not in m["files"] or "churn.json" not in m["files"]:
            raise BundleError(f"{d}: manifest is incomplete (missing {missing or 'booster files'})")
        _check_version(d, m)
        # the loaders take paths: they read the verified bytes from a private copy, never the live folder again
        with tempfile.TemporaryDirectory(prefix="insight-bundle-") as private:
            copy = Path(private)
            for name, blob in blobs.items():
                (copy / name).write_bytes(blob)
            try:
                value = ValueModel.load(copy / "value.json")
                churn = ChurnModel.load(copy / "churn.json")
                text = TextFeaturizer.load(copy, m["text"])
            except Exception as exc:  # xgboost / numpy errors on a damaged file
                raise BundleError(f"{d}: cannot load model files: {exc}") from exc
        if value.feature_names_ != m["feature_names"] or churn.feature_names_ != m["feature_names"]:
            raise BundleError(f"{d}: boosters' features do not match the manifest's feature list")
        try:
            tiers = TierPolicy.from_dict(m["tiers"])
            rfm = RFMSegmenter.from_dict(m["rfm"])
            peers = PeerPercentiles.from_dict(m["peers"])
            _check_config(m["config"])
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise BundleError(f"{d}: manifest's tiers, segments, peers or config are malformed ({exc})") from exc
        return cls(
            value_model=value,
            churn_model=churn,
            text=text,
            feature_names=m["feature_names"],
            tiers=tiers,
            rfm=rfm,
            peers=peers,
            config=m["config"],
            metrics=m.get("metrics", {}),
            fingerprint=m.get("data_fingerprint", ""),
            model_version=m["model_version"],
            created_at=m.get("created_at", ""),
            versions=m.get("versions", {}),
        )


# A concurrent `insight train` swaps its bundle in with two renames; a reader that meets the gap, or whose folder was
# set aside and removed while it read, reads again (each try is milliseconds; a swap is two renames).
_READ_TRIES = 40


def _read_bundle(d: Path) -> tuple[dict, dict[str, bytes]] | None:
    """The manifest and the bytes of every file it lists, each checked against its checksum, all read through ONE open
    handle on the folder: a bundle folder is never edited, only replaced by renames, so they are one bundle's files even
    while `insight train` swaps another in (reading by path had paired one run's manifest with another's boosters).
    None when the folder was replaced while it was read: the caller reads again."""
    if not d.exists():
        recover_bundle(d)
        if not d.exists() and leftovers(d, "old"):
            return None  # a live writer is between its two renames
    if not d.is_dir():
        raise BundleError(f"{d}: model bundle directory does not exist (train one with `insight train`)")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        pinned = os.fstat(fd)

        def replaced() -> bool:
            try:
                now = os.stat(d)
            except FileNotFoundError:
                return True
            return (now.st_dev, now.st_ino) != (pinned.st_dev, pinned.st_ino)

        def read(name: str) -> bytes | None:
            try:
                with open(name, "rb", opener=lambda path, flags: os.open(path, flags, dir_fd=fd)) as f:
                    return f.read()
            except FileNotFoundError:
                return None

        mpath = d / MANIFEST
        raw = read(MANIFEST)
        if raw is None:
            if replaced():
                return None
            raise BundleError(f"{d}: not a model bundle (no {MANIFEST})")
        try:
            m = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BundleError(f"{mpath}: manifest is not valid JSON ({exc})") from exc
        except RecursionError:  # 100,000 nested brackets had crashed `insight score` with a traceback
            raise BundleError(f"{mpath}: manifest is nested too deeply to be a model bundle's") from None
        _check_manifest_shape(mpath, m)
        _check_made_here(d, m)
        blobs = {}
        for name, digest in m.get("files", {}).items():
            if name in (MANIFEST, ".", "..") or Path(name).name != name or "\\" in name:
                raise BundleError(f"{mpath}: lists {name!r}, which is not a file of the bundle folder")
            blob = read(name)
            if blob is None:
                if replaced():
                    return None
                raise BundleError(f"{d}: bundle is incomplete: {name} is missing")
            if hashlib.sha256(blob).hexdigest() != digest:
                raise BundleError(f"{d}: {name} does not match its checksum in the manifest (corrupt or edited)")
            blobs[name] = blob
        return m, blobs
    finally:
        os.close(fd)


def _check_made_here(d: Path, m: dict) -> None:
    """The bundle's format and XGBoost's major version are this installation's."""
    if m.get("bundle_format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{d}: bundle format {m.get('bundle_format')!r} is not supported by this version "
            f"(expects {BUNDLE_FORMAT}); retrain the model"
        )
    made_with = m.get("versions", {}).get("xgboost", "unknown")
    ours = library_versions()["xgboost"]
    # "unknown": written before the version was read from the xgboost-cpu distribution; XGBoost itself checks the
    # booster files it loads
    if made_with != "unknown" and made_with.split(".")[0] != ours.split(".")[0]:
        raise BundleError(f"{d}: made with xgboost {made_with}, this installation has {ours}; retrain the model")


def _version_digest(checksums: dict, fingerprint: str, defining: dict | None) -> str:
    """The model version's hash: the files, the data, and the manifest's parts that decide a profile (tier shares
    alone change tiers, and the server pairs a store with a bundle by this version). ``defining`` None: the formula
    of bundles written before it covered the manifest."""
    h = hashlib.sha256(json.dumps(checksums, sort_keys=True).encode() + fingerprint.encode())
    if defining is not None:
        h.update(json.dumps(defining, sort_keys=True).encode())
    return h.hexdigest()


DEFINING = ("feature_names", "text", "tiers", "rfm", "peers", "config")


def _check_version(d: Path, m: dict) -> None:
    """The manifest's tiers, segments, peers and config are those the bundle was saved with: an edit (or damage)
    changes the version hash. Bundles from before the hash covered them are checked on their files only."""
    version = str(m.get("model_version", ""))
    checksums, fingerprint = m.get("files", {}), str(m.get("data_fingerprint", ""))
    try:
        now = _version_digest(checksums, fingerprint, {k: m[k] for k in DEFINING})
    except (TypeError, ValueError) as exc:  # e.g. NaN or a non-string key that JSON round trips cannot hold
        raise BundleError(f"{d}: manifest is malformed ({exc})") from exc
    legacy = _version_digest(checksums, fingerprint, None)
    if not any(version.endswith("-" + digest[:10]) for digest in (now, legacy)):
        raise BundleError(
            f"{d}: the manifest does not match its model version {version!r} (edited or damaged); retrain the model"
        )


def _check_config(config: dict) -> None:
    """What scoring reads from the config, checked where a legacy manifest's version hash does not cover it."""
    if not isinstance(config, dict):
        raise TypeError(f"config is a {type(config).__name__}, not an object")
    h = config.get("horizon_days")
    if not isinstance(h, int) or isinstance(h, bool) or h < 1:
        raise ValueError(f"horizon_days must be a positive whole number of days, got {h!r}")
    if not isinstance(config.get("currency", "$"), str):
        raise ValueError("currency must be text")


def check_bundle_out(out: str | Path) -> None:
    """Fail fast, before any training, unless ``out`` can take a bundle: it may be missing, an empty folder or a model
    bundle (replaced). A file or a folder of other things is refused, so a mistyped --out never deletes them; its
    parent must be creatable and writable. Creates the parent."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise BundleError(
                f"{out}: exists and is not a model bundle folder; it would be replaced, choose another --out"
            )
        if any(out.iterdir()) and not (out / MANIFEST).is_file():
            raise BundleError(
                f"{out}: a folder that is not a model bundle (no {MANIFEST}) and not empty; it would be replaced, "
                "choose another --out"
            )
        own = _manifest_files(out)
        if own is None:
            raise BundleError(
                f"{out}: its {MANIFEST} cannot be read, so which files in it are the bundle's is unknown and the "
                "whole folder would be replaced; move it away or choose another --out"
            )
        foreign = sorted(p.name for p in out.iterdir() if p.name != MANIFEST and p.name not in own)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise BundleError(
                f"{out}: a model bundle folder that also holds other files ({shown}); the whole folder would be "
                "replaced, so move them out or choose another --out"
            )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundleError(f"{out}: cannot create its folder {out.parent} ({exc.strerror or exc})") from None
    if not os.access(out.parent, os.W_OK):
        raise BundleError(f"{out}: its folder {out.parent} is not writable")


def _manifest_files(out: Path) -> set[str] | None:
    """The files the bundle in ``out`` lists in its manifest (what its ``save`` wrote), or None if it is unreadable."""
    if not (out / MANIFEST).is_file():
        return set()  # an empty folder
    try:
        files = json.loads((out / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return {str(name) for name in files} if isinstance(files, dict | list) else None


def recover_bundle(out: str | Path) -> list[Path]:
    """Repair what a killed ``save`` left beside ``out`` (``service.crash.recover_swap``): a set-aside old bundle is put
    back when ``out`` is missing, temp and set-aside folders of writers that are gone are removed."""
    return recover_swap(Path(out), restorable=lambda p: (p / MANIFEST).is_file())


def data_fingerprint(sources: dict[str, Path]) -> str:
    """Hash of the input files' bytes, so a bundle says exactly which data it was trained on."""
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode())
        h.update(file_sha256(Path(sources[name])).encode())
    return h.hexdigest()[:16]


def _check_manifest_shape(mpath: Path, m) -> None:
    """What is read before the model version is checked must have its shape: valid JSON that was a list, ``files``
    as a list or ``versions`` as a string had failed with an AttributeError naming no file. (The other sections are
    hashed into the model version and checked after it.)"""
    if not isinstance(m, dict):
        raise BundleError(f"{mpath}: manifest is a JSON {type(m).__name__}, not an object; retrain the model")
    wrong = []
    if "files" in m and not (isinstance(m["files"], dict) and all(isinstance(v, str) for v in m["files"].values())):
        wrong.append("files")
    if "versions" in m and not (isinstance(m["versions"], dict) and isinstance(m["versions"].get("xgboost", ""), str)):
        wrong.append("versions")
    if wrong:
        raise BundleError(f"{mpath}: manifest fields of the wrong type: {', '.join(wrong)}; retrain the model")
