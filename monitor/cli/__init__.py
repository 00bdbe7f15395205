"""The ``monitor`` command. Each subcommand module runs one stage of the pipeline (see DESIGN.md) and registers
itself on the shared typer app when imported here."""

from __future__ import annotations

from monitor import __version__
from monitor.cli import (
    backfill,  # noqa: F401  (registers its commands)
    daemon,  # noqa: F401  (registers its commands)
    demo,  # noqa: F401  (registers its commands)
    discover,  # noqa: F401  (registers its commands)
    index,  # noqa: F401  (registers its commands)
    parse,  # noqa: F401  (registers its commands)
    rules,  # noqa: F401  (registers its commands)
    store,  # noqa: F401  (registers its commands)
    web,  # noqa: F401  (registers its commands)
)
from monitor.cli._app import app, error_lines
from monitor.errors import MonitorError


def main() -> None:
    """Console-script entry point: any MonitorError that escapes a command becomes one line per problem, exit 2."""
    import sys

    import typer

    # Not a typer option: typer builds a pydantic adapter for each option of the root on every call of any command.
    if sys.argv[1:] == ["--version"]:
        typer.echo(f"monitor {__version__}")
        return
    try:
        app()
    except MonitorError as exc:
        typer.echo(error_lines(str(exc)), err=True)
        raise SystemExit(2) from None


__all__ = ["app", "main"]
