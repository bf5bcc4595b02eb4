"""How every `insight` command prints its help: click's plain formatter, wrapped to the terminal and never cut."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from typer.core import TyperCommand, TyperGroup


def _help_width() -> int:
    """Help wraps to the terminal (COLUMNS), at most 80 columns; click's own floor of 50 would overflow a narrow one."""
    return max(20, min(shutil.get_terminal_size((80, 24)).columns, 80) - 2)


# Typer ships its own copy of click: subclass its classes (TyperCommand.context_class), not the click package's.
# mypy cannot use a class read from an attribute as a base; it is told which classes these are (typer 0.2x's private
# typer._click, the very same objects at run time).
if TYPE_CHECKING:
    from typer._click.core import Context as _ClickContext
    from typer._click.formatting import HelpFormatter as _ClickHelpFormatter
else:
    _ClickContext = TyperCommand.context_class
    _ClickHelpFormatter = _ClickContext.formatter_class


class _HelpFormatter(_ClickHelpFormatter):
    """Option and command lists whose name column shrinks in a narrow terminal, so their help keeps room to wrap."""

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl(rows, col_max=min(col_max, max(8, self.width // 3)), col_spacing=col_spacing)


class _Context(_ClickContext):
    formatter_class = _HelpFormatter

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.terminal_width is None:  # read when the command runs (COLUMNS, the terminal), inherited by subcommands
            self.terminal_width = _help_width()


class Command(TyperCommand):
    """The class of every `insight` command (``cls=Command``): help formatted as above."""

    context_class = _Context


class Group(TyperGroup):
    """Lists each command with its whole first sentence, wrapped (click cuts it to fit one line and appends '...')."""

    context_class = _Context

    def format_commands(self, ctx, formatter) -> None:
        rows = [
            (name, cmd.get_short_help_str(limit=10_000))
            for name in self.list_commands(ctx)
            if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# Help as click formats it (rich_markup_mode=None): words wrap to the terminal and nothing is cut. Rich's option panels
# truncated long values with "…" ("VIP=0.05,High=0.15,Medium=0…") at 80 columns and most of each line in a narrow one.
GROUP_HELP: dict[str, Any] = dict(no_args_is_help=True, rich_markup_mode=None, cls=Group)
