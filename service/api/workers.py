"""More than one worker process for `insight serve` (``INSIGHT_API_WORKERS``), with reloads that reach every worker.

Each worker is a uvicorn worker process that builds its own app and loads its own snapshot (its own private copy of
the store, its own bundle and index): nothing is shared but the listening socket, so a worker is exactly the
single-process service. What must be shared is the decision to reload. The parent keeps a small folder (the
*reload channel*) holding a generation number; every worker watches it and, when it grows, reloads its own snapshot
(the same ``do_reload`` as before: a refused reload keeps that worker's old snapshot), then writes its status
(generation, model version, ok or the error) beside it.

- SIGHUP to the parent (what ``kill -HUP`` of the server does) raises the generation: every worker reloads.
- POST /v1/admin/reload (or SIGHUP to one worker) reloads the worker that got it first, and only when that worked
  raises the generation, then waits (bounded) until every other worker reports that generation, and answers with how
  many workers now serve the new model. A reload refused by the first worker is refused for all (409), as before.

- A profile written by POST /v1/score with ``write: true`` is served at once by the worker that wrote it; that worker
  then raises the generation without reloading itself, so every other worker reloads from the live store, which holds
  the write (each worker reads its own snapshot copy; a burst of writes costs them one reload each while it lasts).
  Until their reload finishes, a read on another worker still gets the profile as it was.

The channel lives in ``insight-snapshot-pid<parent pid>-workers-*`` under the snapshot folder, so a parent killed
with SIGKILL leaves nothing that the next start does not remove.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from service.crash import write_text_atomic

log = logging.getLogger("insight.api")

RUN_DIR_ENV = "INSIGHT_API_RUN_DIR"
PARENT_PID_ENV = "INSIGHT_API_PARENT_PID"
POLL_S = 0.2


class ReloadChannel:
    """The generation number and the workers' statuses, as small files written atomically (rename)."""

    def __init__(self, run_dir: Path | str):
        self.dir = Path(run_dir)
        self.generation_file = self.dir / "generation"

    @classmethod
    def create(cls, base: Path | None) -> ReloadChannel:
        from service.api.state import SNAPSHOT_PREFIX

        if base is not None:
            Path(base).mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=f"{SNAPSHOT_PREFIX}{os.getpid()}-workers-", dir=base))
        ch = cls(run_dir)
        ch._write(ch.generation_file, "0")
        return ch

    def _write(self, path: Path, text: str) -> None:
        write_text_atomic(path, text)

    def generation(self) -> int:
        try:
            return int(self.generation_file.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def stamp(self) -> int:
        """A cheap change marker of the generation file (its mtime in ns and size)."""
        try:
            st = self.generation_file.stat()
            return st.st_mtime_ns ^ st.st_ino
        except OSError:
            return 0

    def bump(self) -> int:
        """Raise the generation; returns the new one. Two bumps at once may give one number (one reload for both)."""
        gen = self.generation() + 1
        self._write(self.generation_file, str(gen))
        return gen

    def report(self, generation: int, ok: bool, model_version: str | None, error: str | None = None) -> None:
        self._write(
            self.dir / f"worker-{os.getpid()}.json",
            json.dumps(
                {"pid": os.getpid(), "generation": generation, "ok": ok, "model_version": model_version, "error": error}
            ),
        )

    def forget(self) -> None:
        try:
            (self.dir / f"worker-{os.getpid()}.json").unlink()
        except OSError:
            pass

    def statuses(self) -> list[dict]:
        """Statuses of the workers that are alive."""
        from service.crash import pid_alive

        out = []
        for p in self.dir.glob("worker-*.json"):
            try:
                st = json.loads(p.read_text())
            except (OSError, ValueError):
                continue
            if pid_alive(int(st.get("pid", -1))):
                out.append(st)
        return out

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def channel_from_env() -> ReloadChannel | None:
    run_dir = os.environ.get(RUN_DIR_ENV)
    return ReloadChannel(run_dir) if run_dir and Path(run_dir).is_dir() else None


# ----------------------------------------------------------------------------- inside a worker


class WorkerReloads:
    """A worker's side of the channel: follows the generation, reloads, reports; and starts reloads of its own."""

    def __init__(self, app, channel: ReloadChannel, workers: int, wait_s: float = 120.0):
        self.app = app
        self.channel = channel
        self.workers = workers
        self.wait_s = wait_s
        self.applied = channel.generation()
        self._stamp = channel.stamp()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    def _report(self, ok: bool, error: str | None = None) -> None:
        snap = self.app.state.insight.current()
        self.channel.report(self.applied, ok, snap.model_version if snap else None, error)

    def start(self) -> None:
        self._report(True)
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="insight-reload-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self.channel.forget()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            stamp = self.channel.stamp()
            if stamp == self._stamp:
                continue
            self._stamp = stamp
            gen = self.channel.generation()
            if gen <= self.applied:
                continue
            async with self._lock:
                if gen <= self.applied:
                    continue
                from service.api.reload import do_reload

                ok, result = await asyncio.to_thread(do_reload, self.app)
                self.applied = max(self.applied, gen)
                self._report(ok, None if ok else result.get("error"))

    async def announce_write(self) -> None:
        """A profile was written to the live store here (and is served here already): every other worker reloads."""
        async with self._lock:
            self.applied = self.channel.bump()
            self._stamp = self.channel.stamp()
            self._report(True)

    async def reload_all(self) -> tuple[bool, dict]:
        """Reload here; when that worked, make every other worker reload too and wait for them (bounded)."""
        from service.api.reload import do_reload

        async with self._lock:
            ok, result = await asyncio.to_thread(do_reload, self.app)
            if not ok:
                self._report(True)  # still serving the old snapshot, as every other worker
                return ok, result
            # On the event loop, with the watcher held off by the lock: it will not reload a second time for this bump.
            self.applied = self.channel.bump()
            self._stamp = self.channel.stamp()
            self._report(True)
            gen = self.applied
        deadline = time.monotonic() + self.wait_s
        while True:
            statuses = self.channel.statuses()
            done = [s for s in statuses if s.get("generation", 0) >= gen]
            if len(done) >= self.workers or time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_S / 2)
        serving = sum(1 for s in done if s.get("ok") and s.get("model_version") == result["model_version"])
        if serving < self.workers:
            refused = [s.get("error") for s in done if not s.get("ok")]
            log.warning(
                "reload reached %d of %d workers (%s)",
                serving,
                self.workers,
                "; ".join(e for e in refused if e) or "others did not answer in time",
            )
        return ok, {**result, "workers": serving, "workers_total": self.workers}


# ----------------------------------------------------------------------------- the parent


def run_workers(config, channel: ReloadChannel) -> None:
    """uvicorn's process supervisor, except that SIGHUP raises the reload generation instead of restarting workers
    (a restart would take a broken bundle down with it; a reload refuses it and keeps serving)."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    class Supervisor(Multiprocess):
        def handle_hup(self) -> None:
            gen = channel.bump()
            log.info("SIGHUP: every worker reloads (generation %d)", gen)

    os.environ[PARENT_PID_ENV] = str(os.getpid())  # inherited by the workers (exit_with_parent)
    sock = config.bind_socket()
    try:
        Supervisor(config, sockets=[sock]).run()
    finally:
        sock.close()
        channel.remove()


def ignore_sighup_until_ready() -> None:
    """A worker that gets SIGHUP before its loop handles it would die of it (the default action): ignore it
    meanwhile."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def exit_with_parent() -> None:
    """A worker stops (SIGTERM: a clean shutdown) when its parent dies. Why: a parent killed with SIGKILL cannot stop
    its workers, which had kept the port and served their old snapshot for ever, so the restart failed with "address
    already in use". Linux's parent-death signal; a parent already gone before it was set is caught by its pid."""
    parent = os.environ.get(PARENT_PID_ENV)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's own SIGTERM handling still stops the workers
        return
    if parent is not None and os.getppid() != int(parent):
        os.kill(os.getpid(), signal.SIGTERM)
