"""The lesson and the address in real Chromium, one tab, at a projector's 1280×720.

The ten stops of the home page's lesson are followed by clicking them, in order, in reverse
order, and in order again after the class changed the convolution's kernel and ReLU's shift
by hand; at each stop the state its question needs is on the screen. The address follows every
kind of widget, a reload brings the view back, and the forward pass in drawing mode moves the
stage, the slider and the address together on every click.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from explainer.lesson import LESSON
from tests.test_browser import app_url, browser, shot  # noqa: F401 - fixtures shared with the page tests
from tests.live_server import settle

pytestmark = pytest.mark.skipif(not LESSON, reason="no lesson")


@pytest.fixture()
def tab(browser):  # noqa: F811 - the shared fixture
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context.new_page()
    context.close()



def main_text(page) -> str:  # noqa: ANN001
    return page.locator("[data-testid='stMain']").inner_text()


def to_home(page) -> None:  # noqa: ANN001
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Start here").click()
    page.get_by_role("heading", name="How does a convolutional network see a digit?").wait_for(timeout=60_000)
    settle(page)


def open_stop(page, number: int) -> None:  # noqa: ANN001
    """Click "Open this stop" of stop ``number`` (1–10) on the home page."""
    to_home(page)
    link = page.locator("[data-testid='stPageLink'] a").filter(has_text="Open this stop").nth(number - 1)
    link.scroll_into_view_if_needed()
    link.click()
    page.wait_for_timeout(500)
    settle(page)


def step_sentence(page, of: str) -> str:  # noqa: ANN001
    sentence = page.locator("[data-testid='stMarkdown']").filter(has_text=f" of {of}").first
    expect(sentence).to_be_visible(timeout=30_000)
    return sentence.inner_text()


def check_stop(page, key: str, drew: bool) -> None:  # noqa: ANN001
    """What the stop's question needs, as the class sees it."""
    if key == "model":
        expect(page.get_by_text("[1, 10]").first).to_be_attached(timeout=30_000)  # a data grid draws on a canvas
    elif key == "conv":
        assert "Step 4 of 9" in step_sentence(page, "9")
    elif key == "relu":
        expect(page.get_by_text("ReLU switched off").first).to_be_visible(timeout=30_000)
        zeroed = re.search(r"switched off (\d+) of the (\d+)", main_text(page))
        assert zeroed and 0 < int(zeroed[1]) < int(zeroed[2])  # some numbers switched off, some not
    elif key == "pool":
        sentence = step_sentence(page, "4")
        assert "Step 1 of 4" in sentence and not sentence.rstrip().endswith("−∞")
        assert float(sentence.rsplit("=", 1)[1]) > 0  # the first window keeps a real number
    elif key == "fc":
        line = page.locator("[data-testid='stMarkdown']").filter(has_text="y1 =").first
        expect(line).to_be_visible(timeout=30_000)
        assert float(line.inner_text().rsplit("=", 1)[1]) != 0
    elif key == "softmax":
        expect(page.get_by_text("overflows to ∞").first).to_be_visible(timeout=30_000)
    elif key == "forward":
        expect(page.get_by_role("heading", name="2/12 · conv1")).to_be_visible(timeout=30_000)
        expect(page.locator("canvas.upper-canvas").first).to_be_visible(timeout=30_000)
    elif key == "descent":
        expect(page.get_by_text("the slope is negative").first).to_be_visible(timeout=30_000)
    elif key == "train":
        expect(page.get_by_role("button", name="Start")).to_be_enabled(timeout=30_000)
        expect(page.locator("[data-testid='stMain'] input[aria-label='Model']")).to_have_value("Softmax regression")
    elif key == "saliency":
        if drew:  # the digit drawn at the forward-pass stop, explained by four methods
            expect(page.locator("[data-testid='stPlotlyChart']:visible").nth(1)).to_be_visible(timeout=60_000)
            assert page.get_by_role("heading", name=re.compile("Why did it say")).count()
        else:
            expect(page.get_by_text("Draw a digit above").first).to_be_visible(timeout=30_000)


def draw_a_seven(page) -> None:  # noqa: ANN001
    from tests.test_browser import draw_a_seven as draw

    draw(page)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Prediction")).to_be_visible(timeout=30_000)
    settle(page)


def play_around(page) -> None:  # noqa: ANN001
    """Another kernel on the convolution page and another shift on ReLU's, by hand."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Convolution").click()
    settle(page)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Start from").nth(1).click()
    page.get_by_role("option", name=re.compile("Sharpen")).click()
    settle(page)
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="ReLU").click()
    settle(page)
    page.get_by_text("My own numbers").click()
    settle(page)
    thumb = page.locator("[data-testid='stSlider']").filter(has_text="Add to every number").get_by_role("slider")
    thumb.focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    settle(page)


@pytest.mark.parametrize("order", ["in order", "in reverse", "after playing around"])
def test_the_lesson_followed_in_one_tab(app_url, tab, order):  # noqa: F811
    tab.goto(app_url)
    settle(tab)
    numbers = list(range(1, len(LESSON) + 1))
    if order == "in reverse":
        numbers.reverse()
    drew = False
    if order == "after playing around":
        play_around(tab)  # once, before the lesson: the stops must not inherit it
    for number in numbers:
        stop = LESSON[number - 1]
        open_stop(tab, number)
        check_stop(tab, stop.key, drew)
        if stop.key == "forward":
            draw_a_seven(tab)
            drew = True
        shot(tab, f"lesson-{order.replace(' ', '-')}-{number:02d}-{stop.key}")


def test_the_forward_pass_in_drawing_mode_moves_stage_slider_and_address_together(app_url, tab):  # noqa: F811
    tab.goto(app_url)
    settle(tab)
    open_stop(tab, next(i for i, s in enumerate(LESSON, start=1) if s.key == "forward"))
    draw_a_seven(tab)
    slider = tab.locator("[data-testid='stSlider']").filter(has_text="Stage").get_by_role("slider")
    for n, name in enumerate(["relu1", "pool1", "conv2", "relu2"], start=3):
        tab.get_by_role("button", name="Next").click()
        expect(tab.get_by_role("heading", name=f"{n}/12 · {name}")).to_be_visible(timeout=30_000)
        expect(tab).to_have_url(re.compile(rf"fwd_step={name}(&|$)"), timeout=30_000)
        expect(slider).to_have_attribute("aria-valuetext", name, timeout=30_000)
    tab.get_by_role("button", name="Previous").click()
    expect(tab.get_by_role("heading", name="5/12 · conv2")).to_be_visible(timeout=30_000)
    expect(tab).to_have_url(re.compile(r"fwd_step=conv2(&|$)"), timeout=30_000)
    shot(tab, "forward-drawn-stepping")


def test_the_address_follows_every_kind_of_widget_and_a_reload_brings_the_view_back(app_url, tab):  # noqa: F811
    tab.goto(f"{app_url}/convolution")
    settle(tab)
    size = tab.locator("[data-testid='stSlider']").filter(has_text="Input size").get_by_role("slider")
    size.focus()
    tab.keyboard.press("ArrowRight")
    expect(tab).to_have_url(re.compile(r"conv_input_size=6"), timeout=30_000)  # a slider
    settle(tab)
    tab.locator("[data-testid='stNumberInput']").filter(has_text="Stride").locator("button").last.click()
    expect(tab).to_have_url(re.compile(r"conv_stride=2"), timeout=30_000)  # a number input
    settle(tab)
    tab.locator("[data-testid='stSelectbox']").filter(has_text="Start from").nth(1).click()
    tab.get_by_role("option", name=re.compile("Box blur")).click()
    expect(tab).to_have_url(re.compile(r"conv_kernel_preset=box_blur"), timeout=30_000)  # an option, by its name
    settle(tab)
    tab.reload()
    settle(tab)
    assert "conv_input_size=6" in tab.url and "conv_stride=2" in tab.url and "conv_kernel_preset=box_blur" in tab.url
    assert tab.locator("[data-testid='stSlider']").filter(has_text="Input size").get_by_role("slider").input_value() == "6"

    tab.goto(f"{app_url}/softmax")
    settle(tab)
    temperature = tab.locator("[data-testid='stSlider']").filter(has_text="Temperature").get_by_role("slider")
    temperature.focus()
    tab.keyboard.press("ArrowRight")
    expect(tab).to_have_url(re.compile(r"softmax_temperature=2"), timeout=30_000)  # a select slider
    settle(tab)
    logits = tab.locator("[data-testid='stTextInput'] input").first
    logits.fill("3 1 0.5")
    logits.press("Enter")
    expect(tab).to_have_url(re.compile(r"softmax_logits=3"), timeout=30_000)  # a text input
    settle(tab)
    tab.get_by_text("Presenter mode").click()
    expect(tab).to_have_url(re.compile(r"present=true"), timeout=30_000)  # a toggle
    settle(tab)
    expect(tab.locator("[data-testid='stSidebar']")).to_be_hidden(timeout=30_000)


def test_a_bad_link_gets_a_note_that_names_the_setting_and_nothing_breaks(app_url, tab):  # noqa: F811
    tab.goto(f"{app_url}/convolution?conv_stride=1e999&conv_step=3&conv_kernel_preset=nonsense&whatever=1")
    settle(tab)
    note = tab.locator("[data-testid='stAlertContentInfo']").filter(has_text="link").first
    expect(note).to_contain_text("conv_stride", timeout=30_000)
    expect(note).to_contain_text("conv_kernel_preset")
    assert "whatever" not in note.inner_text()
    assert "Step 3 of" in step_sentence(tab, "9")
    assert "whatever" not in tab.url and "1e999" not in tab.url
