"""Browser tests: the real app served by werkzeug on 127.0.0.1 (ports 5100-5199) over the test database,
driven by Debian's Chromium through Playwright at a phone viewport.

Chromium must be there: a missing browser fails these tests (it never skips them), so CI cannot go green
without having run them. Screenshots go to test-artifacts/e2e/.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("GRIDDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
PORTS = range(5100, 5200)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PHONE_WIDTH = 360


def _free_port() -> int:
    """A free port in the range this project may use, starting at a per-worker offset."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    start = (worker * 17 + os.getpid()) % len(PORTS)
    for i in range(len(PORTS)):
        port = PORTS[(start + i) % len(PORTS)]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 5100-5199")


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (Playwright's sync API cannot nest, so not per session)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make system-deps` (browser tests never skip)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        browser.pixel7 = p.devices["Pixel 7"]  # type: ignore[attr-defined]
        yield browser
        browser.close()


@dataclass
class Phone:
    """A page in a fresh phone-sized context, with what went wrong on the way (script errors, outside URLs)."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # requests that got no answer (evidence for a failed test)
    visited: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_fits(self) -> None:
        """No horizontal scrolling at the phone's width.

        Compared with the configured viewport, not window.innerWidth: a mobile browser widens its layout
        viewport to content that is too wide, and innerWidth grows with it.
        """
        self.page.wait_for_load_state()  # a page just navigated to may have no document element yet
        width = self.page.evaluate("document.documentElement.scrollWidth")
        viewport = (self.page.viewport_size or {"width": PHONE_WIDTH})["width"]
        assert width <= viewport, f"{self.page.url}: page is {width}px wide at a {viewport}px viewport"

    def assert_labelled(self) -> None:
        """Every visible form control has an accessible name from a label or aria-label."""
        self.page.wait_for_load_state()
        unlabelled = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select, textarea'))
                 .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], f"{self.page.url}: controls without a label: {unlabelled}"


def open_phone(browser: Any, base: str, *, locale: str = "zh-CN", width: int = PHONE_WIDTH, **context: Any) -> Phone:
    device = {**browser.pixel7, "viewport": {"width": width, "height": 780}}
    ctx = browser.new_context(**device, locale=locale, **context)
    page = ctx.new_page()
    phone = Phone(page=page, base=base)
    page.on("pageerror", lambda exc: phone.errors.append(str(exc)))
    page.on("requestfailed", lambda req: phone.failed.append(f"{req.method} {req.url}: {req.failure}"))
    page.on("framenavigated", lambda frame: phone.visited.append(frame.url) if frame == page.main_frame else None)
    _OPEN_PHONES.append(phone)

    def only_the_app(route: Any) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:  # every asset is the app's own: nothing may be fetched from elsewhere
            phone.outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", only_the_app)
    # an upper bound for a condition to come true, not a wait: a loaded 2-core machine can take seconds for a page
    page.set_default_timeout(30_000)
    return phone


_OPEN_PHONES: list[Phone] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        report.sections.append(("what the phones saw", _evidence(item.name)))
    if report.when == "teardown":
        _OPEN_PHONES.clear()
    return report


def _evidence(test_name: str) -> str:
    """Where each phone of a failed test went, what failed on the way, and a screenshot if its page is open."""
    lines = []
    for number, phone in enumerate(_OPEN_PHONES):
        lines += [f"phone {number}: visited {' -> '.join(phone.visited) or 'nothing'}", *phone.failed, *phone.errors]
        try:
            lines.append(f"screenshot: {phone.shot(f'failed-{test_name}-{number}')}")
        except Exception:  # the test closed the page already
            lines.append("screenshot: the page was closed")
    return "\n".join(lines)


@contextlib.contextmanager
def phone_in(browser: Any, base: str, **context: Any) -> Iterator[Phone]:
    """A phone (``open_phone``) closed afterwards, which must have seen no script error and asked nothing outside."""
    found = open_phone(browser, base, **context)
    yield found
    found.page.context.close()
    assert found.errors == [], f"script errors: {found.errors}"
    assert found.outside == [], f"requests outside the app: {found.outside}"


def signed_in_state(browser: Any, base: str, user: str, password: str) -> dict[str, Any]:
    """The cookies of a session signed in through the app's own sign-in form (posted without rendering pages),
    to open phones with (``storage_state``). ``user`` is a customer's phone number or a staff username."""
    staff = not user.isdigit()
    path = "/staff/login" if staff else "/login"
    context = browser.new_context()
    try:
        page = context.request.get(base + path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text())
        assert token is not None, f"no CSRF token on {path}"
        form = {"csrf_token": token.group(1), "password": password, ("username" if staff else "phone"): user}
        answer = context.request.post(base + path, form=form)
        landed = "/staff/" if staff else "/home"
        assert answer.ok and landed in answer.url, f"{user} was not signed in: {answer.status} {answer.url}"
        return dict(context.storage_state())
    finally:
        context.close()


@pytest.fixture
def phone(chromium: Any, live_server: str) -> Iterator[Phone]:
    with phone_in(chromium, live_server) as found:
        yield found
