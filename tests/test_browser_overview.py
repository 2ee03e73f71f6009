"""The overview in real Chromium: drawn by the browser, hovered, clicked, in both languages and on a projector."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.live_server import settle
from tests.test_browser import app_url, browser, draw_a_seven, page, shot  # noqa: F401 - shared fixtures

SMALLEST_TEXT = """(root) => {
  let min = Infinity, text = "";
  root.querySelectorAll("*").forEach(e => {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || e.getBoundingClientRect().width === 0 || getComputedStyle(e).display === "none") return;
    const px = parseFloat(getComputedStyle(e).fontSize);
    if (px < min) { min = px; text = e.textContent.slice(0, 30); }
  });
  return [min, text];
}"""



def open_overview(page, url: str, query: str) -> None:  # noqa: ANN001
    page.goto(f"{url}/overview?{query}")
    settle(page)
    expect(page.locator(".ov-root")).to_have_attribute("data-columns", "12", timeout=60_000)


def click_pixel(page, unit: str, row: int, col: int, side: int) -> None:  # noqa: ANN001
    """Click pixel (row, col), counted from 1, of map ``unit`` (``conv2:5``), a map of ``side``×``side``."""
    box = page.locator(f"canvas[data-unit='{unit}']").bounding_box()
    page.mouse.click(box["x"] + (col - 0.5) * box["width"] / side, box["y"] + (row - 0.5) * box["height"] / side)


def checked_values(page) -> tuple[float, float]:  # noqa: ANN001
    line = page.locator("[data-testid='stAlertContentSuccess']").first
    expect(line).to_be_visible(timeout=30_000)
    here, net = re.findall(r"(-?\d+(?:\.\d+)?)", line.inner_text())[:2]
    return float(here), float(net)


def test_hovering_a_map_lights_what_feeds_it_and_clicking_a_pixel_opens_its_computation(app_url, page):  # noqa: F811
    page.set_viewport_size({"width": 1440, "height": 1000})
    open_overview(page, app_url, "digit=5")
    root = page.locator(".ov-root")
    assert int(root.get_attribute("data-links")) > 300  # the connections between the columns are drawn
    page.locator("canvas[data-unit='conv2:5']").hover()
    expect(page.locator(".ov-link.ov-lit")).to_have_count(8)  # conv2 reads every one of pool1's 8 maps
    expect(page.locator("canvas.ov-lit[data-unit^='pool1:']")).to_have_count(8)
    page.locator("canvas[data-unit='pool2:3']").hover()
    expect(page.locator(".ov-link.ov-lit")).to_have_count(1)  # pooling reads one map: relu2's third
    expect(page.locator("canvas.ov-lit[data-unit='relu2:3']")).to_have_count(1)
    expect(page.locator(".ov-tip")).to_contain_text("pool2 · map 3 · row")  # the value under the pointer

    click_pixel(page, "conv2:5", 7, 7, 14)
    expect(page).to_have_url(re.compile(r"[?&]unit=conv2%3A5%3A7%3A7(&|$)"), timeout=30_000)
    expect(page.get_by_role("heading", name="How conv2 · map 5 · row 7, column 7 was computed")).to_be_visible(timeout=30_000)
    settle(page)
    expect(page.get_by_text("Input map 1 of 8").first).to_be_visible()
    expect(page.locator(".ov-window")).to_have_count(8)  # the 3×3 window it reads, on each of pool1's maps
    page.locator(".st-key-ov_step_slider, [data-testid='stSlider']").first.wait_for()
    for _ in range(8):
        page.get_by_role("button", name="Next").click()
        settle(page)
    here, net = checked_values(page)
    assert here == pytest.approx(net, abs=1e-3) and "ov_step=9" in page.url
    shot(page, "overview-conv2-unit")

    page.locator(".ov-unit[data-unit='softmax:8']").click()  # the class 7
    expect(page.get_by_role("heading", name="How softmax · class 7 was computed")).to_be_visible(timeout=30_000)
    settle(page)
    here, net = checked_values(page)
    assert here == pytest.approx(net, abs=1e-3) and net > 0.9


def test_a_drawn_digit_gets_the_whole_network(app_url, page):  # noqa: F811
    page.set_viewport_size({"width": 1440, "height": 1200})
    page.goto(f"{app_url}/overview?digit_mode=draw")
    settle(page)
    draw_a_seven(page)
    expect(page.locator(".ov-root")).to_have_attribute("data-columns", "12", timeout=60_000)
    expect(page.get_by_text("the network says 7")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("your drawing")).to_be_visible()
    settle(page)
    shot(page, "overview-drawn-seven")


@pytest.mark.parametrize("lang,heading", [("en", "How conv2 · map 7 · row 6, column 7 was computed"),
                                          ("zh", "conv2 · 第 7 张特征图 · 第 6 行第 7 列 是怎么算出来的")])
def test_on_a_projector_the_overview_fits_the_screen_in_large_type(app_url, page, lang, heading):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 720})
    open_overview(page, app_url, f"digit=5&unit=conv2:7:6:7&present=true&lang={lang}")
    expect(page.locator("[data-testid='stSidebar']")).to_be_hidden(timeout=30_000)
    root = page.locator(".ov-root")
    box = root.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    assert box["y"] + box["height"] <= 720 + 1, f"the overview ends below the first screen ({box['y'] + box['height']:.0f} px)"
    smallest, text = root.evaluate(SMALLEST_TEXT)
    assert smallest >= 18, f"{text!r} is {smallest:.1f} px"
    expect(page.get_by_role("heading", name=heading)).to_be_attached()
    page.screenshot(path=str(shot.__globals__["ARTIFACTS"] / f"overview-present-{lang}.png"))
