"""DW's embedded state: the current template's ``window.__APOLLO_STATE__`` (its GraphQL cache, server-rendered
into the page), read once per page, and the readers of the article's entries in it."""

from __future__ import annotations

import json
from typing import Any

from lxml.html import HtmlElement

from monitor.sites._common import clean

APOLLO_PREFIX = "window.__APOLLO_STATE__"


def apollo_script(doc: HtmlElement) -> str | None:
    for script in doc.iter("script"):
        text: str | None = script.text
        if text and APOLLO_PREFIX in text[:200]:
            return text
    return None


def apollo_state(doc: HtmlElement) -> dict[str, Any] | None:
    """DW's embedded GraphQL cache, parsed once; None when the page has none or it is malformed."""
    text = apollo_script(doc)
    if text is None:
        return None
    start = text.find("{", text.find(APOLLO_PREFIX))
    if start < 0:
        return None
    try:
        state, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def deref(state: dict[str, Any] | None, value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict) and "__ref" in value:
        found = state.get(value["__ref"]) if state else None
        return found if isinstance(found, dict) else None
    return value if isinstance(value, dict) else None


def apollo_authors(state: dict[str, Any] | None, apollo: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in apollo.items():
        if not key.startswith("persons") or not isinstance(value, list):
            continue
        for ref in value:
            person = deref(state, ref)
            name = clean(person.get("fullName")) if person else ""
            if name and name not in names:
                names.append(name)
    return names


def apollo_topics(state: dict[str, Any] | None, apollo: dict[str, Any]) -> list[str]:
    topics: list[str] = []
    for ref in apollo.get("relatedAutoTopics") or []:
        topic = deref(state, ref)
        name = clean(topic.get("name")) if topic else ""
        if name and name not in topics:
            topics.append(name)
    return topics
