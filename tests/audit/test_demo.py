"""The demo's audit picture is what a decent company has: most dossiers complete (rates near the 98 % target),
one unit visibly behind, and a handful of findings of every rule."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from sqlalchemy import func, select

from audit import dashboard
from audit.demo import BEHIND_UNIT
from audit.models import ACTIVE_STATUSES, Finding
from audit.rules import all_rules
from audit.settings import context
from billing.models import Account
from core import clock
from core.identity import Unit
from tests.support import seed_demo, staff_sign_in


def test_the_demo_audit_shows_a_decent_archive_with_one_unit_behind_and_a_few_of_each_violation_told_in_sentences(
    app, client, session
) -> None:
    runner = app.test_cli_runner()
    seeded = seed_demo(app)
    assert seeded.exit_code == 0, seeded.output

    rates = {r.unit_code: r for r in dashboard.unit_rates(session, "/", context()) or []}
    assert BEHIND_UNIT in rates and len(rates) >= 3
    for code, rate in rates.items():
        if code == BEHIND_UNIT:
            continue
        assert rate.filing_rate >= 0.97 and rate.completeness >= 0.95, (code, rate)
    behind = rates[BEHIND_UNIT]
    assert 0.8 <= behind.filing_rate <= 0.93 and 0.55 <= behind.completeness <= 0.85, behind
    others = [r for code, r in rates.items() if code != BEHIND_UNIT]
    assert behind.completeness < min(r.completeness for r in others) - 0.15  # visibly behind

    by_rule = {row["rule"]: row["open"] for row in dashboard.open_by_rule(session, "/")}
    assert set(by_rule) == {r.code for r in all_rules()}  # every rule has examples
    handful = {code: n for code, n in by_rule.items() if code not in {"FL-REQUIRED-DOC", "FL-LARGE-INCOMPLETE"}}
    assert all(2 <= n <= 5 for n in handful.values()), {c: n for c, n in handful.items() if not 2 <= n <= 5}
    assert by_rule["FL-REQUIRED-DOC"] <= 60 and by_rule["FL-LARGE-INCOMPLETE"] <= 12, by_rule
    assert sum(by_rule.values()) < 150
    missing_in_behind_unit = session.scalar(
        select(func.count(Finding.id))
        .join(Account, Account.id == Finding.account_id)
        .join(Unit, Unit.id == Account.unit_id)
        .where(Finding.rule == "FL-REQUIRED-DOC", Unit.code == BEHIND_UNIT)
    )
    assert missing_in_behind_unit >= 0.8 * by_rule["FL-REQUIRED-DOC"]  # the missing sheets are that unit's
    session.rollback()  # on SQLite an open transaction holds the write lock

    again = runner.invoke(args=["griddesk", "seed-demo"])
    assert again.exit_code == 0, again.output
    assert "0 new findings" in again.output and "catalogued" not in again.output

    _every_rules_finding_reads_as_a_sentence_with_links_that_open(client, session)
    _a_new_connection_without_an_account_reads_like_the_others(client, session)


def _sentence(client: Any, finding_id: int, lang: str) -> str:
    page = client.get(f"/staff/audit/findings/{finding_id}?lang={lang}")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    found = re.search(r'<p class="card evidence-sentence">(.*?)</p>', shown, re.S)
    assert found, finding_id
    facts = shown[shown.index('class="facts card evidence"') : shown.index("</dl>", shown.index("card evidence"))]
    assert not re.search(r"<dt>[a-z_]+</dt>|<dd>[a-z]+_[a-z_]+</dd>", facts), facts  # labelled, codes named
    return found.group(1)


def _every_rules_finding_reads_as_a_sentence_with_links_that_open(client: Any, session: Any) -> None:
    """For every rule of the registry, its first demo finding's evidence reads (as the supervisor sees it) as a
    sentence: no internal key or code, no UTC time, every kept time in Beijing time, links that open (200) at an
    anchor that is on the page; in English mode no Chinese beyond the kept values."""
    staff_sign_in(client, "supervisor", "supervisor-demo-2026")
    for rule in all_rules():
        finding = session.scalar(
            select(Finding)
            .where(Finding.rule == rule.code, Finding.status.in_(ACTIVE_STATUSES))
            .order_by(Finding.id)
            .limit(1)
        )
        assert finding is not None, rule.code
        _reads_as_a_sentence_with_links_that_open(client, finding)
    client.get("/staff/?lang=zh_CN")


def _reads_as_a_sentence_with_links_that_open(client: Any, finding: Finding) -> None:
    rule = finding.rule
    evidence = finding.evidence or {}
    shown = _sentence(client, finding.id, "zh_CN")
    text = html.unescape(re.sub(r"<[^>]+>", "", shown))
    kept = [str(v) for v in evidence.values() if isinstance(v, str) and not re.fullmatch(r"[a-z][a-z_]*", v)]
    words = text
    for value in sorted(kept, key=len, reverse=True):
        words = words.replace(value, "")
    assert not re.search(r"[A-Za-z]{3,}", words), (rule, text)  # no key, code or English word
    assert not re.search(r"\d{4}-\d\d-\d\dT|\+00:00|UTC", text), (rule, text)
    for name, value in evidence.items():
        if name.endswith("_at") and value:
            moment = dt.datetime.fromisoformat(str(value))
            assert f"{clock.local(moment):%Y-%m-%d %H:%M}" in text, (rule, name, text)
    links = re.findall(r'href="([^"]+)"', shown)
    assert links, (rule, shown)
    for link in links:
        path, _sep, anchor = html.unescape(link).partition("#")
        opened = client.get(path)
        assert opened.status_code == 200, (rule, link)
        if anchor:
            assert f'id="{anchor}"' in opened.get_data(as_text=True), (rule, link)
    english = html.unescape(re.sub(r"<[^>]+>", "", _sentence(client, finding.id, "en")))
    for value in sorted((str(v) for v in evidence.values() if isinstance(v, str)), key=len, reverse=True):
        english = english.replace(value, "")
    assert not re.search(r"[\u4e00-\u9fff]", english), (rule, english)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", english), (rule, english)


def _a_new_connection_without_an_account_reads_like_the_others(client: Any, session: Any) -> None:
    """The demo's overdue new connection that has no account yet: its finding names the application and its unit,
    in both languages, and links to the application."""
    finding = session.scalar(
        select(Finding)
        .where(Finding.account_id.is_(None), Finding.status.in_(ACTIVE_STATUSES))
        .order_by(Finding.id)
        .limit(1)
    )
    assert finding is not None and finding.rule == "YK-STEP-LATE"
    _reads_as_a_sentence_with_links_that_open(client, finding)
    number = finding.evidence["application_no"]
    unit = session.get(Unit, finding.unit_id)
    page = client.get(f"/staff/audit/findings/{finding.id}?lang=zh_CN").get_data(as_text=True)
    assert f'href="/staff/applications/{number}"' in page and unit.name in page and "尚未立户" in page
    listed = client.get("/staff/audit/findings?rule=YK-STEP-LATE").get_data(as_text=True)
    assert f'href="/staff/applications/{number}"' in listed
    assert client.get(f"/staff/applications/{number}").status_code == 200
    client.get("/staff/?lang=zh_CN")
