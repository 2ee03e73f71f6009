"""`python -m explainer serve` on loopback: two replicas behind nginx, sticky sessions, a dead replica started again."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import urllib.request
from contextlib import ExitStack

import pytest
from playwright.sync_api import expect

from explainer.serve import Server, find_nginx, nginx_config
from tests.live_server import free_port, settle, wait_idle
from tests.st_client import StreamlitClient
from tests.test_browser import browser  # noqa: F401 - the shared browser fixture

if find_nginx() is None and os.environ.get("EXPLAINER_REQUIRE_NGINX") == "1":
    raise RuntimeError("EXPLAINER_REQUIRE_NGINX=1 but nginx is not installed")
pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed here (CI installs Debian's package)")


def sessions(port: int) -> int:
    """The active sessions a replica holds (Streamlit's own gauge)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/metrics", timeout=5).read().decode()  # noqa: S310
    found = re.search(r"^active_sessions(?:\{[^}]*\})? (\d+)", text, re.M)
    return int(found.group(1)) if found else 0


def test_nginx_accepts_the_written_configuration(tmp_path):
    conf = tmp_path / "nginx.conf"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / sub).mkdir()
    conf.write_text(nginx_config(free_port(), [free_port(), free_port()], tmp_path, host="127.0.0.1"))
    result = subprocess.run([find_nginx(), "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_two_replicas_behind_nginx_keep_a_session_on_its_replica_and_a_dead_one_comes_back(browser):  # noqa: F811
    cache = tempfile.mkdtemp(prefix="explainer-serve-test-")
    port = free_port()
    first = free_port()
    while first + 1 == port or first == port:
        first = free_port()
    log = io.StringIO()
    server = Server(replicas=2, port=port, host="127.0.0.1", first_port=first, log=log,
                    env={"EXPLAINER_CACHE_DIR": cache, "EXPLAINER_THREADS": "1"})  # this test's own run store
    server.start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        assert "2 replicas" in log.getvalue()
        page.goto(f"http://127.0.0.1:{port}/train?train_kind=softmax&train_epochs=1&train_limit=500")
        wait_idle(page)
        page.wait_for_timeout(800)
        settle(page)
        counts = {p: sessions(p) for p in server.replica_ports}
        assert sorted(counts.values()) == [0, 1], counts  # one session, on one replica
        holder = max(counts, key=counts.get)
        page.locator(".st-key-train_start button").first.click()  # more requests and reruns: it stays where it is
        expect(page.get_by_role("button", name="Use this model on every page")).to_be_visible(timeout=120_000)
        settle(page)
        assert {p: sessions(p) for p in server.replica_ports} == counts

        # a class: twelve tabs (each with its own cookie, as browsers) spread over both replicas
        # (all on one would happen by chance once in 2,000 runs); before any replica fails: nginx then
        # sends everything to the others for a few seconds
        before = {p: sessions(p) for p in server.replica_ports}
        with ExitStack() as tabs:
            for _ in range(12):
                tabs.enter_context(StreamlitClient(port, timeout=60, sticky=True)).open()
            added = {p: sessions(p) - before[p] for p in server.replica_ports}
        assert sum(added.values()) == 12 and min(added.values()) >= 1, added

        pid = server.replica_pid(holder)
        subprocess.run(["kill", "-9", str(pid)], check=True)  # the replica dies with its sessions
        next(r for r in server._replicas if r.port == holder).process.wait(10)
        server.check()  # what the watch loop does every two seconds
        assert server.restarts(holder) == 1 and server.replica_pid(holder) != pid
        assert "starting it again" in log.getvalue()
        server._wait_healthy(next(r for r in server._replicas if r.port == holder))

        page.reload()  # the student reloads: a new session, on whichever replica, and the desk is back
        wait_idle(page)
        page.wait_for_timeout(800)
        settle(page)
        expect(page.get_by_text("Run #1 Softmax regression")).to_be_visible(timeout=30_000)
    finally:
        context.close()
        server.stop()
    for p in server.replica_ports:  # everything stopped
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{p}/_stcore/health", timeout=2)  # noqa: S310
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)  # noqa: S310
