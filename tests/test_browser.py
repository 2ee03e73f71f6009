"""The real app in real Chromium: what AppTest cannot see (routing, rendering, the browser's view)."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

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
    """Regression: Streamlit used to run a page alone (no sidebar), or say "Page not found",
    when a link to it was the first request after the server started."""
    with streamlit_server() as url, chromium() as page:
        page.goto(f"{url}/activation")
        wait_idle(page)
        page.get_by_role("heading", name="ReLU and other activation functions").first.wait_for()
        page.wait_for_timeout(500)
        assert page.locator(EXCEPTION).count() == 0
        assert page.get_by_text("Page not found").count() == 0
        sidebar = page.locator("[data-testid='stSidebar']")
        assert sidebar.get_by_text("Language").count() == 1
        assert sidebar.get_by_text("Shipped with the app").count() == 1
        shot(page, "activation-direct-link")


def test_convolution_page_edits_a_cell_and_animates_in_the_browser():
    with streamlit_server() as url, chromium() as page:
        page.goto(f"{url}/convolution")
        wait_idle(page)
        page.get_by_text("Step 1 of 9").wait_for()
        assert page.locator(EXCEPTION).count() == 0
        # the grid editor: change input cell (row 1, column 2) from 3 to 9
        editor = page.locator("[data-testid='stDataFrame']").first
        editor.wait_for()
        cell_editor = page.locator(".gdg-input")
        for _ in range(10):  # the grid takes a moment to become interactive after it is drawn
            box = editor.bounding_box()
            page.mouse.dblclick(box["x"] + 157, box["y"] + 35 + 17)
            try:
                cell_editor.wait_for(timeout=2000)
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
                page.keyboard.press("Escape")
        assert cell_editor.input_value() == "3"
        cell_editor.fill("9")
        cell_editor.press("Enter")
        step_text = page.locator("[data-testid='stMarkdown']").filter(has_text="Step 1 of 9").first
        expect(step_text).to_contain_text("= 30", timeout=30_000)  # 24 + (9 − 3) · kernel weight 1
        wait_idle(page)
        # the Plotly animation runs in the browser: Play moves the figure's own step slider
        label = page.locator("[data-testid='stPlotlyChart'] g.slider-container text.slider-label").first
        assert label.text_content().strip().endswith("1")
        page.locator("[data-testid='stPlotlyChart'] g.updatemenu-button").first.click()
        page.wait_for_timeout(2500)
        assert not label.text_content().strip().endswith(" 1")
        assert page.locator(EXCEPTION).count() == 0
        shot(page, "convolution")


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
        expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(4, timeout=30_000)
        page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(state="attached")
        assert page.locator(EXCEPTION).count() == 0
        shot(page, "model-test-results")

        page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
        page.get_by_role("option", name="简体中文").click()
        wait_idle(page)
        page.get_by_role("heading", name="模型").first.wait_for()
        assert "lang=zh" in page.url
        assert page.locator(EXCEPTION).count() == 0
        shot(page, "model-zh")


def test_drawing_a_seven_on_the_canvas_gets_a_prediction():
    with streamlit_server() as url, chromium(viewport=(1440, 1400)) as page:
        page.goto(f"{url}/forward")
        wait_idle(page)
        page.get_by_text("Draw one").click()
        wait_idle(page)
        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for()
        expect(page.get_by_text("Draw a digit above")).to_be_visible()
        box = canvas.bounding_box()
        x0, y0 = box["x"], box["y"]
        page.mouse.move(x0 + 70, y0 + 60)
        page.mouse.down()
        for i in range(1, 11):  # the bar of a 7 ...
            page.mouse.move(x0 + 70 + i * 14, y0 + 60)
        for i in range(1, 16):  # ... and its stem
            page.mouse.move(x0 + 210 - i * 7, y0 + 60 + i * 11)
        page.mouse.up()
        prediction = page.locator("[data-testid='stMetric']").filter(has_text="Prediction").locator("[data-testid='stMetricValue']")
        expect(prediction).to_have_text("7", timeout=30_000)
        wait_idle(page)
        assert page.locator(EXCEPTION).count() == 0
        shot(page, "forward-drawn-seven")


@pytest.mark.parametrize("lang,heading,step_text", [("en", "Convolution, one window at a time", "Step 4 of 9"),
                                                    ("zh", "卷积：一次一个窗口", "第 4 步（共 9 步）")])
def test_a_prepared_link_opens_that_view_in_either_language(lang, heading, step_text):
    with streamlit_server() as url, chromium() as page:
        page.goto(f"{url}/convolution?lang={lang}&kernel=vertical_edge&step=4&present=1")
        wait_idle(page)
        page.get_by_role("heading", name=heading).first.wait_for()
        expect(page.get_by_text(step_text).first).to_be_visible()
        assert page.locator(EXCEPTION).count() == 0
        assert not page.locator("[data-testid='stSidebar']").is_visible()  # presenter mode
        # the vertical-edge kernel: -1 0 1 in its first row, drawn in the figure
        kernel = page.locator("[data-testid='stPlotlyChart']").first
        expect(kernel).to_contain_text("-2")
        page.get_by_role("button", name="Next" if lang == "en" else "下一步").click()
        wait_idle(page)
        expect(page.get_by_text(step_text.replace("4", "5", 1)).first).to_be_visible()
        assert "step=5" in page.url and f"lang={lang}" in page.url if lang == "zh" else "step=5" in page.url
        shot(page, f"convolution-link-{lang}")
