"""Running ``monitor ingest`` as a separate process against a LocalSite snapshot (crash and race tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ingest_env(tmp: Path, archive_root: Path, host_map: dict[str, str],
               database_url: str | None = None) -> dict[str, str]:
    config = tmp / "monitor.toml"
    config.write_text("# empty: everything comes from the environment\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update({
        "MONITOR_CONFIG": str(config),
        "MONITOR_STORAGE__ARCHIVE_ROOT": str(archive_root),
        "MONITOR_HTTP__HOST_MAP": json.dumps(host_map),
        "MONITOR_HTTP__MIN_DELAY": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    })
    if database_url:
        env["MONITOR_STORAGE__URL"] = database_url
    return env


def monitor_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def start_ingest(env: dict[str, str], url_file: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(monitor_command("ingest", "--file", str(url_file)), env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
