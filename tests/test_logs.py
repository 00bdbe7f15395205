"""Logging setup: lines go to the stderr of the moment, JSON lines carry the structured fields."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from monitor.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_swapped_and_closed_stderr_is_not_kept(capsys: pytest.CaptureFixture[str]) -> None:
    real, swapped = sys.stderr, io.StringIO()
    sys.stderr = swapped
    try:
        configure_logging()
    finally:
        sys.stderr = real
    swapped.close()  # what a test runner does with the stderr it lent a command
    logging.getLogger("monitor.test").warning("still heard")
    assert "still heard" in capsys.readouterr().err


def test_configuring_twice_leaves_one_handler_and_keeps_foreign_ones() -> None:
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    configure_logging()
    configure_logging("json")
    mine = [h for h in logging.getLogger().handlers if h is not foreign and type(h).__module__ == "monitor.logs"]
    assert len(mine) == 1 and foreign in logging.getLogger().handlers


def test_json_lines_carry_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    logging.getLogger("monitor.daemon").info("source=x new=2", extra={"source": "x", "new": 2})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "source=x new=2" and line["source"] == "x" and line["new"] == 2
    assert line["level"] == "info" and line["logger"] == "monitor.daemon"
