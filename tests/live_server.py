"""Start the real app with ``streamlit run`` and drive it with Chromium (Playwright).

Shared by the browser tests and the cold-start benchmark. The browser is the system
Chromium (``$CHROMIUM``, ``/usr/bin/chromium`` ...) or Playwright's own download.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_executable() -> str | None:
    """A Chromium to launch: ``$CHROMIUM``, a system one, or None to let Playwright use its own."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def playwright_browser_available() -> str | None:
    """None when a browser can be launched, else the reason it cannot."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if chromium_executable():
        return None
    with sync_playwright() as p:
        if Path(p.chromium.executable_path).exists():
            return None
    return "no Chromium found: install the chromium package or run `python -m playwright install chromium`"


@contextmanager
def streamlit_server(
    extra_env: dict[str, str] | None = None, timeout: float = 60.0, script: Path = ROOT / "streamlit_app.py",
    extra_args: list[str] | None = None, log_path: Path | None = None, port: int | None = None,
) -> Iterator[str]:
    """Run ``streamlit run <script>`` (the app by default) on a free loopback port; yields its URL.

    ``extra_args`` are more server flags, e.g. ``["--server.disconnectedSessionTTL", "5"]``;
    with ``log_path`` the server's output is written there and kept (else a temporary file).
    """
    port = port or free_port()  # the same port again: a restarted server at the same address
    log = open(log_path, "wb") if log_path else tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    env = {**os.environ, **(extra_env or {})}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *(extra_args or []),
    ]
    proc = subprocess.Popen(cmd, cwd=script.parent, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if not log_path:
            os.unlink(log.name)


def server_pid(url: str) -> int:
    """The id of the process serving ``url`` (a ``streamlit run`` on this machine), from /proc."""
    port = url.rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(argv) and port in argv:
            return int(entry.name)
    raise RuntimeError(f"no streamlit process serves {url}")


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout:.0f} s")


@contextmanager
def chromium(viewport: tuple[int, int] = (1440, 1000)) -> Iterator[object]:
    """A fresh headless Chromium page (Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            yield page
        finally:
            browser.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:  # noqa: ANN001 - playwright Page
    """Wait until the app has finished its script run."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)


EXCEPTION = "[data-testid='stException']"


def settle(page, pause_ms: int = 400) -> None:  # noqa: ANN001 - playwright Page
    """Let a click reach the server, wait for the run it starts to end, and check it raised nothing."""
    page.wait_for_timeout(pause_ms)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
