"""Crash safety: deterministic fault-injection points (for tests) and the clean-up of what a killed run leaves behind.

``fault_point(name)`` kills the process with SIGKILL when ``INSIGHT_FAULT_POINT`` names that point, so a test can stop
``insight score`` or ``insight train`` exactly between two renames or just before a commit, without timing games.
Points: ``train:bundle-written`` (new bundle complete in its temp dir), ``train:old-moved-aside`` (between the two
renames), ``train:new-in-place`` (before the old bundle is removed), ``score:index-written`` (new index version on disk,
store untouched), ``score:rows-written`` (inside the store transaction, before the commit: a hot journal),
``score:committed`` (after the commit, before old index versions are pruned), ``serve:snapshot-copied``,
``eval:report-staged`` (every report file written in its staging directory, none moved into place),
``eval:moving-in`` (the first file of a report moved into a folder that holds the analyst's files too),
``rejects:new-marked`` (a run's rejected rows ready to move into place after its output; ``service/rejects_files.py``),
and for every folder swapped whole by ``swap_dir``, ``<writer>:old-moved-aside`` (between its two renames) and
``<writer>:new-in-place`` (before the old folder is removed), writer ``train``, ``eval``, ``rejects`` or ``synth``.

Temporary and set-aside files carry the writer's process id (``.model.tmp-<pid>-*``, ``.model.old-<pid>``,
``insight-snapshot-pid<pid>-*``), so a later run removes only those whose writer is gone, never a concurrent run's.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
from collections.abc import Callable
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


def swap_dir(new: Path, final: Path, fault: str) -> None:
    """Put the complete folder ``new`` (beside ``final``) at ``final``, replacing whatever folder is there.

    A non-empty folder cannot be replaced in one rename, so the old one is set aside first as ``.NAME.old-<pid>``. A
    kill between the two renames leaves it there and ``recover_swap`` (run by the next writer, and by readers) puts it
    back; any other failure puts it back at once. A concurrent writer that puts its own folder in place between our two
    renames has it set aside too: the last complete folder wins, never a mix of two. ``fault`` names the writer in the
    fault points ``<fault>:old-moved-aside`` and ``<fault>:new-in-place``.
    """
    aside = final.with_name(f".{final.name}.old-{os.getpid()}")
    try:
        for attempt in range(3):
            if os.path.lexists(final):
                remove(aside)
                os.replace(final, aside)
                fault_point(f"{fault}:old-moved-aside")
            try:
                os.replace(new, final)
                break
            except OSError:
                if attempt == 2 or not os.path.lexists(final):
                    raise
    except BaseException:
        if not os.path.lexists(final) and os.path.lexists(aside):
            os.replace(aside, final)
        raise
    fault_point(f"{fault}:new-in-place")
    remove(aside)


def leftovers(final: Path, kind: str) -> list[Path]:
    """The ``.NAME.<kind>-*`` paths beside ``final`` (kind: tmp, old or new)."""
    return list(final.parent.glob(f".{glob.escape(final.name)}.{kind}-*"))


def recover_swap(final: Path, restorable: Callable[[Path], bool] | None = Path.is_dir) -> list[Path]:
    """Repair what a killed writer left beside ``final``: when ``final`` is missing, the newest folder a gone writer had
    set aside (and ``restorable`` accepts; None: never) is put back; then the temp, new and set-aside paths of writers
    that are gone are removed (a live writer's stay). Returns the paths restored or removed. Never raises for a folder
    it cannot change (read-only parent)."""
    touched: list[Path] = []
    try:
        if restorable is not None and not os.path.lexists(final):
            olds = [p for p in leftovers(final, "old") if orphaned(p) and restorable(p)]
            for old in sorted(olds, key=lambda p: p.stat().st_mtime, reverse=True)[:1]:
                os.replace(old, final)
                touched.append(old)
        for p in leftovers(final, "tmp") + leftovers(final, "old") + leftovers(final, "new"):
            # a name without a process id is from a writer of an earlier version, long gone
            if orphaned(p) or (writer_pid(p.name) is None and p.is_dir()):
                remove(p)
                touched.append(p)
    except OSError:
        pass
    return touched
