"""``monitor demo``: the real command in a child process, from a directory that is not the repository, with no
MONITOR_* variable of ours: the seeds come back byte for byte, the Lavrov/Ukraine alert reaches the Slack and SMTP
sinks once per story, the second cycle finds nothing new, and a second run into the same directory repeats nothing."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import monitor
from monitor.cli import app
from monitor.demo.snapshot import fixtures_dir
from monitor.errors import ConfigError
from monitor.settings import DEFAULT_CONFIG, load_settings

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
RULE = "lavrov-ukraine"
RUSSIAN = "https://www.svoboda.org/a/lavrov-zayavil-o-budushchem-ukrainy/33423700.html"


def _demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", "demo", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def _seed_urls() -> list[str]:
    return [p.read_text(encoding="utf-8").strip() for p in sorted(SEEDS.glob("*.url"))]


def _slack_lines(directory: Path) -> list[str]:
    return [json.dumps(json.loads(line), ensure_ascii=False)
            for line in (directory / "slack.jsonl").read_text(encoding="utf-8").splitlines()]


def _mails(directory: Path) -> list[tuple[str, str]]:
    """(subject, plain-text body) of every .eml the SMTP sink saved."""
    found = []
    for path in sorted((directory / "mail").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        assert body is not None, path
        found.append((str(message["Subject"]), body.get_content()))
    return found


def test_demo_archives_the_seeds_alerts_once_and_repeats_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()

    first = _demo("--dir", str(directory), cwd=elsewhere)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "problem:" not in first.stderr

    # The two seed texts, rebuilt from the seed pages by the daemon, byte for byte (names may differ).
    archived = {p.read_bytes(): p for p in (directory / "archive").rglob("*.txt")}
    seeds = sorted(SEEDS.glob("*.txt"))
    assert len(seeds) == 2
    for seed in seeds:
        assert seed.read_bytes() in archived, f"{seed.name} not reproduced in {directory / 'archive'}"

    # The Lavrov/Ukraine alert of each seed story: once on Slack, once by email.
    slack, mails = _slack_lines(directory), _mails(directory)
    for url in _seed_urls():
        on_slack = [line for line in slack if url in line]
        assert len(on_slack) == 1, (url, slack)
        assert f"rule *{RULE}*" in on_slack[0]
        by_mail = [subject for subject, body in mails if url in body]
        assert len(by_mail) == 1, (url, mails)
        assert f"[monitor] {RULE}:" in by_mail[0]

    # The Russian-language article about Lavrov and Ukraine (synthesised on svoboda.org from a real Pangea
    # template, tests/fixtures/demo/pages.toml): once on Slack, once by email.
    assert len([line for line in slack if RUSSIAN in line]) == 1, slack
    assert len([subject for subject, body in mails if RUSSIAN in body]) == 1, mails

    # Cycle 1 archived the pages; cycle 2 found nothing new: every feed and sitemap answered 304.
    settings = load_settings(DEFAULT_CONFIG)
    documents = sum(len(s.feeds) + len(s.sitemaps) for s in settings.sources)
    cycle1 = re.search(r"^cycle 1: (\d+) new, 0 revised", first.stdout, re.M)
    assert cycle1 and int(cycle1.group(1)) >= len(settings.sources), first.stdout  # a page or more per source
    assert re.search(rf"^cycle 2: 0 new, 0 revised \(nothing new\), 0 alerts queued, {documents} feeds and "
                     r"sitemaps unchanged \(304\)$", first.stdout, re.M), first.stdout
    assert f"{RULE}   Tillerson, Lavrov End Vienna Talks" in first.stdout

    # The summary says how to point the other commands at this archive and database; doing so finds them.
    command = re.search(r"^  (MONITOR_STORAGE__ARCHIVE_ROOT=\S+ MONITOR_STORAGE__URL=\S+) monitor status$",
                        first.stdout, re.M)
    assert command, first.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env |= dict(word.split("=", 1) for word in shlex.split(command.group(1)))
    exported = subprocess.run([sys.executable, "-m", "monitor", "export"], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == int(cycle1.group(1))

    # Again into the same directory: everything is known, nothing is archived or sent twice.
    slack_before = (directory / "slack.jsonl").read_bytes()
    mail_before = sorted(p.name for p in (directory / "mail").iterdir())
    texts_before = sorted((directory / "archive").rglob("*.txt"))
    second = _demo("--dir", str(directory), cwd=elsewhere)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "archived: nothing new" in second.stdout
    assert "alerts delivered: none by this run" in second.stdout
    assert re.search(r"^cycle 1: 0 new, 0 revised \(nothing new\), 0 alerts queued", second.stdout, re.M)
    assert (directory / "slack.jsonl").read_bytes() == slack_before
    assert sorted(p.name for p in (directory / "mail").iterdir()) == mail_before
    assert sorted((directory / "archive").rglob("*.txt")) == texts_before


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path)])
    finally:  # the command configures logging for its process: give pytest's back
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"monitor: error: {tmp_path.resolve()}: not empty and not made by "
                                     "`monitor demo`; give a new or empty directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_demo_without_its_pages_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitor, "__file__", str(tmp_path / "site-packages" / "monitor" / "__init__.py"))
    with pytest.raises(ConfigError, match=r"the demo's pages are missing .*site-packages/monitor/demo/data\)"):
        fixtures_dir()


def test_an_installed_package_finds_the_demo_pages_it_carries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "site-packages" / "monitor" / "demo" / "data" / "seeds").mkdir(parents=True)
    monkeypatch.setattr(monitor, "__file__", str(tmp_path / "site-packages" / "monitor" / "__init__.py"))
    assert fixtures_dir() == tmp_path / "site-packages" / "monitor" / "demo" / "data"


def test_the_demo_without_aiosmtpd_names_the_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.demo.sinks import SmtpSink

    monkeypatch.setitem(sys.modules, "aiosmtpd.controller", None)  # what an install without the demo extra sees
    with pytest.raises(ConfigError, match=r"needs aiosmtpd .*pip install 'monitor\[demo\]'"):
        SmtpSink(tmp_path / "mail")
