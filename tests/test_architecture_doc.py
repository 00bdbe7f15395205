"""docs/ARCHITECTURE.md's one-line-per-module table names every module and package of monitor/ (a newcomer's map
with a hole in it sends them reading code to find what a file is for)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "monitor"


def test_every_top_level_module_and_package_has_its_line() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = doc[doc.index("## The modules, one line each"):doc.index("## Where to add")]
    named = set(re.findall(r"`([\w/.]+)`", "\n".join(line.split("|")[1] for line in table.splitlines()
                                                     if line.startswith("| `"))))
    modules = {p.name for p in PACKAGE.glob("*.py")} | {f"{p.name}/" for p in PACKAGE.iterdir()
                                                         if (p / "__init__.py").exists()}
    assert sorted(modules - named) == []
