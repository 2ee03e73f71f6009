"""Training a class can watch, in real Chromium: the kernels change live, pause, one step by hand, resume, scrub the replay."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.live_server import settle, wait_idle
from tests.test_browser import app_url, browser, page, shot  # noqa: F401 - shared fixtures

INSIDES = ".ti-root"
KERNELS = "root => [...root.querySelectorAll('.ti-kernels canvas')].map(c => c.toDataURL()).join('|')"


def kernels(page) -> str:  # noqa: ANN001 - the component draws in its own (shadow) root: reach it through the locator
    return insides(page).evaluate(KERNELS)


def wait_until(page, condition, timeout_ms: int = 30_000) -> None:  # noqa: ANN001
    for _ in range(timeout_ms // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the page did not get there in time")


def insides(page):  # noqa: ANN001, ANN201
    return page.locator(INSIDES).first


def step_shown(page) -> int:  # noqa: ANN001
    return int(insides(page).get_attribute("data-step"))


def test_watch_pause_step_resume_and_scrub(app_url, page):  # noqa: F811
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{app_url}/train?train_pace=watch&train_delay=0.1&train_limit=1000&train_epochs=1")
    wait_idle(page)
    page.locator(".st-key-train_start button").first.click()
    expect(page.locator(f"{INSIDES}[data-mode='live']")).to_be_attached(timeout=30_000)
    wait_until(page, lambda: step_shown(page) >= 2)
    first_kernels, first_step = kernels(page), step_shown(page)
    page.wait_for_timeout(1500)  # watching: a batch every 0.1 s, the picture redrawn four times a second
    assert step_shown(page) > first_step
    assert kernels(page) != first_kernels, "the kernels did not change while the network learned"

    page.locator(".st-key-train_pause button").first.click()
    expect(page.locator(f"{INSIDES}[data-mode='replay']")).to_be_attached(timeout=30_000)
    settle(page)
    paused_at = step_shown(page)
    assert "Paused" in page.locator("[data-testid='stProgress']").first.inner_text()

    page.locator(".st-key-train_step button").first.click()
    # the stepped weight's line (the Step button's tooltip, still under the mouse, also mentions "one weight")
    expect(page.get_by_text(re.compile(r"^One weight"))).to_be_visible(timeout=30_000)
    settle(page)
    assert step_shown(page) == paused_at + 1  # the replay ends at the batch just stepped
    expect(page.get_by_text(f"Batch {paused_at + 1} of 32, epoch 1")).to_be_visible()
    shot(page, "train-stepped")

    last_kernels = kernels(page)
    page.locator(".ti-range").first.evaluate("r => { r.value = 0; r.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert step_shown(page) == 0  # scrubbed back to the untrained network, in the browser
    assert kernels(page) != last_kernels

    page.locator(".st-key-train_resume button").first.click()
    expect(page.get_by_role("button", name="Use this model on every page")).to_be_visible(timeout=120_000)
    settle(page)
    assert insides(page).get_attribute("data-mode") == "replay" and step_shown(page) == 32
    page.locator(".ti-play").click()  # Play replays the run from its start, in the browser
    wait_until(page, lambda: insides(page).get_attribute("data-playing") == "true", 5_000)
    page.wait_for_timeout(600)
    assert 0 < step_shown(page) < 32
    shot(page, "train-replay")
