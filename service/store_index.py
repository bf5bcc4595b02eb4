"""The similar-customer index's version directories under the index root (``service.store_location.index_root``).

A score run writes its index into a new version directory, and the store's committed metadata names it. Directories no
committed store names are removed once their writer is gone (``clean_index_root``, before a run) or, for this
process's own and dead runs' versions, after the commit (``prune_index_versions``). An index from before versions
existed sits directly in the root.
"""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

from service.crash import orphaned, remove

INDEX_FILES = ("index.faiss", "ids.json", "meta.json")  # a pre-versioning index sat directly in the root


def _is_index_version(p: Path) -> bool:
    """An index version or its temp directory (``v-...``, ``.v-...``); the root also holds the rejects folder of a
    database store, which ``service.rejects_files`` looks after."""
    return p.name.startswith(("v-", ".v-"))


def new_index_version() -> str:
    return f"v-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{secrets.token_hex(3)}"


def clean_index_root(root: Path, keep: set[str]) -> list[Path]:
    """Remove index versions and temp dirs under ``root`` that no committed store names (``keep``) and whose writer is
    gone, plus the pre-versioning swap debris beside the root. Returns what was removed."""
    removed = []
    if root.is_dir():
        for p in root.iterdir():
            if p.name in keep or not _is_index_version(p):
                continue
            if orphaned(p):
                remove(p)
                removed.append(p)
    for p in list(root.parent.glob(f".{root.name}.tmp-*")) + list(root.parent.glob(f".{root.name}.old-*")):
        # The old protocol's names carry no pid; they are only ever left by a killed run (a live one renames them away
        # at once).
        if root.exists() or not (p / "index").exists():
            remove(p)
            removed.append(p)
    return removed


def prune_index_versions(root: Path, keep: set[str]) -> None:
    """After a commit: drop versions no longer named (``keep``: the new and the previous one) that this process or a
    dead one wrote; a concurrent live run's directories stay."""
    me = os.getpid()
    from service.crash import writer_pid

    if not root.is_dir():
        return
    for p in root.iterdir():
        if p.name in keep or not (_is_index_version(p) or p.name in INDEX_FILES):
            continue
        pid = writer_pid(p.name)
        if pid == me or orphaned(p) or (pid is None and p.name in INDEX_FILES):
            remove(p)  # (a pre-versioning index's files count as one version: kept while named in ``keep``)


def recover_legacy_index(root: Path) -> None:
    """The pre-versioning swap (old aside, then new in) could be killed between its renames, leaving no index: put it
    back."""
    if root.exists():
        return
    for old in sorted(root.parent.glob(f".{root.name}.old-*"), key=lambda p: p.stat().st_mtime, reverse=True):
        if (old / "index" / "ids.json").exists():
            try:
                os.replace(old / "index", root)
                shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
            return
