"""``monitor web``: the analyst's workbench over the archive (see :mod:`monitor.web.app`)."""

from monitor.web.app import create_app

__all__ = ["create_app"]
