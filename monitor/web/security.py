"""The web page's safety rules: who may bind where, who may come in, and the CSRF token every POST carries.

- Loopback by default; any other address needs credentials, which come from the environment only (the variables
  the ``[web]`` section names), never from the config file.
- With credentials configured every request needs them: ``Authorization: Bearer <token>``, or HTTP Basic with a
  configured user (or any user name with the token as password, for feed readers that only know Basic).
- Without credentials, a request must name a loopback host (Host header): no DNS rebinding.
- Every state-changing request is a POST whose form carries the token held in the ``monitor_csrf`` cookie
  (SameSite=Strict, HttpOnly): another site can neither read the cookie nor make the browser send it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.errors import ConfigError
from monitor.loopback import is_loopback
from monitor.settings import WebSettings

CSRF_COOKIE = "monitor_csrf"
CSRF_FIELD = "csrf"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who may use the page: a token and/or users with passwords, read from the environment."""

    token: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, web: WebSettings, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        token = env.get(web.token_env) or None
        users: dict[str, str] = {}
        for n, entry in enumerate(filter(None, (e.strip() for e in (env.get(web.users_env) or "").split(","))), 1):
            name, sep, password = entry.partition(":")
            if not sep or not name or not password:
                raise ConfigError(f"{web.users_env}: entry {n} is not name:password")
            users[name] = password
        return cls(token, users)

    @property
    def configured(self) -> bool:
        return bool(self.token or self.users)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries valid credentials."""
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        scheme, value = scheme.casefold(), value.strip()
        if scheme == "bearer":
            return self.token is not None and hmac.compare_digest(value.encode(), self.token.encode())
        if scheme != "basic":
            return False
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        name, _, password = decoded.partition(":")
        expected = self.users.get(name)
        if expected is not None and hmac.compare_digest(password.encode(), expected.encode()):
            return True
        return self.token is not None and hmac.compare_digest(password.encode(), self.token.encode())


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def host_allowed(host_header: str | None, credentials: Credentials) -> bool:
    """Without credentials only a loopback name may be asked for in the Host header: a page elsewhere that points
    its own host name at 127.0.0.1 (DNS rebinding) must not read the archive through the visitor's browser."""
    if credentials.configured:
        return True
    host = (host_header or "").strip().casefold()
    if host.startswith("["):  # [::1]:8080
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host in LOOPBACK_NAMES or (host.startswith("127.") and is_loopback(host))


def check_bind(host: str, credentials: Credentials, web: WebSettings) -> None:
    """Refuse (ConfigError) to serve a non-loopback address without credentials."""
    if not is_loopback(host) and not credentials.configured:
        raise ConfigError(
            f"web: refusing to listen on {host} without authentication: set {web.token_env} (a token) or "
            f"{web.users_env} (name:password,...) in the environment, or listen on 127.0.0.1")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie and submitted) and hmac.compare_digest(str(cookie).encode(), str(submitted).encode())
