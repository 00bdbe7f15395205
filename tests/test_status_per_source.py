"""``monitor status`` counts "today" per source: what that source's runs archived, not what its site has. Two
sources of one site (as several DW sources are): the one whose feed listed the article counts it, the other 0; a
text archived by ``monitor ingest`` counts for no source."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.demo.sinks import SlackSink, SmtpSink
from monitor.scheduler import Daemon
from monitor.services import Services
from tests._daemon_support import Clock, Snapshot, rss, settings, source
from tests._localsite import LocalSite
from tests._synth import HOST, article_url
from tests.test_daemon_cli import Operator

pytestmark = pytest.mark.slow


def test_today_is_what_each_source_archived(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.add(1)
    quiet_feed = snapshot.root / HOST / "api" / "quiet"
    quiet_feed.write_text(rss([]), encoding="utf-8")
    with LocalSite(snapshot.root) as site, SlackSink(tmp_path / "slack.jsonl") as slack, \
            SmtpSink(tmp_path / "mail") as smtp:
        monkeypatch.setenv("MONITOR_SLACK_WEBHOOK_URL", slack.url)
        sources = [source(name="voa"), source(name="voa-quiet", feeds=[f"https://{HOST}/api/quiet"])]
        config = settings(tmp_path, site.host_map([HOST]), sources=sources, smtp_port=smtp.port)
        operator = Operator(tmp_path, config, {"MONITOR_SLACK_WEBHOOK_URL": slack.url})
        with Services.open(config) as services:
            reports = Daemon(services).cycle()
        assert [(r.source, r.new) for r in reports] == [("voa", 1), ("voa-quiet", 0)]
        snapshot.add(2)  # on the site (and in voa's feed, for a run that does not come): ingested by hand
        ingested = operator.cli("ingest", article_url(2))
        assert ingested.exit_code == 0 and ingested.stdout.startswith("new\t"), ingested.output
        status = operator.cli("status", "--json")
    assert status.exit_code == 0, status.output
    today = {row["source"]: row["articles_today"] for row in json.loads(status.stdout)["sources"]}
    assert today == {"voa": 1, "voa-quiet": 0}
