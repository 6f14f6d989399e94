"""The supervisor's dashboard in headless Chromium at 360 px: charts drawn, a run started and watched to the end."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from archive.audit.models import Finding
from tests.support import PASSWORD

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_url(app) -> Iterator[str]:
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_supervisor_reads_the_dashboard_and_watches_a_run(live_url, session, world) -> None:
    from playwright.sync_api import sync_playwright

    session.add(Finding(rule="T-TEST", severity="high", subject="doc:1", account_id=world.own_account.id, evidence={}))
    session.commit()
    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 800}, locale="zh-CN")
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def route(r):  # type: ignore[no-untyped-def]
            if not r.request.url.startswith(live_url):
                outside.append(r.request.url)
                return r.abort()
            return r.continue_()

        page.route("**/*", route)
        page.goto(f"{live_url}/staff/login")
        page.fill("input[name=username]", "supervisor-a")
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_url}/staff/")
        page.goto(f"{live_url}/staff/audit")
        assert page.locator("svg.chart").count() >= 2
        assert "T-TEST" in page.inner_text("main")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, width  # no sideways scrolling on a phone
        page.click("text=开始稽查")
        page.wait_for_selector("#run-status")
        page.wait_for_function("document.getElementById('run-percent').textContent === '100'")
        assert page.inner_text("#run-status") == "已完成"
        page.goto(f"{live_url}/staff/audit/findings")
        page.click("table a >> nth=0")
        assert "证据" in page.inner_text("main")
        browser.close()
    assert errors == [] and outside == []
