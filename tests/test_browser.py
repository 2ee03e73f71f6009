"""The real app in real Chromium: what AppTest cannot see (routing, rendering, the browser's view)."""

from __future__ import annotations

import os

import pytest

from tests.live_server import ROOT, chromium, playwright_browser_available, streamlit_server, wait_idle

reason = playwright_browser_available()
if reason is not None and os.environ.get("EXPLAINER_REQUIRE_BROWSER"):
    raise RuntimeError(f"browser tests are required here, but {reason}")
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")
ARTIFACTS = ROOT / "test-artifacts"
EXCEPTION = "[data-testid='stException']"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_direct_link_opened_first_on_a_fresh_server_gets_the_whole_app():
    """Regression: Streamlit used to run /model alone (no sidebar) when it was the first request."""
    with streamlit_server() as url, chromium() as page:
        page.goto(f"{url}/model")
        wait_idle(page)
        page.get_by_role("heading", name="The model").first.wait_for()
        assert page.locator(EXCEPTION).count() == 0
        sidebar = page.locator("[data-testid='stSidebar']")
        assert sidebar.get_by_text("Language").count() == 1
        assert sidebar.get_by_text("Shipped with the app").count() == 1
        shot(page, "model-direct-link")


def test_home_model_page_and_language_switch():
    with streamlit_server() as url, chromium() as page:
        page.goto(url)
        wait_idle(page)
        page.get_by_role("heading", name="How does a convolutional network see a digit?").wait_for()
        assert page.locator(EXCEPTION).count() == 0
        assert page.get_by_text("52,138").count() >= 1
        shot(page, "home-en")

        page.locator("[data-testid='stSidebarNav']").get_by_text("The model").click()
        wait_idle(page)
        page.get_by_role("tab", name="Test results").click()
        page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(state="attached")
        assert page.locator("[data-testid='stPlotlyChart']").count() == 4
        assert page.locator(EXCEPTION).count() == 0
        shot(page, "model-test-results")

        page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").click()
        page.get_by_role("option", name="简体中文").click()
        wait_idle(page)
        page.get_by_role("heading", name="模型").first.wait_for()
        assert "lang=zh" in page.url
        assert page.locator(EXCEPTION).count() == 0
        shot(page, "model-zh")
