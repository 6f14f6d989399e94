"""The trades of a reconciliation are seen by unit, like everything else: a clerk sees the items of the accounts
of their unit subtree (in the API, the staff page and the CSV), staff of the root unit see every item, including
the trades for no order of ours (they have no account, hence no unit)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from billing.online.models import PaymentReconciliation, StatementItem
from core.identity import Role, create_user
from tests.support import PASSWORD, staff_sign_in

DAY = dt.date(2026, 3, 2)
PATH = "/api/v1/billing/reconciliations?provider=wechat&date=2026-03-02"


def _plant(world: Any, session: Any) -> None:
    report = PaymentReconciliation(provider="wechat", day=DAY, matched=4, missing_here=1, missing_there=1)
    session.add(report)
    session.flush()
    for kind, order_no, account in (
        ("missing_there", "GD-OWN", world.own_account),  # unit A
        ("missing_here", "GD-FOREIGN", world.foreign_account),  # unit B
        ("missing_here", "GD-STRANGER", None),  # a trade for no order of ours
    ):
        session.add(
            StatementItem(
                reconciliation_id=report.id,
                provider="wechat",
                day=DAY,
                kind=kind,
                order_no=order_no,
                trade_no=f"T-{order_no}",
                ours=Decimal("10.00") if kind == "missing_there" else None,
                theirs=None if kind == "missing_there" else Decimal("10.00"),
                account_id=account.id if account is not None else None,
            )
        )
    create_user(session, "clerk-b", PASSWORD, Role.CLERK, world.unit_b)
    create_user(session, "supervisor-root", PASSWORD, Role.SUPERVISOR, world.root)
    session.commit()


def _token(app: Any, session: Any, username: str) -> str:
    from sqlalchemy import select

    from core.identity import User
    from webapp.auth import issue_token

    user = session.scalar(select(User).where(User.username == username))
    with app.test_request_context():
        return str(issue_token(user)[0])


def test_each_clerk_sees_the_items_of_their_units_and_the_root_sees_all(app, world, session, api, client) -> None:
    _plant(world, session)
    seen = {}
    for username in ("clerk-a", "clerk-b", "supervisor-root", "admin-a"):
        reply = api.as_token(_token(app, session, username)).get(PATH)
        assert reply.status_code == 200, reply.get_json()
        seen[username] = sorted(i["order_no"] for i in reply.get_json()["items"])
    assert seen == {
        "clerk-a": ["GD-OWN"],
        "clerk-b": ["GD-FOREIGN"],
        "supervisor-root": ["GD-FOREIGN", "GD-OWN", "GD-STRANGER"],
        "admin-a": ["GD-OWN"],  # an admin below the root is scoped too
    }
    staff_sign_in(client, "clerk-b")
    page = client.get("/staff/billing/reconciliations/wechat/2026-03-02").get_data(as_text=True)
    assert "GD-FOREIGN" in page and "GD-OWN" not in page and "GD-STRANGER" not in page
    csv_text = client.get("/staff/billing/reconciliations/wechat/2026-03-02.csv").get_data(as_text=True)
    assert "GD-FOREIGN" in csv_text and "GD-OWN" not in csv_text and "GD-STRANGER" not in csv_text
