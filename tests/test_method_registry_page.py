"""A new attribution method is one object plus its catalog strings: registered, it is on the page
(in the method list, as a map, in the code panel) and in the CLI, with nothing else edited."""

from __future__ import annotations

import pytest

from explainer.cli import build_parser
from explainer.i18n import LANGUAGES, catalog
from explainer.methods import registered
from tests.test_links import open_link
from tests.test_methods import DoubleSaliency

TEXTS = {"sal.method.double-saliency": "Double saliency", "sal.explain.double-saliency": "twice the gradient's size."}


@pytest.fixture
def double():
    """The method registered, and its catalog strings added, for the test only."""
    with registered(DoubleSaliency()) as method:
        for lang in LANGUAGES:
            catalog(lang).update(TEXTS)
        try:
            yield method
        finally:
            for lang in LANGUAGES:
                for key in TEXTS:
                    catalog(lang).pop(key, None)


def saliency_choices() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["saliency"]
    return next(a for a in sub._actions if a.dest == "method").choices


def test_a_registered_method_appears_in_the_cli_the_method_list_the_maps_and_the_code(double):
    assert "double-saliency" in saliency_choices()
    at = open_link("saliency", {"digit": "3", "sal_methods": "saliency,double-saliency"})
    pills = at.button_group(key="sal_methods")
    assert "Double saliency" in pills.options and pills.value == ["saliency", "double-saliency"]
    maps = [c for c in at.get("plotly_chart") if "sal_maps" in c.proto.id]
    assert maps and "Double saliency" in maps[0].proto.spec
    code = " ".join(c.value for c in at.code)
    assert "attributions = 2 * Saliency(model).attribute(x, target=" in code
    at.button_group(key="sal_tab").set_value("methods").run()
    assert any("twice the gradient's size" in m.value for m in at.markdown)


def test_after_it_is_gone_the_page_and_cli_do_not_offer_it():
    assert "double-saliency" not in saliency_choices()
    at = open_link("saliency", {"digit": "3"})
    assert "Double saliency" not in at.button_group(key="sal_methods").options
