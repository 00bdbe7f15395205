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
    from monitor.errors import MonitorError as MonitorError
    from monitor.errors import ParseError as ParseError
    from monitor.model import Article as Article
    from monitor.model import Block as Block
    from monitor.model import BlockKind as BlockKind
    from monitor.model import Image as Image
    from monitor.render import render_article as render_article
    from monitor.sites import parse_article as parse_article

__version__ = "0.1.0"

__getattr__, __all__ = lazy_names(__name__, globals(), {
    "monitor.errors": ("MonitorError", "ParseError"),
    "monitor.model": ("Article", "Block", "BlockKind", "Image"),
    "monitor.render": ("render_article",),
    "monitor.sites": ("parse_article",),
})
__all__ += ["__version__"]
