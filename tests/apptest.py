"""What the AppTest suites share: open a page the way a browser would, insist on no exception, read a chart."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.live_server import ROOT


def ok(at: AppTest) -> AppTest:
    """``at`` after a run that raised nothing (the exception is the assertion's message)."""
    assert not at.exception, at.exception
    return at


def open_page(path: str, lang: str | None = None, timeout: float = 120, **state: object) -> AppTest:
    """The whole app (navigation, sidebar) switched to ``path``, with ``?lang=`` and session ``state`` set first."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    if lang:
        at.query_params["lang"] = lang
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(path).run()
    return ok(at)


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure (as JSON) of the first chart whose widget id contains ``key``."""
    found = [c for c in at.get("plotly_chart") if key in c.proto.id]
    assert found, f"no chart {key}"
    return json.loads(found[0].proto.spec)
