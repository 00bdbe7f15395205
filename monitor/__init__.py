"""monitor: a news-monitoring bot for RFE/RL (Pangea CMS) and Deutsche Welle.

The public surface is small on purpose: parse a page into an :class:`Article`, render it as archive text.
Everything else (HTTP client, discovery, store, rules, notifiers, daemon) lives in its own module.

The names below are imported on first use, not with the package: every ``monitor.*`` import (and so every
command) would otherwise pay for the parsers and lxml first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor._lazy import lazy_names

if TYPE_CHECKING:
    from monitor.errors import MonitorError, ParseError
    from monitor.model import Article, Block, BlockKind, Image
    from monitor.render import render_article
    from monitor.sites import parse_article

__version__ = "0.1.0"

_LAZY = {
    "Article": "monitor.model",
    "Block": "monitor.model",
    "BlockKind": "monitor.model",
    "Image": "monitor.model",
    "MonitorError": "monitor.errors",
    "ParseError": "monitor.errors",
    "parse_article": "monitor.sites",
    "render_article": "monitor.render",
}


__getattr__ = lazy_names(__name__, globals(), _LAZY)

__all__ = [
    "Article",
    "Block",
    "BlockKind",
    "Image",
    "MonitorError",
    "ParseError",
    "__version__",
    "parse_article",
    "render_article",
]
