"""User mistakes as the `insight` commands report them: one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

from functools import wraps

import typer
from rich.markup import escape

from service.cli.output import err


class CustomerNotFound(LookupError):
    pass


def user_errors(fn):
    """User mistakes (bad data, missing bundle or store, unknown customer) end with a message and exit code 2, no
    traceback."""
    from embeddings.encoder import EncoderError
    from service.bundle import BundleError
    from service.store import StoreError
    from service.tables import DataError

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DataError, BundleError, StoreError, EncoderError, ValueError) as exc:
            # soft_wrap: one line, however long (rich would break it at 80 columns when stderr is not a terminal).
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except CustomerNotFound as exc:
            err.print(f"[bold red]error:[/bold red] customer {exc.args[0]!r} is not in the store", highlight=False)
            raise typer.Exit(2) from None

    return wrapper
