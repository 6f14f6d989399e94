"""The demo's audit picture is what a decent company has: most dossiers complete (rates near the 98 % target),
one unit visibly behind, and a handful of findings of every rule."""

from __future__ import annotations

from sqlalchemy import func, select

from audit import dashboard
from audit.demo import BEHIND_UNIT
from audit.models import Finding
from audit.rules import all_rules
from audit.settings import context
from billing.models import Account
from core.identity import Unit
from tests.support import seed_demo


def test_the_demo_audit_shows_a_decent_archive_with_one_unit_behind_and_a_few_of_each_violation(app, session) -> None:
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
