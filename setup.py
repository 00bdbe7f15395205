"""Everything about the package is in pyproject.toml; this file only adds one build step.

An installed monitor (``pip install .``, a wheel) must run ``monitor demo`` and find its default configuration
without the source checkout. The files for that have one home in the repository, where they are edited and tested:
``config/monitor.toml`` and ``config/rules.toml``, and the fixture pages under ``tests/fixtures`` the demo's
snapshot is built from. The build copies them into the package as package data: ``monitor/data/config/`` and
``monitor/demo/data/`` (same layout as ``tests/fixtures``). At run time ``monitor.settings.DEFAULT_CONFIG`` and
``monitor.demo.snapshot.fixtures_dir`` take the checkout's files when there are any, else the package's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent

#: (folder in the checkout, glob, folder in the package)
SHIPPED = [
    ("config", "monitor.toml", "monitor/data/config"),
    ("config", "rules.toml", "monitor/data/config"),
    ("tests/fixtures/seeds", "*.source.html", "monitor/demo/data/seeds"),
    ("tests/fixtures/seeds", "*.url", "monitor/demo/data/seeds"),
    ("tests/fixtures/pages", "*/*.html", "monitor/demo/data/pages"),
    ("tests/fixtures/pages", "*/*.expect.json", "monitor/demo/data/pages"),
    ("tests/fixtures/demo", "*.toml", "monitor/demo/data/demo"),
]


class BuildWithShippedData(build_py):
    """build_py, then the configuration and the demo's pages into the build tree (see the module docstring)."""

    def run(self) -> None:
        super().run()
        for source, pattern, target in SHIPPED:
            for path in sorted((HERE / source).glob(pattern)):
                destination = Path(self.build_lib) / target / path.relative_to(HERE / source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)


setup(cmdclass={"build_py": BuildWithShippedData})
