"""Run the monitor's command line in a process that kills itself (SIGKILL, no clean-up) after its ``N``-th database
event (a statement executed or a commit), N from ``DIE_AFTER_DATABASE_EVENTS``: a crash at an exact point of the
first schema creation, driven by events rather than timing. Without the variable it only counts and prints them."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

VARIABLE = "DIE_AFTER_DATABASE_EVENTS"


def install(die_after: int | None) -> tuple[list[int], Callable[[], None]]:
    """Count statements and commits of every engine; SIGKILL this process at event ``die_after``. Returns the
    count (a one-item list) and what removes the hook."""
    seen = [0]

    def tick(*_args: Any, **_kwargs: Any) -> None:
        seen[0] += 1
        if die_after is not None and seen[0] >= die_after:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Engine, "after_cursor_execute", tick)
    event.listen(Engine, "commit", tick)

    def remove() -> None:
        event.remove(Engine, "after_cursor_execute", tick)
        event.remove(Engine, "commit", tick)

    return seen, remove


if __name__ == "__main__":
    from monitor.cli import app

    limit = os.environ.get(VARIABLE)
    counted, _ = install(int(limit) if limit else None)
    try:
        app(sys.argv[1:], standalone_mode=False)
    finally:
        print(f"database events: {counted[0]}", file=sys.stderr)
