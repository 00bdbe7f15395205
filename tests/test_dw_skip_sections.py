"""DW current template: the skip-link line of a section after the body ("Skip next section More on ...").

The reference producer (FORMAT.md) prints that line when its main-content rules keep the section: the section's id
is not a ``related-*`` one and the zone around the sections is not a short, link-heavy box (its link-cluster rule
stops at 1500 bytes of text). The real 2026 page has three ``related-*`` sections in a 1408-byte zone, so nothing
of them is printed; the pages here are that real page with the section names and the teaser counts other live
pages have. Teasers never enter the archive, even where the reference would let one through.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from monitor.render import render_article
from monitor.sites import default_registry

PAGE = (
    Path(__file__).parent / "fixtures" / "pages" / "dw" / "dw_en_newgen_2026-06-14_germany-world-cup-curacao_a-77538843"
)
URL = json.loads(PAGE.with_suffix(".expect.json").read_text(encoding="utf-8"))["url"]
REGION = "related-content-by-thematic-focus-region"  # "More on Sports from Europe"
GLOBAL = "related-content-by-thematic-focus-global"  # "More on Sports from around the world"
TOPICS = "related-topics"  # "Related topics"
LAST_BODY_LINE = "Edited by: Wesley Dockery"
TEASER_TITLES = ("Manuel Neuer: The aura of a record-breaking goalkeeper", "Ibrahim Maza", "New York Knicks")


def variant(
    renamed: dict[str, str] | None = None, extra_teasers: dict[str, int] | None = None, long_teaser: str = ""
) -> str:
    """The real page with sections renamed (id and tracking name), more teasers in a list (copies of its first), or
    a teaser carrying a long text that is not a link."""
    doc = lxml.html.document_fromstring(PAGE.with_suffix(".html").read_text(encoding="utf-8"))
    for section_id, count in (extra_teasers or {}).items():
        teasers = [d for d in doc.get_element_by_id(section_id).iter("div") if d.get("data-tracking-name") == "Teaser"]
        for _ in range(count):
            teasers[-1].addnext(copy.deepcopy(teasers[0]))
    if long_teaser:
        first = next(
            d for d in doc.get_element_by_id(long_teaser).iter("div") if d.get("data-tracking-name") == "Teaser"
        )
        first.append(lxml.html.fragment_fromstring("<p>" + "A teaser text that is not a link. " * 40 + "</p>"))
    for old, new in (renamed or {}).items():
        section = doc.get_element_by_id(old)
        section.set("id", new)
        section.set("data-tracking-name", f"section-{new}")
    return lxml.html.tostring(doc, encoding="unicode", doctype="<!DOCTYPE html>")


def archive_text(html: str) -> str:
    return render_article(default_registry().parse(html, URL))


def tail(text: str) -> list[str]:
    lines = text.split("\n")
    return lines[lines.index(LAST_BODY_LINE) :]


def test_related_sections_stay_out() -> None:
    # Four teasers push the zone past the link-cluster limit, but every section is a related-* one.
    assert tail(archive_text(variant(extra_teasers={GLOBAL: 1}))) == [LAST_BODY_LINE]


def test_the_skip_line_of_a_kept_section_follows_the_body() -> None:
    text = archive_text(variant(renamed={REGION: "more-on-this-topic"}, extra_teasers={GLOBAL: 1}))
    assert tail(text) == [LAST_BODY_LINE, "", "Skip next section More on Sports from Europe"]
    assert not any(title in text for title in TEASER_TITLES)


def test_kept_sections_stand_one_per_line() -> None:
    text = archive_text(
        variant(renamed={REGION: "more-a", GLOBAL: "more-b", TOPICS: "topics"}, extra_teasers={GLOBAL: 1})
    )
    assert tail(text) == [
        LAST_BODY_LINE,
        "",
        "Skip next section More on Sports from Europe",
        "Skip next section More on Sports from around the world",
        "Skip next section Related topics",
    ]


def test_a_short_link_heavy_zone_drops_its_skip_lines() -> None:
    # Renamed, but the zone holds 1408 bytes, mostly links: the reference leaves the whole zone out.
    assert tail(archive_text(variant(renamed={REGION: "more-on-this-topic"}))) == [LAST_BODY_LINE]


def test_a_long_teaser_list_brings_its_heading_but_no_teaser() -> None:
    text = archive_text(variant(renamed={REGION: "more-on-this-topic"}, extra_teasers={REGION: 8}))
    assert tail(text) == [
        LAST_BODY_LINE,
        "",
        "Skip next section More on Sports from Europe",
        "",
        "More on Sports from Europe",
        "",
        "Show more",
    ]


def test_a_teaser_never_enters_the_archive() -> None:
    # The reference prints this teaser's long text (not a link cluster); the archive does not.
    text = archive_text(variant(renamed={REGION: "more-on-this-topic"}, long_teaser=REGION))
    assert "A teaser text that is not a link." not in text
    assert "Skip next section More on Sports from Europe" in text


VARIANTS: dict[str, dict[str, Any]] = {
    "real-page": {},
    "related-only": {"extra_teasers": {GLOBAL: 1}},
    "one-kept": {"renamed": {REGION: "more-on-this-topic"}, "extra_teasers": {GLOBAL: 1}},
    "two-kept": {"renamed": {REGION: "more-a", TOPICS: "topics"}, "extra_teasers": {GLOBAL: 1}},
    "short-zone": {"renamed": {REGION: "more-on-this-topic"}},
    "long-list": {"renamed": {REGION: "more-on-this-topic"}, "extra_teasers": {REGION: 8}},
    "very-long-list": {"renamed": {GLOBAL: "more-on-this-topic"}, "extra_teasers": {GLOBAL: 20}},
}


@pytest.mark.parametrize("name", VARIANTS)
def test_equals_the_reference_producer(name: str) -> None:
    """Byte for byte what the reference producer (resiliparse 0.15.1, a dev dependency) makes of each page."""
    html2text = pytest.importorskip("resiliparse.extract.html2text")
    from resiliparse.parse.html import HTMLTree

    html = variant(**VARIANTS[name])
    reference = html2text.extract_plain_text(
        HTMLTree.parse(html), main_content=True, skip_elements=[".responsive-indicator"]
    ).strip()
    assert archive_text(html) == reference
