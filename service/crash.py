"""Crash safety: deterministic fault-injection points (for tests) and the clean-up of what a killed run leaves behind.

``fault_point(name)`` kills the process with SIGKILL when ``INSIGHT_FAULT_POINT`` names that point, so a test can stop
``insight score`` or ``insight train`` exactly between two renames or just before a commit, without timing games.
Points: ``train:bundle-written`` (new bundle complete in its temp dir), ``train:old-moved-aside`` (between the two
renames), ``train:new-in-place`` (before the old bundle is removed), ``score:index-written`` (new index version on disk,
store untouched), ``score:rows-written`` (inside the store transaction, before the commit: a hot journal),
``score:committed`` (after the commit, before old index versions are pruned), ``serve:snapshot-copied``,
``eval:report-staged`` (every report file written in its staging directory, none moved into place),
``eval:report-old-moved-aside`` (between the two renames that swap a report folder),
``rejects:new-marked`` and ``rejects:old-moved-aside`` (a run's rejected rows moved into place after its output;
``service/rejects_files.py``).

Temporary and set-aside files carry the writer's process id (``.model.tmp-<pid>-*``, ``.model.old-<pid>``,
``insight-snapshot-pid<pid>-*``), so a later run removes only those whose writer is gone, never a concurrent run's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from pathlib import Path

FAULT_ENV = "INSIGHT_FAULT_POINT"
# .NAME.tmp-<pid>-xyz / .NAME.old-<pid> / .NAME.new-<pid> / insight-snapshot-pid<pid>-... /
# v-<utc>-<pid>-xyz (index versions, and their temp dirs)
_PID = re.compile(r"\.(?:tmp|old|new)-(\d+)|^insight-snapshot-pid(\d+)-|^\.?v-\d{8}T\d{6}-(\d+)-")


def fault_point(name: str) -> None:
    """SIGKILL this process when $INSIGHT_FAULT_POINT is ``name`` (testing only; nothing happens otherwise)."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and one rename, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def writer_pid(name: str) -> int | None:
    """The process id embedded in a temp/aside name, if any."""
    m = _PID.search(name)
    return int(next(g for g in m.groups() if g)) if m else None


def orphaned(path: Path) -> bool:
    """True when ``path`` names a writer process that no longer runs."""
    pid = writer_pid(path.name)
    return pid is not None and not pid_alive(pid)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
