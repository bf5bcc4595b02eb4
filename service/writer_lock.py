"""One writer at a time per output: two `insight train` runs into one bundle folder, or two `insight score` runs into
one SQLite store, had both reported success while the last one's output silently replaced the other's.

The lock is ``flock`` on ``.NAME.lock`` beside the output: the kernel drops it when its holder dies, even by SIGKILL, so
a killed run never blocks the next one. A second writer fails at once (before any work) and names the holder's pid.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class WriterBusy(ValueError):
    """Another process is writing the same output now."""


@contextlib.contextmanager
def one_writer(output: str | Path, what: str, shown: str | None = None) -> Iterator[None]:
    """Hold the write lock of ``output`` (a bundle folder, a store's local index folder) for the block; WriterBusy when
    another process holds it. ``what`` names the command in the message (e.g. "`insight train`"), ``shown`` the output
    (default: its path)."""
    output = Path(output).absolute()
    lock = output.with_name(f".{output.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise WriterBusy(
                f"{shown or output}: another {what} (pid {holder}) is writing it now; wait for it to finish, or "
                "write elsewhere"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # The holder before us may have removed the file after we opened it: our lock would then be on a file nobody
        # else can find. Lock the one at the path.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)  # while still holding it: a waiter that opened it re-checks the path above
        os.close(fd)
