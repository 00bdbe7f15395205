"""Start-up time of the light commands against a bare interpreter: ``python -m benchmarks.startup [--runs N]``.

Each command runs N times in a fresh process (median and max wall time printed beside the floor, ``python -c pass``);
the goal is within 0.3 s of the floor for ``monitor --help``, ``monitor health`` and ``monitor parse``. It also times
the first near-duplicate signature of a process (which used to wait for datasketch and scipy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "tests" / "fixtures" / "pages" / "dw" / "dw_de_newgen_2024-01-30_nadeschdin_a-68117411.html"
GOAL = 0.3
FIRST_SIGNATURE = ("from monitor.dedupe import signature; "
                   "signature(' '.join(f'word{i}' for i in range(200)), 0.8)")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(command: list[str], env: dict[str, str], cwd: Path, runs: int,
          expect: set[int]) -> tuple[float, float, float]:
    """Median and max wall time, and median CPU time (user + system: what a busy machine inflates least)."""
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), _cpu()
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        cpu.append(_cpu() - start_cpu)
        if result.returncode not in expect:
            raise SystemExit(f"{' '.join(command)}: exit {result.returncode}: {result.stderr.decode()[-300:]}")
    return statistics.median(times), max(times), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    url = json.loads(PAGE.with_name(PAGE.name.replace(".html", ".expect.json")).read_text(encoding="utf-8"))["url"]
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="monitor-startup-") as temporary:
        tmp = Path(temporary)
        config = tmp / "monitor.toml"
        config.write_text(f'[storage]\narchive_root = "{tmp / "archive"}"\n\n[[sources]]\nname = "rferl"\n'
                          'site = "www.rferl.org"\n', encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | {
            "MONITOR_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
        subprocess.run([python, "-m", "monitor", "db", "upgrade"], env=env, cwd=tmp, check=True, capture_output=True)
        commands: list[tuple[str, list[str], set[int], bool]] = [
            ("python -c pass (floor)", [python, "-c", "pass"], {0}, False),
            ("monitor --help", [python, "-m", "monitor", "--help"], {0}, True),
            ("monitor --version", [python, "-m", "monitor", "--version"], {0}, False),
            ("monitor health", [python, "-m", "monitor", "health"], {1}, True),  # 1: no daemon runs
            ("monitor parse PAGE --url URL", [python, "-m", "monitor", "parse", str(PAGE), "--url", url], {0}, True),
            ("first signature of a process", [python, "-c", FIRST_SIGNATURE], {0}, False),
        ]
        floor = floor_cpu = 0.0
        print(f"{'command':<32} {'median':>8} {'max':>8} {'over floor':>11} {'cpu':>8} {'cpu over':>9}"
              f"   ({args.runs} runs each; os.getloadavg() {os.getloadavg()[0]:.1f})")
        for label, command, expect, goal in commands:
            median, worst, cpu = _time(command, env, tmp, args.runs, expect)
            floor, floor_cpu = floor or median, floor_cpu or cpu
            over = median - floor
            verdict = ("ok" if over <= GOAL else f"over the {GOAL} s goal") if goal else ""
            print(f"{label:<32} {median:>7.3f}s {worst:>7.3f}s {over:>+10.3f}s {cpu:>7.3f}s {cpu - floor_cpu:>+8.3f}s"
                  f"   {verdict}")


if __name__ == "__main__":
    main()
