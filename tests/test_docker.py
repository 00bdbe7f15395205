"""The Docker image and the compose file, built and run: a base image made from Debian's packages
(deploy/base-image.sh), the monitor image and Debian's PostgreSQL built on it (deploy/compose.debian.yaml), then
compose starts PostgreSQL and the monitor against a local site served by this test; the monitor archives the site's
articles as they appear, delivers their alerts to a local Slack stand-in, and `monitor health` / `monitor status`
inside the container say so.

Network rule of these machines: every packet stays on 127.0.0.1. A dockerd this test starts has no bridge and no
iptables rules, and every build and container uses host networking (the override this test writes); PostgreSQL
listens on 127.0.0.1 at a free port, not on the host's 5432. Only the builds reach out, to PyPI and the Debian mirror.

Skips (with the reason) where Docker cannot run here: no docker client or compose, no daemon and no root to start
one, a daemon that does not come up, containers that cannot start, no debootstrap, or a build that fails while PyPI
or the Debian mirror is unreachable. Any other failure of the scripts, the Dockerfiles or compose is a failure.
The first run builds the base image (a few minutes); later runs reuse it (its tag holds a hash of the script)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from monitor.demo.sinks import SlackSink
from tests._daemon_support import FEED_URL, Clock, Snapshot
from tests._localsite import LocalSite
from tests._synth import HOST

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# The monitors started on the one database, each a service of deploy/compose.yaml: they share the work through
# leases in PostgreSQL.
MONITORS = ["monitor", "monitor-2"]
LABEL = "org.example.monitor.test"  # on the images this test builds, to prune only its own stale ones
PASSWORD = "test-only-password"
WAIT = 240.0  # seconds: the most a monitor may take to archive what the site shows (it polls every 2 s)


def _run(argv: list[str], *, timeout: float = 120.0, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:
        return False


def _offline_reason() -> str | None:
    for host, port in (("pypi.org", 443), ("deb.debian.org", 80)):
        if not _reachable(host, port):
            return f"{host}:{port} is unreachable"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Docker:
    compose: list[str]  # ["docker", "compose"] or ["docker-compose"]


def _compose_command() -> list[str] | None:
    if _run(["docker", "compose", "version"]).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def _daemon_answers() -> bool:
    return _run(["docker", "info"], timeout=30).returncode == 0


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    """A Docker daemon that answers: the one running, or one started here (root only) without bridge or iptables,
    stopped again at the end."""
    if shutil.which("docker") is None:
        pytest.skip("no docker client (apt-get install docker.io)")
    compose = _compose_command()
    if compose is None:
        pytest.skip("no docker compose (apt-get install docker-compose)")
    if _daemon_answers():
        yield Docker(compose)
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        pytest.skip("no Docker daemon runs and there is no dockerd to start (apt-get install docker.io)")
    if os.geteuid() != 0:
        pytest.skip("no Docker daemon runs and starting one needs root")
    log_path = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([dockerd, "--bridge=none", "--iptables=false"], stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _daemon_answers():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"dockerd did not come up here: {_tail(log_path.read_text(errors='replace'), 5)}")
            time.sleep(0.5)
        yield Docker(compose)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def base_image(docker: Docker) -> str:
    """The base made from Debian's packages: reused when built before, else built (root and debootstrap needed)."""
    script = str(DEPLOY / "base-image.sh")
    tag = _run([script, "--print-tag"]).stdout.strip()
    assert tag.startswith("monitor-base:"), tag
    if _run(["docker", "image", "inspect", tag]).returncode != 0:
        if os.geteuid() != 0:
            pytest.skip(f"base image {tag} is not built and building it needs root")
        if shutil.which("debootstrap") is None:
            pytest.skip("base image not built and no debootstrap (apt-get install debootstrap)")
        built = _run([script], timeout=900)
        if built.returncode != 0:
            reason = _offline_reason()
            if reason:
                pytest.skip(f"deploy/base-image.sh failed while {reason}")
            pytest.fail(f"deploy/base-image.sh failed:\n{_tail(built.stderr)}")
        assert built.stdout.strip().splitlines()[-1] == tag
    # An engine that cannot start a container at all (no cgroups, no overlay, ...) is this machine's limit.
    smoke = _run(["docker", "run", "--rm", "--network", "host", tag, "true"])
    if smoke.returncode != 0:
        pytest.skip(f"Docker cannot run containers here: {_tail(smoke.stderr, 3)}")
    return tag


# --- the deployment the test runs --------------------------------------------------------------------------------


def _monitor_toml(site: LocalSite) -> str:
    host_map = ", ".join(f'"{host}" = "{base}"' for host, base in site.host_map([HOST]).items())
    return f"""
[http]
host_map = {{ {host_map} }}
min_delay = 0.0
retries = 0
read_timeout = 10.0

[storage]
fsync = false

[alerts]
operations_channel = "slack"

[alerts.channels.slack]
type = "slack"
webhook_url_env = "MONITOR_SLACK_WEBHOOK_URL"

[[sources]]
name = "voa"
site = "{HOST}"
feeds = ["{FEED_URL}"]
interval = 2.0
jitter = 0.0
"""


RULES = """
[[rule]]
name = "lavrov-ukraine"
query = "Lavrov* AND Ukrain*"
channels = ["slack"]
mode = "immediate"
"""


def _override(db_port: int, health_ports: list[int]) -> dict[str, Any]:
    """Host networking for every build and container; PostgreSQL on 127.0.0.1:db_port; fixed image names so a
    rerun builds on the layers of the last run."""
    build = {"context": str(ROOT), "network": "host", "labels": {LABEL: "1"}}
    url = f"postgresql+psycopg://monitor:{PASSWORD}@127.0.0.1:{db_port}/monitor"
    services: dict[str, Any] = {
        "db": {"image": "monitor-test-postgres", "build": build, "network_mode": "host",
               "environment": {"PGPORT": str(db_port), "POSTGRES_LISTEN": "127.0.0.1"},
               "healthcheck": {"interval": "1s", "retries": 120}},
    }
    for name, port in zip(MONITORS, health_ports, strict=True):
        services[name] = {"image": "monitor-test", "build": build, "network_mode": "host",
                          "environment": {"MONITOR_STORAGE__URL": url,
                                          "MONITOR_DAEMON__HEALTH_LISTEN": f"127.0.0.1:{port}"}}
    return {"services": services}


@dataclass
class Deployment:
    docker: Docker
    files: list[Path]
    project_dir: Path
    env_file: Path
    env: dict[str, str]
    project: str

    def compose(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        argv = [*self.docker.compose, "--project-name", self.project, "--project-directory", str(self.project_dir)]
        for file in self.files:
            argv += ["--file", str(file)]
        argv += ["--env-file", str(self.env_file)]
        if "monitor-2" in MONITORS:
            argv += ["--profile", "pair"]
        return _run([*argv, *args], timeout=timeout, env=self.env)

    def resolve(self) -> None:
        """Run from the configuration compose makes of the files, less the published ports: an override cannot
        remove them (compose v1 has no !reset), and with host networking the engine refuses them."""
        config = self.compose("config")
        assert config.returncode == 0, f"compose config failed:\n{config.stderr}"
        resolved = yaml.safe_load(config.stdout)
        services = resolved["services"]
        for name in set(services) - {"db", *MONITORS}:
            del services[name]  # not started by this test (monitor-2 without its profile)
        for name, service in services.items():
            assert service.get("network_mode") == "host", f"{name} must use host networking: {service}"
            service.pop("ports", None)
        path = self.project_dir / "compose.resolved.yaml"
        path.write_text(json.dumps(resolved, indent=2), encoding="utf-8")
        self.files = [path]

    def exec(self, service: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", service, *argv, timeout=60)

    def logs(self) -> str:
        return _tail(self.compose("logs", "--no-color").stdout, 60)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Snapshot, LocalSite, SlackSink]]:
    snapshot = Snapshot(tmp_path / "site", Clock(datetime.now(UTC)))
    snapshot.write_feed()
    with LocalSite(snapshot.root) as local, SlackSink(tmp_path / "slack.jsonl") as slack:
        yield snapshot, local, slack


@pytest.fixture
def deployment(docker: Docker, base_image: str, tmp_path: Path,
               site: tuple[Snapshot, LocalSite, SlackSink]) -> Iterator[Deployment]:
    """compose.yaml + compose.debian.yaml + the test's override, with the project directory laid out like a
    checkout: deploy/monitor.env beside the compose files' relative paths, config/ mounted at /etc/monitor."""
    _, local, slack = site
    project_dir = tmp_path / "deploy"
    config = tmp_path / "config"
    project_dir.mkdir()
    config.mkdir()
    (config / "monitor.toml").write_text(_monitor_toml(local), encoding="utf-8")
    (config / "rules.toml").write_text(RULES, encoding="utf-8")
    # The container's user (uid 10001) reads the config through the bind mount; tmp_path itself is root's, 0700.
    for path in (config, *config.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    env_file = project_dir / "monitor.env"
    env_file.write_text(f"MONITOR_SLACK_WEBHOOK_URL={slack.url}\nPOSTGRES_PASSWORD={PASSWORD}\n", encoding="utf-8")
    override = project_dir / "compose.test.yaml"
    override.write_text(json.dumps(_override(_free_port(), [_free_port() for _ in MONITORS]), indent=2),
                        encoding="utf-8")  # JSON is YAML
    env = {**os.environ, "BASE": base_image, "POSTGRES_PASSWORD": PASSWORD}
    made = Deployment(docker, [DEPLOY / "compose.yaml", DEPLOY / "compose.debian.yaml", override], project_dir,
                      env_file, env, f"monitor-test-{os.getpid()}")
    try:
        yield made
    finally:
        made.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=180)
        _run(["docker", "image", "prune", "--force", "--filter", f"label={LABEL}"])


def _build(deployment: Deployment) -> None:
    built = deployment.compose("build", "--force-rm", timeout=900)
    if built.returncode != 0:
        reason = _offline_reason()
        if reason:
            pytest.skip(f"the image build failed while {reason}")
        pytest.fail(f"compose build failed:\n{_tail(built.stdout + built.stderr, 60)}")


def _wait_archived(deployment: Deployment, service: str, count: int) -> dict[str, Any]:
    """`monitor status --json` inside the container, once it counts ``count`` articles archived today."""
    deadline = time.monotonic() + WAIT
    last = ""
    while time.monotonic() < deadline:
        result = deployment.exec(service, "monitor", "status", "--json")
        last = result.stdout + result.stderr
        if result.returncode == 0:
            status: dict[str, Any] = json.loads(result.stdout)
            if sum(s["articles_today"] for s in status["sources"]) >= count:
                return status
        container = deployment.compose("ps", "--quiet", service).stdout.strip()
        state = _run(["docker", "inspect", "--format", "{{.RestartCount}} {{.State.Status}}", container]).stdout
        assert state.split()[:1] in (["0"], ["1"]), f"{service} keeps failing ({state.strip()}):\n{deployment.logs()}"
        time.sleep(1.0)
    raise AssertionError(f"{service} did not archive {count} articles in {WAIT:.0f} s; status: {_tail(last, 20)}\n"
                         f"{deployment.logs()}")


def _wait_alerts(slack: SlackSink, stories: list[int]) -> None:
    """Each story's alert delivered to the Slack stand-in, once."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        texts = [str(r.get("text")) for r in slack.requests]
        counts = [sum(f"story {n} edit 0" in text for text in texts) for n in stories]
        if all(counts):
            assert counts == [1] * len(stories), texts
            return
        time.sleep(0.5)
    raise AssertionError(f"alerts for stories {stories} not all delivered: {[r.get('text') for r in slack.requests]}")


def test_compose_runs_the_monitor_on_postgresql_against_the_local_site(
        deployment: Deployment, site: tuple[Snapshot, LocalSite, SlackSink]) -> None:
    snapshot, local, slack = site
    first = snapshot.add(1, 2, 3)
    deployment.resolve()
    _build(deployment)
    up = deployment.compose("up", "--detach", "--no-build", timeout=300)
    assert up.returncode == 0, f"compose up failed:\n{_tail(up.stdout + up.stderr)}\n{deployment.logs()}"

    service = MONITORS[0]
    _wait_archived(deployment, service, 3)
    # New articles while it runs: the next polls take them.
    later = snapshot.add(4, 5)
    status = _wait_archived(deployment, service, 5)
    assert [s["source"] for s in status["sources"]] == ["voa"]
    assert status["sources"][0]["consecutive_failures"] == 0
    # Both daemons are alive on the one database, and the source is held by one of them.
    alive = [p for p in status["processes"] if p["alive"]]
    assert len(alive) == len(MONITORS), status["processes"]
    assert status["sources"][0]["held_by"] in {p["id"] for p in alive}, status
    _wait_alerts(slack, [1, 2, 3, 4, 5])
    # Served by the test's site through host_map, the one way to it from the container.
    fetched = {request.path for request in local.requests(HOST)}
    assert {urlsplit(url).path for url in [*first, *later]} <= fetched

    for name in MONITORS:
        health = deployment.exec(name, "monitor", "health")
        assert (health.returncode, health.stdout.strip()) == (0, "healthy"), health.stdout + health.stderr
        table = deployment.exec(name, "monitor", "status")
        assert table.returncode == 0 and "voa" in table.stdout, table.stdout + table.stderr
        # The image runs as its own user, and the archive is written to the volume.
        assert deployment.exec(name, "id", "-u").stdout.strip() == "10001"
    texts = deployment.exec(service, "find", "/var/lib/monitor/archive", "-type", "f", "-name", "*.txt")
    assert texts.returncode == 0 and len(texts.stdout.split()) == 5, texts.stdout + texts.stderr
