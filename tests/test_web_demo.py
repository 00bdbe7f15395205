"""``monitor demo --web``: the demo builds its archive, starts ``monitor web`` on it, prints the address and keeps
serving until Ctrl-C; without --web it prints the address the page answered on while the demo ran."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from monitor.demo.runner import serve_web

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_demo_web_serves_its_archive_until_ctrl_c(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONPATH"] = str(ROOT)
    demo = subprocess.Popen([sys.executable, "-m", "monitor", "demo", "--dir", str(directory), "--web"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:  # waits for each line the demo prints
            seen.append(line)
            if line.startswith("web page: "):
                break
        found = re.match(r"web page: (http://127\.0\.0\.1:\d+/) \(the archive of this demo; Ctrl-C stops\)",
                         seen[-1])
        assert found, "".join(seen)
        answer = httpx.get(found.group(1) + "api/search", params={"q": "Lavrov"}, timeout=30, trust_env=False)
        assert answer.status_code == 200
        assert any("Lavrov" in r["headline"] for r in answer.json()["results"])
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()

    lines: list[str] = []
    url = serve_web(directory, keep=False, echo=lines.append, port=0)
    assert lines == [f"web page: {url} served this archive while the demo ran (search page: HTTP 200); "
                     "`monitor demo --dir DIR --web` keeps it open, `monitor web` serves yours"]
