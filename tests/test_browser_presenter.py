"""Presenter mode on a real projector's screens (1280×720, 1920×1080), in real Chromium.

The lesson is presented the way a teacher does it: "Present the lesson" on the home page, then
the clicker. At every stop the figure the stop is about starts on the first screen and fits its
width, and no text in it is smaller than 18 px; PageDown / PageUp step through a page and on to
the next stop; nothing leaves the machine while the app is used.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from explainer.lesson import LESSON
from tests.live_server import settle
from tests.test_browser import app_url, browser, shot  # noqa: F401 - fixtures shared with the page tests

MIN_PRESENTER_FONT = 18.0
MIN_FONT = 12.0
# What each stop is about: the element, and whether it is a Plotly chart (whose text is measured).
MAIN = {
    "model": ("[data-testid='stDataFrame']", False),
    "conv": ("[data-testid='stPlotlyChart']", True),
    "relu": ("[data-testid='stPlotlyChart']", True),
    "pool": ("[data-testid='stPlotlyChart']", True),
    "fc": ("[data-testid='stPlotlyChart']", True),
    "softmax": ("[data-testid='stPlotlyChart']", True),
    "overview": (".ov-root", False),
    "forward": (".st-key-fwd_stage [data-testid='stPlotlyChart']", True),
    "descent": ("[data-testid='stPlotlyChart']", True),
    "train": ("[data-testid='stBaseButton-primary']", False),
    "saliency": (".st-key-sal_maps_view [data-testid='stPlotlyChart']", True),
    "board": ("[data-testid='stPlotlyChart'], [data-testid='stAlert']", False),
}
SMALLEST_TEXT = """(chart) => {
  let min = Infinity, text = "";
  chart.querySelectorAll("svg text").forEach(t => {
    if (!t.textContent.trim() || t.getBoundingClientRect().width === 0) return;
    const ctm = t.getScreenCTM();  // the text's own transforms too: Plotly shrinks a label that does not fit
    const px = parseFloat(getComputedStyle(t).fontSize) * (ctm ? Math.hypot(ctm.a, ctm.b) : 1);
    if (px < min) { min = px; text = t.textContent.slice(0, 30); }
  });
  return [min, text];
}"""



LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")


@pytest.fixture(params=[(1280, 720), (1920, 1080)], ids=["1280x720", "1920x1080"])
def projector(browser, request):  # noqa: F811 - the shared fixture
    """A tab at a projector's size, its network cut to loopback: a request elsewhere is refused and counted."""
    context = browser.new_context(viewport={"width": request.param[0], "height": request.param[1]})
    outside: list[str] = []

    def guard(route) -> None:  # noqa: ANN001
        if LOCAL.match(route.request.url) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.outside = outside
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.failed = failed
    yield page
    context.close()


def present_the_lesson(page, url: str) -> None:  # noqa: ANN001
    page.goto(url)
    settle(page)
    page.get_by_role("button", name=re.compile("Present the lesson")).click()
    expect(page.get_by_text("Stop 1 of 12")).to_be_visible(timeout=60_000)
    settle(page)


def check_main_element(page, key: str, name: str) -> None:  # noqa: ANN001
    selector, chart = MAIN[key]
    element = page.locator(selector).first
    expect(element).to_be_visible(timeout=60_000)
    if chart:
        element.locator(".main-svg").first.wait_for(state="attached", timeout=60_000)
        page.wait_for_timeout(600)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    box = element.bounding_box()
    assert box["y"] < height - 40, f"{name}: the figure starts below the first screen ({box['y']:.0f} px)"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, f"{name}: the figure is wider than the screen"
    if chart:
        smallest, text = element.evaluate(SMALLEST_TEXT)
        assert smallest >= MIN_PRESENTER_FONT, f"{name}: {text!r} is {smallest:.1f} px"


def draw_a_seven(page) -> None:  # noqa: ANN001
    from tests.test_browser import draw_a_seven as draw

    draw(page)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Prediction")).to_be_visible(timeout=30_000)
    settle(page)


def test_every_stop_of_the_presented_lesson_shows_its_figure_on_the_first_screen_in_large_type(app_url, projector):  # noqa: F811
    """... and nothing leaves the machine on the way (the tab's icon used to come from the internet)."""
    page = projector
    present_the_lesson(page, app_url)
    assert not page.locator("[data-testid='stSidebar']").is_visible()
    size = f"{page.viewport_size['width']}x{page.viewport_size['height']}"
    for number, stop in enumerate(LESSON, start=1):
        expect(page.get_by_text(f"Stop {number} of 12")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Ask the class:").first).to_be_visible()
        if stop.key == "forward":
            draw_a_seven(page)  # the class draws; then the maps of conv1 are the picture of this stop
        check_main_element(page, stop.key, f"stop {number} ({stop.key}) at {size}")
        shot(page, f"presenter-{size}-{number:02d}-{stop.key}")
        if number < len(LESSON):
            page.get_by_role("button", name="Next stop").click()
            page.wait_for_timeout(800)
            settle(page)
    assert page.outside == [] and page.failed == [], (page.outside, page.failed)


def test_a_clicker_steps_through_a_page_and_on_to_the_next_stop(app_url, projector):  # noqa: F811
    page = projector
    present_the_lesson(page, app_url)
    page.get_by_role("button", name="Next stop").click()  # stop 2: the convolution, at step 4 of 9
    expect(page.get_by_text("Step 4 of 9").first).to_be_visible(timeout=60_000)
    settle(page)
    for step in range(5, 10):
        page.keyboard.press("PageDown")
        expect(page.get_by_text(f"Step {step} of 9").first).to_be_visible(timeout=30_000)
        settle(page)
    page.keyboard.press("ArrowLeft")  # the clicker's other key
    expect(page.get_by_text("Step 8 of 9").first).to_be_visible(timeout=30_000)
    settle(page)
    page.keyboard.press("PageDown")
    expect(page.get_by_text("Step 9 of 9").first).to_be_visible(timeout=30_000)
    settle(page)
    page.keyboard.press("PageDown")  # the last step: on to the next stop
    expect(page.get_by_text("Stop 3 of 12")).to_be_visible(timeout=60_000)
    expect(page).to_have_url(re.compile(r"/activation\?.*lesson=3"), timeout=30_000)
    settle(page)
    page.keyboard.press("PageUp")  # a page without steps: back to the previous stop, as it was prepared
    expect(page.get_by_text("Stop 2 of 12")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Step 4 of 9").first).to_be_visible(timeout=60_000)
    shot(page, "presenter-clicker")


@pytest.mark.parametrize("path", ["convolution", "activation", "pooling", "fully_connected", "softmax", "forward?digit=3&fwd_step=conv1",
                                  "model?model_tab=test", "descent", "landscape?ld_grid=11&ld_batch=64", "saliency?digit=3"])
def test_no_text_in_a_figure_is_smaller_than_12_px(app_url, browser, path):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{path}")
        settle(page)
        charts = page.locator("[data-testid='stPlotlyChart']")
        expect(charts.first.locator(".main-svg").first).to_be_attached(timeout=60_000)
        page.wait_for_timeout(800)
        for i in range(charts.count()):
            smallest, text = charts.nth(i).evaluate(SMALLEST_TEXT)
            assert smallest >= MIN_FONT, f"{path}, chart {i}: {text!r} is {smallest:.1f} px"
    finally:
        context.close()
