"""The English mode has no untranslated strings (issue 18).

Every rendered page in ``?lang=en``, the map script's UI configuration (``/map/en.js``) and
the API's English titles are scanned for CJK characters.  Documented exceptions, each
marked in the markup, not guessed by the scanner:

* elements marked ``lang="zh…"``: verbatim plan text (the plan page's lines, quotes and
  clauses on ``/conflicts``, which must stay Chinese) and Chinese proper nouns inside data
  text (a plan's title in a layer's attribution, "named after 五棵树"), marked by the
  ``zh_marked`` filter (server/search.py);
* links with ``hreflang="zh"``: the switch to the Chinese page is rightly written in Chinese.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
VOID = {"br", "meta", "link", "input", "img", "hr", "source", "area", "col", "wbr"}
SCANNED_ATTRS = ("title", "placeholder", "aria-label", "alt", "value")
SITE = {"type": "Polygon", "coordinates": [[[122.80, 45.60], [122.88, 45.60], [122.88, 45.65],
                                            [122.80, 45.65], [122.80, 45.60]]]}


class _Scan(HTMLParser):
    """Visible text and labelled attributes with CJK, outside the marked exceptions."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.hits, self.exempt = [], [], 0

    def _attrs(self, tag, attrs):
        if self.exempt:
            return
        for key in SCANNED_ATTRS:
            if attrs.get(key) and CJK.search(attrs[key]):
                self.hits.append(f"<{tag} {key}={attrs[key][:80]!r}>")

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        exempt = ((attrs.get("lang") or "").startswith("zh")
                  or (tag == "a" and (attrs.get("hreflang") or "").startswith("zh"))
                  or tag in ("script", "style"))
        if not exempt:
            self._attrs(tag, attrs)
        if tag in VOID:
            return
        self.stack.append((tag, exempt))
        self.exempt += exempt

    def handle_endtag(self, tag):
        while self.stack:
            name, exempt = self.stack.pop()
            self.exempt -= exempt
            if name == tag:
                break

    def handle_data(self, text):
        if not self.exempt and CJK.search(text):
            where = self.stack[-1][0] if self.stack else "?"
            self.hits.append(f"<{where}> {text.strip()[:100]!r}")


def untranslated(html: str) -> list[str]:
    scan = _Scan()
    scan.feed(html)
    return scan.hits


def test_scanner_finds_chinese_and_honours_only_the_marked_exceptions():
    assert untranslated("<p>Layer: 行政区划</p>") == ["<p> 'Layer: 行政区划'"]
    assert untranslated('<input placeholder="搜索">') == ["<input placeholder='搜索'>"]
    assert untranslated('<p>“<span lang="zh-CN">坚持</span>” ok</p>') == []
    assert untranslated('<a href="/" hreflang="zh">中文</a>') == []
    assert untranslated('<a href="/" hreflang="en">中文</a>') != []


def _get(client, url):
    r = client.get(url)
    assert r.status_code == 200, url
    return r.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/?lang=en", "/conflicts?lang=en", "/auth/login?lang=en",
                                 "/plan/000_f32aaef515cfbb76?lang=en",
                                 "/plan/001_9a974351a9e73ab7?lang=en",
                                 "/plan/002_fdf47785ab26ae24?lang=en",
                                 "/plan/003_50a963f61061be04?lang=en",
                                 "/plan/004_bba0a9fb5e7355d6?lang=en"])
def test_english_pages_have_no_untranslated_text(client, url):
    assert untranslated(_get(client, url)) == []


def test_english_report_page_has_no_untranslated_text(client):
    r = client.post("/api/v1/sitecheck", json={"geometry": SITE})
    assert r.status_code in (200, 201), r.get_json()
    page = _get(client, r.get_json()["report_url"] + "?lang=en")
    assert untranslated(page) == []


def _map_config(script: str) -> dict:
    m = re.search(r"window\.planmapInit\(\w+, (\{.*\})\);", script, flags=re.S)
    assert m, "the map script starts planmap.js with its configuration"
    return json.loads(m.group(1))


def test_english_map_script_ui_strings_layer_titles_and_plan_names_are_english(client):
    cfg = _map_config(_get(client, "/map/en.js"))
    ui = dict(cfg["strings"])
    ui.update({f"draw.{k}": v for k, v in cfg["draw"].items()})
    ui.update({f"layer.{k}": v["title"] for k, v in cfg["layers"].items()})
    ui.update({f"plan.{p['id']}": p["name"] for p in cfg["plans"]})
    ui.update({f"kind.{k}": v for k, v in cfg["kinds"].items()})
    assert {k: v for k, v in ui.items() if CJK.search(v)} == {}
    # the check has teeth: the Chinese script's strings are Chinese
    zh = _map_config(_get(client, "/map/zh.js"))
    assert CJK.search(zh["strings"]["search_placeholder"])


def test_api_english_titles_have_no_chinese(client):
    layers = client.get("/api/v1/layers").get_json()["layers"]
    assert layers
    assert {x["id"]: x["title_en"] for x in layers if CJK.search(x.get("title_en") or "")} == {}
    assert [x["id"] for x in layers if CJK.search(x.get("description_en") or "")] == []
    plans = client.get("/api/v1/plans").get_json()["plans"]
    assert {p["id"]: p.get("name_en") for p in plans if CJK.search(p.get("name_en") or "")} == {}


def test_every_kind_in_the_data_has_a_label_in_both_languages():
    """Popups and the attribute table show a kind label, never the code (livestock_base)."""
    from planmap.server import i18n

    kinds = _data_kinds()
    assert "livestock_base" in kinds and len(kinds) > 50
    missing = sorted(k for k in kinds if k not in i18n.KIND_LABELS)
    assert missing == []
    for k in kinds:
        zh, en = i18n.kind_label("zh", k), i18n.kind_label("en", k)
        assert CJK.search(zh) and en and not CJK.search(en) and en != k, k
    # the map script carries the labels to the popups (planmap.js kindLabel)
    assert i18n.kind_labels("en")["livestock_base"] == "Livestock base"


def _data_kinds() -> set[str]:
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "layers" / "data"
    return {f["properties"]["kind"] for path in data.glob("*.geojson")
            for f in json.loads(path.read_text("utf-8"))["features"]
            if f["properties"].get("kind")}


def test_english_map_script_carries_kind_labels_not_codes(client):
    en = _map_config(_get(client, "/map/en.js"))["kinds"]
    zh = _map_config(_get(client, "/map/zh.js"))["kinds"]
    assert en["livestock_base"] == "Livestock base" and zh["livestock_base"] == "牧业基地"
    assert set(_data_kinds()) <= set(en) and set(en) == set(zh)


def test_english_map_script_basemap_attributions_are_english(client):
    """Leaflet shows each base layer's attribution in the map corner: English on /en."""
    def attributions(script: str) -> list[str]:
        return [json.loads(f'"{a}"') for a in re.findall(r'"attribution": "((?:[^"\\]|\\.)*)"',
                                                        script)]

    en = attributions(_get(client, "/map/en.js"))
    assert en and [a for a in en if CJK.search(a)] == []
    assert any(CJK.search(a) for a in attributions(_get(client, "/map/zh.js")))
