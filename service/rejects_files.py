"""A run's rejected rows on disk, kept in step with the output they belong to.

``insight train`` and ``insight score`` write the rows validation rejected to ``<out>.rejects/`` (a folder beside the
bundle or the SQLite store). That folder must describe the bundle or store in place: a run that fails, or is killed,
after reading its input must not replace the previous run's rejects, nor mix its files with them. So the files are
written to a staging folder first and moved into place only after the run's output is committed:

1. ``.rejects.tmp-<pid>-*`` is written while the run works (a failed run moves it to ``<out>.rejects.failed/``, so
   its rows stay readable beside the good run's);
2. once the output is committed it is renamed ``.rejects.new-<pid>``: from here on it is the current rejects;
3. the old folder is moved aside (``.rejects.old-<pid>``), the new one renamed into place, the old one removed.

A later run (``recover_rejects``) finishes what a killed one left: an orphaned ``.new`` folder replaces the current
one, an orphaned ``.old`` or ``.tmp`` folder is removed. The one window left is the instant between the output's
commit and the first rename: a kill exactly there keeps the previous rejects beside the new output.
A run that rejects nothing removes the previous rejects when it commits; a run that commits also removes the
``.failed`` folder of an earlier failed run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from service.crash import fault_point, leftovers, orphaned, recover_swap, remove, swap_dir
from service.table_values import rejects_for_people
from service.tables import LoadedData

FAILED_SUFFIX = ".failed"


def write_rejects(rejects: dict, out_dir: str | Path, suffix: str = ".rejects.csv") -> dict[str, Path]:
    """Write every non-empty rejects table as ``<table><suffix>`` (``.rejects.csv.gz`` compresses), as a person may
    open it (``table_values.rejects_for_people``); returns the paths written."""
    out = Path(out_dir)
    written = {}
    for name, rej in rejects.items():
        if len(rej):
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"{name}{suffix}"
            rejects_for_people(rej).to_csv(path, index=False, errors="backslashreplace")
            written[name] = path
    return written


class RejectsNotWritable(ValueError):
    """The folder beside the output cannot take the rejects (a user mistake: one line, exit code 2 in the CLI)."""


def check_ours(folder: Path) -> None:
    """RejectsNotWritable unless ``folder`` is absent or holds only rejects files (``<table>.rejects.csv``): the
    rejects folders of a run are replaced and removed, and a folder of someone's files at that name (their notes, or
    the very input tables the run read) had been deleted."""
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir() or folder.is_symlink():
        raise RejectsNotWritable(
            f"{folder}: is not a rejects folder this tool wrote; move it or choose another output for this run"
        )
    foreign = sorted(p.name for p in folder.iterdir() if not (p.is_file() and p.name.endswith(".rejects.csv")))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise RejectsNotWritable(
            f"{folder}: holds files this tool did not write ({shown}), and a run replaces that folder with its "
            "rejected rows; move them or choose another output for this run"
        )


def recover_rejects(final: Path) -> None:
    """Finish or undo what a killed run left beside ``final`` (only folders whose writer process is gone): a folder
    marked new is the current rejects and goes into place; temp and set-aside folders are removed (a set-aside folder
    is never put back: the run that set it aside had committed newer rejects)."""
    try:
        for new in sorted(leftovers(final, "new")):
            if orphaned(new):
                _install(new, final)
    except OSError:
        pass  # a folder it cannot change (read-only parent) is left as it is
    recover_swap(final, restorable=None)
    recover_swap(final.with_name(final.name + FAILED_SUFFIX))


def _install(new: Path, final: Path) -> None:
    """Replace ``final`` by ``new``; an empty ``new`` means this run rejected nothing, so no folder is left."""
    if any(new.iterdir()):
        swap_dir(new, final, fault="rejects")
        return
    aside = final.with_name(f".{final.name}.old-{os.getpid()}")
    if os.path.lexists(final):  # set aside first: a kill while removing it must not leave half a folder in place
        remove(aside)
        os.replace(final, aside)
    remove(new)
    remove(aside)


class StagedRejects:
    """The rejects of one run: ``stage`` writes them, ``commit`` (after the output is in place) or ``fail`` ends them.

    Usable as a context manager around the run: an exception calls ``fail`` and adds a note naming the folder.
    """

    def __init__(self, final: Path):
        self.final = Path(final)
        self.staged: Path | None = None

    def stage(self, loaded: LoadedData) -> None:
        for folder in (self.final, self.final.with_name(self.final.name + FAILED_SUFFIX)):
            check_ours(folder)
        recover_rejects(self.final)
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.staged = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.tmp-{os.getpid()}-", dir=self.final.parent))
        except OSError as exc:
            raise RejectsNotWritable(
                f"{self.final}: cannot write the rejected rows there ({exc.strerror or exc}); choose another output "
                "folder"
            ) from None
        write_rejects(loaded.rejects, self.staged)

    def commit(self) -> None:
        """This run's output is in place: its rejects become the current ones."""
        if self.staged is None:
            return
        new = self.final.with_name(f".{self.final.name}.new-{os.getpid()}")
        remove(new)
        os.replace(self.staged, new)
        self.staged = None
        fault_point("rejects:new-marked")
        _install(new, self.final)
        remove(self.final.with_name(self.final.name + FAILED_SUFFIX))  # an earlier failed run's: no longer the news

    def fail(self) -> Path | None:
        """The run failed: its rejects go to ``<out>.rejects.failed/`` (replacing an earlier failed run's), the
        current ones stay. Returns that folder, or None when this run rejected nothing."""
        if self.staged is None:
            return None
        staged, self.staged = self.staged, None
        if not any(staged.iterdir()):
            remove(staged)
            return None
        failed = self.final.with_name(self.final.name + FAILED_SUFFIX)
        swap_dir(staged, failed, fault="rejects-failed")
        return failed

    def __enter__(self) -> StagedRejects:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            return
        try:
            failed = self.fail()
        except OSError:
            return
        if failed is not None and isinstance(exc, Exception):
            exc.add_note(
                f"the rows this run rejected are in {failed}/; {self.final}/ still holds those of the last "
                "run that finished"
            )
