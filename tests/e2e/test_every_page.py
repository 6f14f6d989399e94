"""Every customer and staff page in Chromium at 360 px, over the data of tests/e2e/hostile.py: tap targets of at
least 44 x 44 CSS px, no serious or critical accessibility violation found by axe-core, and Chinese text with
Chinese punctuation.

axe-core (MPL-2.0, the npm package's axe.min.js) is vendored in tests/e2e/vendor/; it is added to each page with
Playwright's ``add_script_tag`` from a URL of the app's origin that the test browser answers itself, so the page's
Content-Security-Policy (``script-src 'self'`` and a nonce) stays on; the test fails if the script did not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Phone, open_phone
from tests.e2e.hostile import HOSTILE, plant
from tests.e2e.test_hostile_data import PAGES, STAFF
from tests.support import PASSWORD, build_world

pytestmark = pytest.mark.e2e

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
MIN_TARGET = 44  # CSS px, WCAG 2.5.5 (AAA) and both phone platforms' guidelines
CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex='0']"
SMALL_TARGETS = """([selector, least]) => Array.from(document.querySelectorAll(selector))
  .filter(el => !el.closest('[hidden], details:not([open]) > :not(summary)'))
  .map(el => {
    // a checkbox or radio button is tapped through its label
    const target = (el.matches('input[type=checkbox], input[type=radio]') && el.closest('label')) || el;
    const box = target.getBoundingClientRect();
    return [el, box];
  })
  .filter(([el, box]) => box.width > 0 && box.height > 0 && (box.width < least - 0.5 || box.height < least - 0.5))
  .map(([el, box]) => `${el.outerHTML.slice(0, 90)} is ${Math.round(box.width)}x${Math.round(box.height)}`)"""
# ASCII , : ; ! ? ( ) next to a Chinese character, in what the page shows (text, labels, placeholders, titles)
ASCII_PUNCTUATION = r"""() => {
  const cjk = '[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]';
  const bad = new RegExp(`${cjk}\\s?[,:;!?()]|[,:;!?()]\\s?${cjk}`, 'g');
  const texts = [document.title, document.body.innerText];
  const names = ['placeholder', 'aria-label', 'title', 'alt'];
  document.querySelectorAll('[placeholder], [aria-label], [title], [alt]').forEach(el => {
    for (const a of names) if (el.getAttribute(a)) texts.push(el.getAttribute(a));
  });
  const found = [];
  for (const text of texts) {
    let m;
    while ((m = bad.exec(text)) !== null) found.push(text.slice(Math.max(0, m.index - 12), m.index + 14));
  }
  return found;
}"""
CUSTOMER_SIDE = (None, "customer")
AXE_AT = "/__tests__/axe.min.js"


def _signed_in(chromium: Any, base: str, who: str | None) -> Phone:
    phone = open_phone(chromium, base)
    page = phone.page
    page.route(base + AXE_AT, lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
    if who == "customer":
        phone.go("/login")
        page.fill("#phone", "13900000001")
        page.fill("#password", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url("**/home")
    elif who is not None:
        phone.go("/staff/login")
        page.fill("input[name=username]", f"{who}-a")
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/staff/")
    return phone


def _small_targets(phone: Phone, _url: str) -> list[str]:
    return phone.page.evaluate(SMALL_TARGETS, [CONTROLS, MIN_TARGET])


def _ascii_punctuation(phone: Phone, _url: str) -> list[str]:
    return [found for found in phone.page.evaluate(ASCII_PUNCTUATION) if HOSTILE[:8] not in found]


def _axe(phone: Phone, _url: str) -> list[str]:
    page = phone.page
    # served at the app's own origin (a route of the test browser), so the page's script-src 'self' allows it
    page.add_script_tag(url=phone.base + AXE_AT)
    assert page.evaluate("typeof window.axe") == "object", "the Content-Security-Policy kept axe-core from running"
    result = page.evaluate(
        """async () => {
             const r = await axe.run(document, {resultTypes: ['violations']});
             return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
               .map(v => [v.id, v.impact, v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.failureSummary)]);
           }"""
    )
    return [json.dumps(v, ensure_ascii=False)[:600] for v in result]


# each check, and who it opens pages as (axe last: it adds its script to the page)
CHECKS: dict[str, tuple[Callable[[Phone, str], list[str]], tuple[str | None, ...]]] = {
    "tap targets": (_small_targets, (*CUSTOMER_SIDE, STAFF)),
    "punctuation": (_ascii_punctuation, CUSTOMER_SIDE),
    "axe": (_axe, (*CUSTOMER_SIDE, STAFF)),
}


@pytest.fixture(scope="module")
def problems(app: Any, chromium: Any, live_server: str) -> dict[str, list[str]]:
    """Each page of PAGES opened once by whoever may (a fresh phone per side) with every check run on it, over the
    planted data: the problems each check found. The first test of the module pays for the walk."""
    from core.db import db

    found: dict[str, list[str]] = {name: [] for name in CHECKS}
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setitem(app.config, "MAP_TILE_URL", "/static/no-tiles/{z}/{x}/{y}.png")  # no tile server here
        planted = plant(app.test_client(), db.session, build_world(app, db.session))
        for who in (None, "customer", STAFF):
            phone = _signed_in(chromium, live_server, who)
            try:
                for _endpoint, (visits, path) in PAGES.items():
                    if visits != who:
                        continue
                    url = path if isinstance(path, str) else path(planted)
                    response = phone.go(url)
                    assert response is not None and response.status == 200, f"{url}: {response and response.status}"
                    phone.page.wait_for_load_state("load")
                    for name, (check, sides) in CHECKS.items():
                        if who in sides:
                            found[name] += [f"{url}: {problem}" for problem in check(phone, url)]
            finally:
                phone.page.context.close()
    return found


def test_every_page_has_tap_targets_of_at_least_44_px(problems) -> None:
    assert problems["tap targets"] == [], "\n".join(problems["tap targets"])


def test_every_page_has_no_serious_or_critical_axe_violation(problems) -> None:
    assert problems["axe"] == [], "\n".join(problems["axe"])


def test_every_customer_page_writes_chinese_with_chinese_punctuation(problems) -> None:
    assert problems["punctuation"] == [], "\n".join(problems["punctuation"])
