"""The package installed from its source, outside the checkout: ``pip install '.[demo]'`` into a fresh virtualenv,
then ``monitor demo`` in an empty folder. The default configuration and the demo's pages must come from the
installed package (setup.py copies them in), not from a checkout beside it.

Slow (it installs every dependency, a minute or two with pip's cache) and needs PyPI: skipped when it is not
reachable."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
#: What a source distribution holds (MANIFEST.in): the package, its build files, the config and the demo's pages.
SOURCE = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "monitor", "config",
          "tests/fixtures/seeds", "tests/fixtures/pages", "tests/fixtures/demo"]


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _env() -> dict[str, str]:
    """The caller's environment without anything that would make the installed package import this checkout."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MONITOR_") and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def test_pip_install_then_monitor_demo_in_an_empty_folder(tmp_path: Path) -> None:
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable: cannot install the dependencies")
    source = tmp_path / "source"
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / name, source / name)
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    bin_dir = environment / ("Scripts" if sys.platform == "win32" else "bin")
    installed = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", f"{source}[demo]"],
                               cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    shutil.rmtree(source)  # whatever the package needs, it carries

    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run([str(bin_dir / "python"), "-c", "import monitor.settings as s; print(s.DEFAULT_CONFIG)"],
                           cwd=empty, env=_env(), capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(environment), where.stdout
    demo = subprocess.run([str(bin_dir / "monitor"), "demo"], cwd=empty, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "archived (" in demo.stdout and "alerts delivered (" in demo.stdout, demo.stdout
    assert "cycle 2: 0 new, 0 revised (nothing new)" in demo.stdout, demo.stdout
    assert list(empty.iterdir()) == []  # the temporary directory is gone; nothing written where it ran
