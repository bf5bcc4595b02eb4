"""`insight` command line: a thin shell over service.pipeline (the same layer the HTTP API calls).

This module assembles the command tree (``app``, the entry point in pyproject.toml); each command lives in the module
of its group: batch (data synth, train, score), questions (explain), walkthrough (demo), serving (serve) and
evaluation (eval, eval-explanations). Help formatting, output consoles, user-error handling and shared option helpers
are in help_format, output, errors and options.
"""

from __future__ import annotations

import sys

import typer

from service.cli.batch import data_synth, score, train
from service.cli.evaluation import eval_cmd, eval_explanations
from service.cli.help_format import GROUP_HELP, Command
from service.cli.questions import explain
from service.cli.serving import serve
from service.cli.walkthrough import demo

app = typer.Typer(
    help="customer-insight: predict customer value and churn from behaviour and text, explain every tier.",
    add_completion=False,
    pretty_exceptions_enable=False,
    **GROUP_HELP,
)
data_app = typer.Typer(help="Data utilities.", **GROUP_HELP)
app.add_typer(data_app, name="data")


def package_version() -> str:
    """The installed distribution's version (pyproject.toml), else the source tree's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("customer-insight")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that is not installed
        from service import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"insight (customer-insight) {package_version()}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    # .env's settings into the environment before any command reads one (bounds, playbook, folders, backend), and for
    # the server's worker processes, which inherit it
    from service.cli.errors import user_errors
    from service.config import load_env_file

    user_errors(load_env_file)()


# The commands, in the order `insight --help` lists them (the data group comes after them).
data_app.command("synth", cls=Command)(data_synth)
app.command(cls=Command)(train)
app.command(cls=Command)(score)
app.command(cls=Command)(explain)
app.command("eval-explanations", cls=Command)(eval_explanations)
app.command(cls=Command)(demo)
app.command(cls=Command)(serve)
app.command("eval", cls=Command)(eval_cmd)


def main() -> None:  # pragma: no cover - console entry point
    app()
