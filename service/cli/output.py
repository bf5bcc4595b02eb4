"""Where the `insight` commands write: results to stdout (``out``), progress and counts to stderr (``err``), and the
spinner-per-stage reporter the application layer drives."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from service.pipeline import Reporter

out = Console()
err = Console(stderr=True)


def shown_path(path) -> str:
    """A path as the user would type it: relative to the current folder when it is inside it, else as given (a
    database URL is not a path and is shown as it is)."""
    text = str(path)
    if "://" in text:
        from service.store_location import safe_url

        return safe_url(text)  # never the password
    p = Path(text)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve())) if p.is_absolute() else text
    except ValueError:
        return text


class RichReporter(Reporter):
    """Spinner per stage with its time; a progress bar for long loops (embedding)."""

    def __init__(self, console: Console = err):
        self.console = console
        self._progress: Progress | None = None

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        ) as progress:
            # No live display into a file or pipe: it left an empty line per stage in logs.
            self._progress = progress
            progress.add_task(name, total=None)
            try:
                yield
            finally:
                self._progress = None
        self.console.print(f"[green]✓[/green] {name} [dim]({time.perf_counter() - t0:.1f}s)[/dim]", soft_wrap=True)

    def progress(self, name: str, total: int):
        if self._progress is None:
            return lambda n: None
        task = self._progress.add_task(f"  {name}", total=total)
        return lambda n: self._progress.advance(task, n) if self._progress else None
