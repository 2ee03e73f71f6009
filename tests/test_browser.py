"""The real app in real Chromium: what AppTest cannot see (routing, rendering, the browser's view)."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.live_server import (
    CHROMIUM_ARGS,
    ROOT,
    chromium,
    chromium_executable,
    playwright_browser_available,
    streamlit_server,
    wait_idle,
)

reason = playwright_browser_available()
if reason is not None and os.environ.get("EXPLAINER_REQUIRE_BROWSER"):
    raise RuntimeError(f"browser tests are required here, but {reason}")
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")
ARTIFACTS = ROOT / "test-artifacts"
EXCEPTION = "[data-testid='stException']"


def shot(page, name: str) -> None:
    """Keep what the page looked like (test-artifacts/): the app scrolls inside, so grow the viewport first."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": max(800, min(int(height) + 80, 6000))})
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def app_url():
    """One app server for the tests below (starting one costs seconds); each test gets a fresh browser tab."""
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    yield context.new_page()
    context.close()


def visit(page, url: str) -> None:  # noqa: ANN001 - playwright Page
    page.goto(url)
    wait_idle(page)
    expect(page.locator("[data-testid='stMain'] h1").first).to_be_visible(timeout=60_000)


def no_exception(page) -> None:  # noqa: ANN001
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0


def charts_drawn(page, at_least: int = 1) -> None:  # noqa: ANN001
    """Plotly really drew: each visible chart has its SVG."""
    charts = page.locator("[data-testid='stPlotlyChart']:visible")
    expect(charts.nth(at_least - 1)).to_be_visible(timeout=30_000)  # the script may still be drawing the later ones
    for i in range(at_least):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached(timeout=30_000)


def test_a_direct_link_opened_first_on_a_fresh_server_gets_the_whole_app():
    """Regression: Streamlit used to run a page alone (no sidebar), or say "Page not found",
    when a link to it was the first request after the server started."""
    with streamlit_server() as url, chromium() as page:
        page.goto(f"{url}/activation")
        wait_idle(page)
        page.get_by_role("heading", name="ReLU and other activation functions").first.wait_for()
        # the page may first run alone and then again inside the navigation: wait for that run (a page
        # left alone never gets the app's sidebar, so this still fails on the bug)
        sidebar = page.locator("[data-testid='stSidebar']")
        expect(sidebar.get_by_text("Language")).to_have_count(1, timeout=30_000)
        expect(sidebar.get_by_text("Shipped with the app")).to_have_count(1, timeout=30_000)
        wait_idle(page)
        assert page.locator(EXCEPTION).count() == 0
        assert page.get_by_text("Page not found").count() == 0
        shot(page, "activation-direct-link")


def test_convolution_page_edits_a_cell_and_plays_one_counter(app_url, page):
    url = app_url
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
    # Play moves the one counter: the sentence, the slider and the address go on together, from the step shown
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Step 2 of 9").first).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text("Step 4 of 9").first).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    wait_idle(page)
    shown = int(re.search(r"Step (\d) of 9", page.locator("[data-testid='stMarkdown']").filter(has_text="of 9").first.inner_text())[1])
    assert shown >= 4
    expect(page).to_have_url(re.compile(rf"conv_step={shown}(&|$)"), timeout=30_000)
    slider = page.locator("[data-testid='stSlider']").filter(has_text="Step (1").get_by_role("slider")
    assert slider.input_value() == str(shown)
    assert page.locator(EXCEPTION).count() == 0
    shot(page, "convolution")


def test_home_model_page_and_language_switch(app_url, page):
    url = app_url
    page.goto(url)
    wait_idle(page)
    page.get_by_role("heading", name="How does a convolutional network see a digit?").wait_for()
    assert page.locator(EXCEPTION).count() == 0
    expect(page.get_by_text("52,138").first).to_be_visible(timeout=30_000)
    shot(page, "home-en")

    page.locator("[data-testid='stSidebarNav']").get_by_text("The model").click()
    wait_idle(page)
    page.locator("[data-testid='stButtonGroup']").get_by_text("Test results").click()
    expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(3, timeout=30_000)  # confusion, per class, mistakes
    expect(page).to_have_url(re.compile(r"model_tab=test"), timeout=30_000)
    page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(state="attached")
    assert page.locator(EXCEPTION).count() == 0
    shot(page, "model-test-results")

    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
    page.get_by_role("option", name="简体中文").click()
    wait_idle(page)
    page.get_by_role("heading", name="模型").first.wait_for()
    assert "lang=zh" in page.url and "model_tab=test" in page.url
    # the view kept its place across the language switch (bug: st.tabs went back to the first tab)
    expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(3, timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
    shot(page, "model-zh")


def draw_a_seven(page) -> None:  # noqa: ANN001
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for()
    expect(page.get_by_text("Draw a digit above")).to_be_visible(timeout=30_000)
    box = canvas.bounding_box()
    x0, y0, u = box["x"], box["y"], box["width"] / 280  # drawn for a 280 px canvas, scaled to this one
    page.mouse.move(x0 + 70 * u, y0 + 60 * u)
    page.mouse.down()
    for i in range(1, 11):  # the bar of a 7 ...
        page.mouse.move(x0 + (70 + i * 14) * u, y0 + 60 * u)
    for i in range(1, 16):  # ... and its stem
        page.mouse.move(x0 + (210 - i * 7) * u, y0 + (60 + i * 11) * u)
    page.mouse.up()


def test_drawing_a_seven_on_the_canvas_gets_a_prediction(app_url, page):
    url = app_url
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(f"{url}/forward")
    wait_idle(page)
    page.get_by_text("Draw one").click()
    wait_idle(page)
    draw_a_seven(page)
    prediction = page.locator("[data-testid='stMetric']").filter(has_text="Prediction").locator("[data-testid='stMetricValue']")
    expect(prediction).to_have_text("7", timeout=30_000)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    shot(page, "forward-drawn-seven")


@pytest.mark.parametrize("lang,heading,step_text", [("en", "Convolution, one window at a time", "Step 4 of 9"),
                                                    ("zh", "卷积：一次一个窗口", "第 4 步（共 9 步）")])
def test_a_prepared_link_opens_that_view_in_either_language(app_url, page, lang, heading, step_text):
    url = app_url
    page.goto(f"{url}/convolution?lang={lang}&conv_kernel_preset=vertical_edge&conv_step=4&present=true")
    wait_idle(page)
    page.get_by_role("heading", name=heading).first.wait_for()
    expect(page.get_by_text(step_text).first).to_be_visible(timeout=30_000)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.locator("[data-testid='stSidebar']")).to_be_hidden(timeout=30_000)  # presenter mode
    # the vertical-edge kernel: -1 0 1 in its first row, drawn in the figure
    kernel = page.locator("[data-testid='stPlotlyChart']").first
    expect(kernel).to_contain_text("-2", timeout=30_000)
    page.get_by_role("button", name="Next" if lang == "en" else "下一步").click()
    expect(page.get_by_text(step_text.replace("4", "5", 1)).first).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"[?&]conv_step=5(&|$)"), timeout=30_000)  # the address follows the view
    if lang == "zh":
        assert "lang=zh" in page.url
    shot(page, f"convolution-link-{lang}")


# --- every page: load it, do its main thing, see the result, no exception, keep a screenshot ---------


def test_home_opens_a_prepared_lesson_stop(app_url, page):
    visit(page, app_url)
    stop = page.locator("a[href*='convolution?conv_kernel_preset=vertical_edge']").first  # stop 2: the convolution
    expect(stop).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)  # the lesson's cards settle
    stop.click()
    expect(page.get_by_text("Step 4 of 9").first).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile("conv_kernel_preset=vertical_edge"), timeout=30_000)
    no_exception(page)


def test_activation_page_switches_the_function(app_url, page):
    visit(page, f"{app_url}/activation")
    charts_drawn(page, 3)
    page.locator("[data-testid='stSelectbox']").filter(has_text="Activation function").click()
    page.get_by_role("option", name="Sigmoid").click()
    expect(page.get_by_text("Sigmoid bends every number").first).to_be_visible(timeout=30_000)
    no_exception(page)
    shot(page, "activation")


def test_pooling_page_steps(app_url, page):
    visit(page, f"{app_url}/pooling")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Step 2 of").first).to_be_visible(timeout=30_000)
    charts_drawn(page)
    no_exception(page)
    shot(page, "pooling")


def test_fully_connected_page_explains_another_neuron(app_url, page):
    visit(page, f"{app_url}/fully_connected")
    page.locator("[data-testid='stRadio']").filter(has_text="y2").get_by_text("y2").click()
    expect(page.get_by_text("y2 =").first).to_be_visible(timeout=30_000)
    charts_drawn(page, 2)
    no_exception(page)
    shot(page, "fully-connected")


def test_softmax_page_shows_why_the_shift_matters(app_url, page):
    visit(page, f"{app_url}/softmax?softmax_preset=huge")
    charts_drawn(page)
    expect(page.get_by_text("overflows to ∞").first).to_be_visible(timeout=30_000)
    no_exception(page)
    shot(page, "softmax")


def test_forward_page_steps_through_a_test_digit(app_url, page):
    visit(page, f"{app_url}/forward?digit=42")
    for n, name in enumerate(["conv1", "relu1", "pool1", "conv2"], start=2):
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_role("heading", name=f"{n}/12 · {name}")).to_be_visible(timeout=30_000)
        expect(page).to_have_url(re.compile(rf"fwd_step={name}(&|$)"), timeout=30_000)
    charts_drawn(page, 2)
    no_exception(page)
    shot(page, "forward-conv2")


def test_descent_page_shows_a_learning_rate_that_is_too_large(app_url, page):
    visit(page, f"{app_url}/descent")
    page.get_by_role("button", name="Too large").click()
    wait_idle(page)
    expect(page.locator("[data-testid='stAlertContentWarning']").first).to_be_visible(timeout=30_000)
    charts_drawn(page, 3)
    no_exception(page)
    shot(page, "descent")


def test_training_page_trains_one_small_epoch(app_url, page):
    visit(page, f"{app_url}/train?train_limit=250&train_epochs=1")
    page.get_by_role("button", name="Start").click()
    use = page.locator("[data-testid='stBaseButton-primary']").filter(has_text="Use this model on every page")
    expect(use).to_be_visible(timeout=120_000)
    charts_drawn(page, 3)  # live curves, confusion matrix, accuracy per class
    no_exception(page)
    shot(page, "train")


def test_landscape_slider_moves_the_model(app_url, page):
    visit(page, f"{app_url}/landscape?ld_grid=11&ld_batch=64")
    charts_drawn(page, 2)
    loss = page.locator("[data-testid='stMetric']").filter(has_text="Loss").locator("[data-testid='stMetricValue']").first
    before = loss.text_content()
    thumb = page.locator("[data-testid='stSlider']").filter(has_text="α").get_by_role("slider")
    thumb.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    expect(loss).not_to_have_text(before, timeout=30_000)
    no_exception(page)
    shot(page, "landscape")


def test_saliency_page_draws_maps_and_adds_a_method(app_url, page):
    visit(page, f"{app_url}/saliency?digit=7&sal_methods=saliency,occlusion")
    charts_drawn(page, 2)
    page.locator("[data-testid='stButtonGroup']").get_by_text("Integrated Gradients").click()
    wait_idle(page)
    expect(page.get_by_text("δ").first).to_be_visible(timeout=30_000)  # IG's convergence delta
    no_exception(page)
    shot(page, "saliency")


def test_every_chart_keeps_its_download_as_png_button(app_url, page):
    visit(page, f"{app_url}/model?model_tab=test")
    chart = page.locator("[data-testid='stPlotlyChart']:visible").first
    chart.hover()
    expect(chart.locator(".modebar-btn[data-title='Download plot as a PNG']")).to_be_attached(timeout=10_000)


@pytest.mark.parametrize("path", ["saliency?digit=3&present=true", "descent?present=true"])
def test_pages_in_chinese_render_their_glyphs(app_url, page, path):
    visit(page, f"{app_url}/{path}&lang=zh")
    charts_drawn(page)
    assert page.locator("[data-testid='stMain'] h1").first.text_content().strip()[0] >= "\u4e00"
    no_exception(page)
    shot(page, "zh-" + path.split("?")[0])
