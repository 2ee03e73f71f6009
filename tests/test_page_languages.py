"""Every page in Chinese shows Chinese: no raw catalog key and no English sentence from the catalog
anywhere — titles, labels, options, messages, and the text inside the figures."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from explainer.i18n import catalog
from explainer.ui.navigation import SECTIONS
from tests.apptest import VIEWS
from tests.live_server import ROOT

PAGES = [page.path for section in SECTIONS for page in section.pages]
KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "latex")
LABELLED = ("button", "radio", "selectbox", "slider", "select_slider", "number_input", "toggle", "checkbox",
            "text_input", "text_area", "multiselect", "metric", "expander", "tab", "button_group")
CASES = [(path, None) for path in PAGES] + [(path, view) for path, (_, views) in VIEWS.items() for view in views]


def english_sentences() -> list[str]:
    """English texts that must not appear on a Chinese page (long enough to be prose, and translated)."""
    en, zh = catalog("en"), catalog("zh")
    return sorted({v for k, v in en.items() if len(v) >= 16 and " " in v and "{" not in v and v != zh[k]
                   and not v.startswith(("http", "nn.", "torch"))}, key=len, reverse=True)


def figure_texts(spec: dict) -> list[str]:
    out: list[str] = []

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("text", "name", "title", "label"):
            out.append(node)

    walk({"layout": spec.get("layout", {}), "data": [{"name": d.get("name", "")} for d in spec.get("data", [])]})
    return out


def page_texts(at: AppTest) -> list[str]:
    texts: list[str] = []
    for kind in TEXT_ELEMENTS:
        texts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    for kind in LABELLED:
        for e in at.get(kind):
            texts.append(str(getattr(e, "label", "") or ""))
            texts += [str(o) for o in getattr(e, "options", []) or []]
    for chart in at.get("plotly_chart"):
        texts += figure_texts(json.loads(chart.proto.spec))
    return [t for t in texts if t]


@pytest.mark.parametrize("path,view", CASES, ids=[f"{p}-{v}" if v else p for p, v in CASES])
def test_a_page_in_chinese_shows_no_key_and_no_english_sentence(path, view):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    if view:
        key = VIEWS[path][0]
        at.segmented_control(key=key).set_value(view).run()
        assert not at.exception, at.exception
        assert at.segmented_control(key=key).value == view
    texts = page_texts(at)
    assert len(texts) > 5
    raw_keys = [t for t in texts if KEY.match(t.strip()) and t.strip() in catalog("en")]
    assert raw_keys == []
    english = english_sentences()
    leaks = [(s, t[:80]) for t in texts for s in english if s in t]
    assert leaks == []
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
