"""The command line as a shell user meets it: help texts shown as written, output into a pipe that closes early."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seeds" / "000_6f1a1f6774c517d9.txt"


def test_help_shows_bracketed_words() -> None:
    result = CliRunner().invoke(app, ["rules", "test", "--help"])
    assert result.exit_code == 0
    assert "[brackets]" in " ".join(result.output.split())


@pytest.mark.slow  # spawns processes
def test_output_into_a_closed_pipe_ends_quietly() -> None:
    # `monitor rules test ... | head`: the reader goes away; no error message about the archive may follow.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "monitor", "rules", "test", "Lavrov", "--path",
                                 str(SEED.parent)], stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                timeout=120)
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 1  # click's answer to a closed pipe: quiet, not a success
