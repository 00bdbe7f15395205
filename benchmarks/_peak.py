"""Run the monitor's command line and write this process's peak resident memory (VmHWM, in kB) to the file named
by ``PEAK_FILE`` when it ends. Measured here, not with the parent's ``wait4``: a child's ru_maxrss starts from its
parent's at fork, so a benchmark that built a large archive in memory would see its own size in every child."""

from __future__ import annotations

import atexit
import os
from pathlib import Path


def _write_peak() -> None:
    target = os.environ.get("PEAK_FILE")
    if not target:
        return
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            Path(target).write_text(line.split()[1], encoding="ascii")


if __name__ == "__main__":
    atexit.register(_write_peak)
    from monitor.cli import main

    main()
