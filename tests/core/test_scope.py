"""The one scope rule: staff see their unit subtree, customers their bound accounts, nobody else anything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from billing.models import Account
from core.db import Base
from core.identity import AccountBinding, Role, Unit, User, create_unit, create_user
from core.scope import (
    account_in_scope,
    can_see_unit,
    in_scope,
    scope_path,
    sees_everything,
    visible_unit,
    visible_units,
    visible_users,
)
from tests.support import PASSWORD, PROJECT_PACKAGES, make_account


@pytest.fixture
def tree(world, session):  # type: ignore[no-untyped-def]
    """The world plus a unit below A with an account, a root admin and a customer bound to nothing."""
    below_a = create_unit(session, "UA1", "单位甲一", "UA")
    make_account(session, "1000000002", below_a)
    world.extra["below_a"] = below_a
    world.extra["root_admin"] = create_user(session, "admin-root", PASSWORD, Role.ADMIN, world.root)
    world.extra["stranger"] = create_user(session, "13900000002", PASSWORD, Role.CUSTOMER, None)
    world.extra["staff_below_a"] = create_user(session, "clerk-a1", PASSWORD, Role.CLERK, below_a)
    session.commit()
    return world


def _visible_account_nos(session, user: User) -> list[str]:  # type: ignore[no-untyped-def]
    stmt = select(Account.account_no).where(account_in_scope(user, Account.id)).order_by(Account.account_no)
    return list(session.scalars(stmt))


def _unit_codes(session, user: User) -> list[str]:  # type: ignore[no-untyped-def]
    return [unit.code for unit in session.scalars(visible_units(user))]


@pytest.mark.parametrize("role", [Role.ARCHIVIST, Role.CLERK, Role.SUPERVISOR, Role.ADMIN])
def test_staff_see_the_accounts_of_their_unit_and_the_units_below_it(tree, session, role) -> None:
    user = tree.users[role]
    assert _visible_account_nos(session, user) == ["1000000001", "1000000002"]
    assert _unit_codes(session, user) == ["UA", "UA1"]


def test_a_sibling_unit_and_its_accounts_are_refused(tree, session) -> None:
    clerk = tree.users[Role.CLERK]
    assert not can_see_unit(clerk, tree.unit_b)
    assert visible_unit(session, clerk, "UB") is None
    assert "2000000001" not in _visible_account_nos(session, clerk)
    foreign = session.scalar(
        select(Account).where(Account.account_no == "2000000001", in_scope(clerk, Account.unit_id))
    )
    assert foreign is None


def test_staff_below_a_unit_do_not_see_the_unit_above_them(tree, session) -> None:
    clerk_below = tree.extra["staff_below_a"]
    assert not can_see_unit(clerk_below, tree.unit_a)
    assert can_see_unit(clerk_below, tree.extra["below_a"])
    assert _visible_account_nos(session, clerk_below) == ["1000000002"]
    assert visible_unit(session, clerk_below, "UA") is None


def test_a_customer_sees_the_accounts_bound_to_them_and_no_unit(tree, session) -> None:
    customer = tree.users[Role.CUSTOMER]
    assert _visible_account_nos(session, customer) == ["1000000001"]
    assert _unit_codes(session, customer) == []
    assert not can_see_unit(customer, tree.unit_a)
    assert scope_path(customer) is None


def test_a_customer_bound_to_nothing_sees_nothing(tree, session) -> None:
    stranger = tree.extra["stranger"]
    assert _visible_account_nos(session, stranger) == []
    assert session.scalars(select(Account).where(in_scope(stranger, Account.unit_id))).all() == []


def test_an_admin_at_the_root_sees_every_unit_and_account(tree, session) -> None:
    admin = tree.extra["root_admin"]
    assert _visible_account_nos(session, admin) == ["1000000001", "1000000002", "2000000001"]
    assert _unit_codes(session, admin) == ["ROOT", "UA", "UA1", "UB"]
    assert sees_everything(admin)
    assert not sees_everything(tree.users[Role.ADMIN])
    assert all(can_see_unit(admin, unit) for unit in session.scalars(select(Unit)))


def test_the_account_rule_holds_on_a_column_that_refers_to_accounts(tree, session) -> None:
    bound = select(AccountBinding.account_id).where(account_in_scope(tree.users[Role.CLERK], AccountBinding.account_id))
    assert session.scalars(bound).all() == [tree.own_account.id]
    below = select(AccountBinding.account_id).where(
        account_in_scope(tree.extra["staff_below_a"], AccountBinding.account_id)
    )
    assert session.scalars(below).all() == []
    on_alias = aliased(Account)
    stmt = select(on_alias.account_no).where(account_in_scope(tree.extra["staff_below_a"], on_alias.id))
    assert session.scalars(stmt).all() == ["1000000002"]


def test_staff_without_a_unit_see_nothing(tree, session) -> None:
    clerk = tree.users[Role.CLERK]
    clerk.unit = None
    assert _visible_account_nos(session, clerk) == []
    assert not can_see_unit(clerk, tree.unit_a)
    session.rollback()


def test_the_users_listed_are_those_of_the_units_in_scope(tree, session) -> None:
    names = {user.username for user in session.scalars(visible_users(tree.extra["staff_below_a"]))}
    assert names == {"clerk-a1"}
    admin_a = {user.username for user in session.scalars(visible_users(tree.users[Role.ADMIN]))}
    assert "clerk-a1" in admin_a and "admin-root" not in admin_a and "13900000001" not in admin_a


def test_the_rule_reads_columns_the_accounts_table_has() -> None:
    assert {"id", "unit_id"} <= set(Base.metadata.tables["accounts"].c.keys())


# --- nothing else decides who sees what -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = PROJECT_PACKAGES
SCOPE_MODULE = Path("core/scope.py")
# a unit subtree filter written by hand: a prefix (or pattern) test on a unit path
UNIT_PATH_FILTER = re.compile(
    r"(?<!request\.)path\s*\.\s*(startswith|endswith|like|ilike|contains|op|regexp_match)\s*\("
)
# unit membership compared by hand instead of through in_scope / under
UNIT_ID_FILTER = re.compile(r"unit_id\s*(==|!=|\.in_\s*\(|\.not_in\s*\()")
BINDING_FILTER = re.compile(r"AccountBinding\.user_id\s*==")
# the web layer reads no unit path at all (it asks core.scope and the domains' queries)
WEB_UNIT_PATH = re.compile(r"[Uu]nit\w*\.path\b")


def _source_lines(packages: tuple[str, ...] = PACKAGES) -> list[tuple[Path, int, str]]:
    lines = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                lines.append((path.relative_to(ROOT), number, line))
    return lines


def _offenders(pattern: re.Pattern[str], allowed: set[Path], packages: tuple[str, ...] = PACKAGES) -> list[str]:
    return [
        f"{path}:{number}: {line.strip()}"
        for path, number, line in _source_lines(packages)
        if path not in allowed and pattern.search(line)
    ]


def test_only_the_scope_module_filters_by_unit_path() -> None:
    assert _offenders(UNIT_PATH_FILTER, {SCOPE_MODULE}) == []


def test_only_the_scope_module_compares_unit_ids() -> None:
    assert _offenders(UNIT_ID_FILTER, {SCOPE_MODULE}) == []


def test_bindings_are_read_for_a_user_only_by_the_scope_rule_and_binding_itself() -> None:
    assert _offenders(BINDING_FILTER, {SCOPE_MODULE, Path("billing/accounts.py")}) == []


def test_no_web_module_reads_a_unit_path() -> None:
    assert _offenders(WEB_UNIT_PATH, set(), ("webapp",)) == []


@pytest.mark.parametrize(
    "line",
    [
        "stmt.where(Unit.path.startswith(user.unit.path))",
        "if not unit.path.startswith(own_path):",
        "Unit.path.like(f'{path}%')",
        "scope_path.startswith(x)",
    ],
)
def test_the_path_check_finds_hand_written_filters(line: str) -> None:
    assert UNIT_PATH_FILTER.search(line)


@pytest.mark.parametrize("line", ["select(User).where(User.unit_id.in_(ids))", "Account.unit_id == user.unit_id"])
def test_the_unit_id_check_finds_hand_written_filters(line: str) -> None:
    assert UNIT_ID_FILTER.search(line)


@pytest.mark.parametrize("line", ["return request.path.startswith('/api/')", "Unit.id == Account.unit_id"])
def test_the_checks_leave_other_code_alone(line: str) -> None:
    assert not UNIT_PATH_FILTER.search(line) and not UNIT_ID_FILTER.search(line)


def test_the_web_check_finds_a_unit_path_read() -> None:
    assert WEB_UNIT_PATH.search("admin_unit.path") and WEB_UNIT_PATH.search("user.unit.path")
    assert WEB_UNIT_PATH.search("select(Unit).order_by(Unit.path)")
