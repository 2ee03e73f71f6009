"""The memory janitor: a sweep frees what only reference cycles kept alive, even with Python's
automatic collection off, and never needs a running server."""

import gc
import weakref

import torch

from explainer.ui.janitor import sweep


class Holder:
    pass


def test_a_sweep_frees_a_dead_cycle_without_a_server():
    gc.disable()
    try:
        a, b = Holder(), Holder()
        a.other, b.other = b, a  # a cycle: only a full collection can free it
        a.weights = torch.zeros(1000, 1000)
        alive = weakref.ref(a)
        del a, b
        assert alive() is not None
        sweep()
        assert alive() is None
    finally:
        gc.enable()


class Sessions:
    """A stand-in for Streamlit's session manager: only what the janitor asks of it."""

    def __init__(self, count: int) -> None:
        self.count = count

    def num_sessions(self) -> int:
        return self.count


def test_shared_figures_are_forgotten_only_when_the_last_student_has_left():
    import plotly.graph_objects as go

    from explainer.ui.figure_cache import shared_figures
    from explainer.ui.janitor import look

    built = []

    @shared_figures(max_entries=4)
    def chart(n: int) -> go.Figure:
        built.append(n)
        return go.Figure()

    chart(1)
    chart(1)
    assert built == [1]  # shared: built once
    sessions = Sessions(3)
    last = look(sessions, None)
    sessions.count = 1
    last = look(sessions, last)  # some left, one still works: the figures stay
    chart(1)
    assert built == [1]
    sessions.count = 0
    look(sessions, last)  # the last one left
    chart(1)
    assert built == [1, 1]


def test_the_number_of_sessions_comes_from_streamlits_public_statistics():
    """The janitor counts students with the gauge Streamlit publishes (``/_stcore/metrics``)."""
    from streamlit.runtime.stats import ACTIVE_SESSIONS_FAMILY, GaugeStat

    from explainer.ui.janitor import Sessions

    class Stats:
        def get_stats(self, families):  # noqa: ANN001, ANN202
            assert families == [ACTIVE_SESSIONS_FAMILY]
            return {ACTIVE_SESSIONS_FAMILY: [GaugeStat(family_name=ACTIVE_SESSIONS_FAMILY, value=3)]}

    assert Sessions(Stats()).num_sessions() == 3


def test_a_live_server_reports_its_connected_sessions():
    """With a real server: one browser tab is one active session, and the count drops when it closes."""
    import re
    import urllib.request

    from tests.live_server import chromium, playwright_browser_available, streamlit_server, wait_idle

    if playwright_browser_available() is not None:
        import pytest

        pytest.skip("no browser")

    def active(url: str) -> int:
        text = urllib.request.urlopen(f"{url}/_stcore/metrics").read().decode()
        found = re.search(r"^active_sessions(?:\{[^}]*\})? (\d+)", text, re.M)
        return int(found[1]) if found else 0

    with streamlit_server() as url:
        assert active(url) == 0
        with chromium() as page:
            page.goto(url)
            wait_idle(page)
            assert active(url) == 1
        import time

        deadline = time.monotonic() + 20
        while active(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert active(url) == 0
