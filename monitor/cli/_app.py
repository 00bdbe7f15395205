"""The typer application every subcommand module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="monitor",
    help="News monitor for RFE/RL (Pangea) and Deutsche Welle: discover, fetch, archive, alert.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts show [brackets] and example queries literally: no rich markup in them.
    rich_markup_mode=None,
)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    typer.echo(f"monitor: error: {message}", err=True)
    return typer.Exit(code)


@app.callback()
def _root() -> None:
    """News monitor for RFE/RL (Pangea) and Deutsche Welle: discover, fetch, archive, alert."""
