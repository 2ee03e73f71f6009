"""Nothing a student makes is lost, in real Chromium: a reload, a server restart, two desks and one class board."""

from __future__ import annotations

import tempfile

import pytest
from playwright.sync_api import expect

from explainer.store import RunStore
from tests.live_server import free_port, settle, streamlit_server, wait_idle
from tests.test_browser import browser  # noqa: F401 - the shared browser fixture

SOFTMAX = "train_kind=softmax&train_epochs=1&train_limit=500"


@pytest.fixture(scope="module")
def cache():
    with tempfile.TemporaryDirectory(prefix="explainer-desks-") as folder:
        yield folder


def server(cache: str, port: int):  # noqa: ANN201 - a context manager
    return streamlit_server(extra_env={"EXPLAINER_CACHE_DIR": cache, "EXPLAINER_TEACHER_CODE": "owl"}, port=port)


def open_page(page, url: str) -> None:  # noqa: ANN001
    page.goto(url)
    wait_idle(page)
    page.wait_for_timeout(800)  # the browser tells the page its desk: one more run
    wait_idle(page)


def train_softmax(page, url: str) -> None:  # noqa: ANN001
    open_page(page, f"{url}/train?{SOFTMAX}")
    page.locator(".st-key-train_start button").first.click()
    use = page.get_by_role("button", name="Use this model on every page")
    expect(use).to_be_visible(timeout=120_000)
    use.click()
    settle(page)


def sidebar(page) -> str:  # noqa: ANN001
    return page.locator("[data-testid='stSidebar']").inner_text()


def test_runs_and_the_chosen_model_survive_a_reload_and_a_restart_and_two_desks_share_one_board(browser, cache):  # noqa: F811
    port = free_port()
    alice = browser.new_context(viewport={"width": 1280, "height": 900})
    bob = browser.new_context(viewport={"width": 1280, "height": 900})
    a, b = alice.new_page(), bob.new_page()
    try:
        with server(cache, port) as url:
            train_softmax(a, url)
            assert "Trained or uploaded at your desk" in sidebar(a)
            a.reload()
            wait_idle(a)
            a.wait_for_timeout(800)
            settle(a)
            expect(a.get_by_text("Run #1 Softmax regression")).to_be_visible(timeout=30_000)
            assert "Trained or uploaded at your desk" in sidebar(a)  # the chosen model came back too

            open_page(b, f"{url}/train")
            expect(b.get_by_text("Choose the settings on the left and press Start")).to_be_visible()  # Bob's desk is empty
            open_page(b, f"{url}/board")
            b.get_by_role("textbox", name="Your desk's name on the board").fill("Bob <b>&</b>")
            b.get_by_role("textbox", name="Your desk's name on the board").press("Enter")
            settle(b)
            train_softmax(b, url)

        with server(cache, port) as url:  # a restart: a new process, the same folder and address
            open_page(a, f"{url}/train")
            expect(a.get_by_text("Run #1 Softmax regression")).to_be_visible(timeout=30_000)
            assert "Trained or uploaded at your desk" in sidebar(a)
            for page in (a, b):  # both desks see the same board: both runs, one point each
                open_page(page, f"{url}/board")
                expect(page.locator("[data-testid='stDataFrame']")).to_be_visible()
                expect(page.locator("[data-testid='stPlotlyChart'] .scatterlayer .point")).to_have_count(2, timeout=30_000)
            assert b.locator("[data-testid='stMain'] b:text-is('&')").count() == 0  # Bob's name is text, never HTML
        names = sorted(name for _, name in RunStore(folder=cache).board())
        assert names == ["", "Bob <b>&</b>"]  # Alice never named her desk
    finally:
        alice.close()
        bob.close()
