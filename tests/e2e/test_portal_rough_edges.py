"""Customer pages at 360 px with the rough edges a phone user meets: amounts of seven digits stay on one line,
and English mode shows every state in words (never the stored code)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from tests.billing.support import add_tariffs, bill_with
from tests.e2e.conftest import Phone, open_phone
from tests.support import PASSWORD
from tests.webapp.statements_data import _pay

pytestmark = pytest.mark.e2e

TODAY = dt.date(2026, 3, 20)
# every sum of money in a text node (the yuan sign, digits with separators)
SPLIT_AMOUNTS = r"""() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const money = /¥-?[\d,]+\.\d\d/g;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement || node.parentElement.closest('svg, [hidden], .sr-only, details:not([open])')) continue;
    let m;
    while ((m = money.exec(node.data)) !== null) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
      found.push([m[0], tops.size]);
    }
  }
  return found;
}"""


def _big_account(session: Any, world: Any) -> None:
    add_tariffs(session)
    account = world.own_account
    bill_with(session, account, "2026-01", Decimal(2_500_000))  # a bill of more than a million yuan
    _pay(session, account, "987654.32", dt.date(2026, 2, 10), "bank", "B-BIG")
    session.commit()


def _sign_in(phone: Phone) -> None:
    phone.go("/login")
    phone.page.fill("#phone", "13900000001")
    phone.page.fill("#password", PASSWORD)
    phone.page.click("form button[type=submit]")
    phone.page.wait_for_url(re.compile(r"/home(\?|$)"))


def test_big_amounts_never_wrap_inside_the_number_at_360_px(
    phone: Phone, session: Any, world: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("core.clock.today_local", lambda: TODAY)
    _big_account(session, world)
    _sign_in(phone)
    seen: list[str] = []
    for path in ["/home", "/bills?year=2026", "/bills/2026-01", "/payments", "/pay"]:
        phone.go(path)
        phone.assert_fits()
        amounts = phone.page.evaluate(SPLIT_AMOUNTS)
        split = [text for text, lines in amounts if lines != 1]
        assert split == [], f"{path}: amounts broken over lines: {split}"
        seen += [text for text, _ in amounts]
        phone.shot(f"big-amounts{path.replace('/', '-')}")
    assert any(len(text) >= len("¥1,000,000.00") for text in seen), seen  # the test saw seven-digit amounts


def test_english_mode_shows_states_in_words(chromium: Any, live_server: str, session: Any, world: Any) -> None:
    _big_account(session, world)
    phone = open_phone(chromium, live_server, locale="en-GB")
    _sign_in(phone)
    phone.go("/home?lang=en")
    status = phone.page.locator(".account-card .status").inner_text().strip()
    assert status == "Active"
    world.own_account.status = "suspended"
    session.commit()
    phone.go("/home")
    assert phone.page.locator(".account-card .status").inner_text().strip() == "Suspended"
    phone.page.context.close()
    assert phone.errors == []
