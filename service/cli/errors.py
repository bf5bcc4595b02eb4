"""User mistakes as the `insight` commands report them: one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import re
from functools import wraps
from pathlib import Path
from typing import NoReturn

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from rich.markup import escape

from service.cli.output import err


class CustomerNotFound(LookupError):
    pass


# fields whose value may be or hold a credential (API keys, a database URL with its password): never echoed
_SECRET = re.compile(r"(^|_)keys?($|_)|secret|passw|(^|_)token($|_)|url|dsn|store", re.I)


def settings_message(exc: ValidationError) -> str:
    """One line per bad value, named as it is set: the environment variable of a settings class ("INSIGHT_LLM_MAX_TOKENS
    = 'abc': Input should be a valid integer ..."), else the field."""
    prefix = next(
        (
            str(cls.model_config.get("env_prefix") or "")
            for cls in _settings_classes(BaseSettings)
            if cls.__name__ == exc.title
        ),
        None,
    )
    parts = []
    for e in exc.errors():
        field = ".".join(str(x) for x in e["loc"])
        name = (prefix + field).upper() if prefix is not None else field
        shown = prefix is not None and isinstance(e.get("input"), (str, int, float)) and not _SECRET.search(field)
        given = f" = {e['input']!r}" if shown else ""  # never echo a key, a password or a URL that may hold one
        parts.append(f"{name}{given}: {e['msg']}")
    return "; ".join(parts)


def _settings_classes(base: type[BaseSettings]) -> list[type[BaseSettings]]:
    out: list[type[BaseSettings]] = []
    todo = list(base.__subclasses__())
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return out


def env_file_message(exc: Exception) -> str | None:
    """Settings are read from ``.env`` in the current folder too: a file there that is not UTF-8 fails inside
    pydantic-settings with a bare codec error; name the file instead."""
    env = Path(".env")
    if not isinstance(exc, UnicodeDecodeError) or not env.is_file():
        return None
    try:
        env.read_text(encoding="utf-8")
    except UnicodeDecodeError as bad:
        return f"{env.resolve()}: the settings file is not UTF-8 ({bad.reason} at byte {bad.start}); save it as UTF-8"
    return None


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
        except ValidationError as exc:  # settings from the environment: name the variable, not the pydantic model
            err.print(f"[bold red]error:[/bold red] {escape(settings_message(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except (DataError, BundleError, StoreError, EncoderError, ValueError) as exc:
            # soft_wrap: one line, however long (rich would break it at 80 columns when stderr is not a terminal).
            msg = env_file_message(exc) or str(exc).split("\nStack trace:")[0].strip()  # XGBoost appends its C++ stack
            _say(msg, exc)
        except CustomerNotFound as exc:
            cid = str(exc.args[0])
            shown = repr(cid) if len(cid) <= 80 else repr(cid[:80]) + f"... ({len(cid):,} characters)"
            err.print(
                f"[bold red]error:[/bold red] customer {escape(shown)} is not in the store",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None
        except OSError as exc:  # the machine's side: a full disk, no permission, a file in place of a folder
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            _say(f"{exc.strerror or exc}{where}", exc)

    return wrapper


def _say(msg: str, exc: BaseException) -> NoReturn:
    """The error line, then the exception's notes (e.g. where a failed run's rejected rows went); exit code 2."""
    err.print(f"[bold red]error:[/bold red] {escape(msg)}", highlight=False, soft_wrap=True)
    for note in getattr(exc, "__notes__", ()):
        err.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None
