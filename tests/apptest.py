"""What the AppTest suites share: open a page the way a browser would, insist on no exception, read a chart."""

from __future__ import annotations

import json
from collections.abc import Mapping

from streamlit.testing.v1 import AppTest

from tests.live_server import ROOT

# Pages that show one view at a time, chosen with a keyed segmented control: its key, and the views after the first.
VIEWS = {"pages/model.py": ("model_tab", ("training", "test")), "pages/saliency.py": ("sal_tab", ("sanity", "deletion"))}


def ok(at: AppTest) -> AppTest:
    """``at`` after a run that raised nothing (the exception is the assertion's message)."""
    assert not at.exception, at.exception
    return at


def app(lang: str | None = None, timeout: float = 120) -> AppTest:
    """The whole app (navigation, sidebar) after its first run, on the home page (``?lang=`` set first)."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    if lang:
        at.query_params["lang"] = lang
    return ok(at.run())


def open_page(path: str, lang: str | None = None, timeout: float = 120, params: Mapping[str, object] | None = None,
              **state: object) -> AppTest:
    """The whole app switched to ``path``, the way a browser gets there.

    ``lang`` is in the address from the first run; session ``state`` is set before the switch;
    ``params`` are the address of a link to ``path`` (``{"conv_stride": 2}``): put in the address
    just before the switch, as a click on a link does (before the first run they would be on
    the home page, which drops them).
    """
    at = app(lang, timeout)
    for key, value in state.items():
        at.session_state[key] = value
    if params:
        at.query_params.update({k: str(v) for k, v in params.items()})
    if path != "pages/home.py":
        at.switch_page(path).run()
    return ok(at)


def visit(at: AppTest, path: str) -> AppTest:
    """Go to another page of the app as the sidebar's menu does, and let it settle.

    Two runs: in AppTest the first run after ``switch_page`` gives a widget that several pages
    share (the digit ``digit``) the value it last had on *that* page — AppTest sends back the
    widget states of the tree it holds. In Chromium the page opens with the session's value
    (checked by hand: forward → saliency → forward keeps the digit picked last).
    """
    ok(at.switch_page(path).run())
    return ok(at.run())


def address(at: AppTest) -> dict[str, str]:
    """The address bar's parameters after the last run (a parameter given twice: its last value)."""
    out = {}
    for key, value in dict(at.query_params).items():
        out[key] = value[-1] if isinstance(value, list) else value
    return out


def on_screen(at: AppTest) -> list:
    """The elements of the page that a student sees: everything but what presenter mode puts aside.

    Presenter mode still draws the settings it hides (so they keep their values), in containers
    keyed ``aside_…`` that its CSS hides; AppTest sees them, a student does not. The same for the
    buttons that give the arrow keys to Previous / Next (``keys_…``, ``lesson_key_…``).
    """
    from streamlit.testing.v1.element_tree import Block

    from explainer.ui.presenter import ASIDE

    found = []

    def walk(node: object) -> None:
        for child in getattr(node, "children", {}).values():
            if isinstance(child, Block):
                block_id = getattr(child.proto, "id", "")
                if not any(f"-{hidden}" in block_id for hidden in (ASIDE, "keys_", "lesson_key_")):
                    walk(child)
            else:
                found.append(child)

    walk(at.main)
    return found


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure (as JSON) of the first chart whose widget id contains ``key``."""
    found = [c for c in at.get("plotly_chart") if key in c.proto.id]
    assert found, f"no chart {key}"
    return json.loads(found[0].proto.spec)


def charts(at: AppTest) -> list[str]:
    """The widget ids of every Plotly chart on the page."""
    return [c.proto.id for c in at.get("plotly_chart")]
