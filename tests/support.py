"""Shared test helpers: the two-unit world, an API client with bearer tokens, database reset."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select, text

from billing.accounts import bind_account, create_account
from billing.models import Account
from core.db import Base, db
from core.identity import Role, Unit, User, create_unit, create_user, ensure_root_unit
from webapp import DOMAINS

# every package of the product, for the source scans of the tests
PROJECT_PACKAGES = ("core", *DOMAINS, "webapp")

ROLES = [Role.CUSTOMER, Role.ARCHIVIST, Role.CLERK, Role.SUPERVISOR, Role.ADMIN]
PASSWORD = "correct-horse-battery"
# the bucket of the S3-API server the tests start (the s3_endpoint fixture)
S3_BUCKET = "griddesk-test"


_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def reset_database(app: Flask) -> None:
    with app.app_context():
        db.remove_session()
        assert db.engine is not None
        tables = [t for t in reversed(Base.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # DELETE, not TRUNCATE: a test leaves a few rows in a few tables, and TRUNCATE gives each of the
                # tables new files whether it held rows or not (360 ms a test against 4 ms). The replica role
                # skips the foreign-key checks and the trail's append-only trigger.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("; ".join(f'DELETE FROM "{table.name}"' for table in tables)))
                conn.execute(_RESTART_SEQUENCES)  # as RESTART IDENTITY would: every id starts at 1 again
            else:
                for table in tables:
                    conn.execute(table.delete())
        for hook in app.extensions.get("griddesk_test_reset_hooks", []):
            hook()


def make_account(session: Any, account_no: str, unit: Unit, **overrides: Any) -> Account:
    data: dict[str, Any] = {
        "account_no": account_no,
        "holder_name": "张伟",
        "id_last4": "1234",
        "address": "杭州市延安路1号",
        "lat": 30.27,
        "lon": 120.16,
        "category": "residential",
        "capacity_kva": Decimal(8),
        "tariff_code": "ZJ-RES-TIER",
        "unit_code": unit.code,
        "connected_on": dt.date(2020, 1, 1),
    }
    data.update(overrides)
    return create_account(session, data, id_hash_key="test-id-hash-key", actor=None)


@dataclass
class World:
    root: Unit
    unit_a: Unit
    unit_b: Unit
    users: dict[str, User]
    own_account: Account
    foreign_account: Account
    tokens: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, role: str) -> str:
        return self.tokens[role]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def build_world(app: Flask, session: Any) -> World:
    from webapp.auth import issue_token

    root = ensure_root_unit(session)
    unit_a = create_unit(session, "UA", "单位甲", root.code)
    unit_b = create_unit(session, "UB", "单位乙", root.code)
    users = {}
    for role in ROLES:
        unit = None if role == Role.CUSTOMER else unit_a
        username = "13900000001" if role == Role.CUSTOMER else f"{role}-a"
        users[role] = create_user(session, username, PASSWORD, role, unit, name=f"{role} A")
    own = make_account(session, "1000000001", unit_a)
    foreign = make_account(session, "2000000001", unit_b, holder_name="李四", id_last4="5678")
    bind_account(session, users[Role.CUSTOMER], own.account_no, "张伟", "1234", id_hash_key="test-id-hash-key")
    session.commit()
    world = World(root, unit_a, unit_b, users, own, foreign)
    with app.test_request_context():
        for role, user in users.items():
            world.tokens[role] = issue_token(user)[0]
    return world


class ApiClient:
    """Thin wrapper: ``api.get(path, role=..., world=...)`` or with an explicit token."""

    def __init__(self, client: Any):
        self.client = client
        self.token: str | None = None

    def as_token(self, token: str | None) -> ApiClient:
        other = ApiClient(self.client)
        other.token = token
        return other

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        result = dict(headers or {})
        if self.token:
            result.setdefault("Authorization", f"Bearer {self.token}")
        return result

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(headers), **kw)

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.post(path, json=json, headers=self._headers(headers), **kw)

    def put(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.put(path, json=json, headers=self._headers(headers), **kw)

    def delete(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(headers), **kw)


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def new_browser() -> None:
    """A test's requests run in the test's app context, so ``g`` outlives each of them: forget what a request
    cached there for another browser (Flask-Login's user, the CSRF token), as a real request's own context would."""
    from flask import g, has_app_context

    if has_app_context():
        g.pop("_login_user", None)
        g.pop("csrf_token", None)


def staff_sign_in(client: Any, username: str, password: str = PASSWORD) -> str:
    """Sign a staff user in through the login form (signing out whoever was); the token for the next form."""
    new_browser()
    client.post("/staff/logout", data={"csrf_token": csrf_token(client.get("/staff/login").get_data(as_text=True))})
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_token(client.get("/staff/").get_data(as_text=True))


class HeldOutbox:
    """The outbox while commits ask for no relay (fixture ``held_outbox``): a test reads what waits, then relays."""

    def messages(self, topic: str | None = None) -> list[dict[str, Any]]:
        """The payloads waiting (of ``topic``), oldest first; read in a transaction of their own."""
        from core.outbox import OutboxMessage

        stmt = select(OutboxMessage.topic, OutboxMessage.payload).order_by(OutboxMessage.id)
        with db.transaction() as session:
            return [payload for name, payload in session.execute(stmt) if topic is None or name == topic]

    def relay(self) -> int:
        from core import outbox

        return outbox.relay_all()


def fix_now(monkeypatch: Any, moment: dt.datetime) -> None:
    """Make ``moment`` (aware) the present for whatever reads ``core.clock.now_local`` (a payment's time bounds)."""
    from core import clock

    monkeypatch.setattr(clock, "now_local", lambda: moment.astimezone(clock.zone()))


def sign_up_code(client: Any, phone: str) -> str:
    """Ask for a sign-up code for ``phone`` and read it where the demo SMS gateway keeps what it sent."""
    from notifications import runtime

    reply = client.post("/api/v1/customers/verification-codes", json={"phone": phone})
    assert reply.status_code == 202, reply.get_json()
    code = runtime.current().sms.last_code(phone)
    assert code is not None
    return str(code)


# --- the demo, seeded once per test process --------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """What ``griddesk seed-demo`` answered (the first seeding's answer when the copy was put back)."""

    exit_code: int
    output: str


_demo_copy: dict[str, Any] = {}


def seed_demo(app: Flask) -> Seeded:
    """``griddesk seed-demo`` into the test's empty database.

    Seeding costs about half a CPU-minute and six tests need the demo, so a test process seeds once and keeps a copy
    of every table; later calls put the copy back instead. What the copy leaves out: the search index starts empty
    (none of these tests searches), and document files need no copy (they are content-addressed and stay in the
    session's BLOB_DIR). The demo goes into emptied tables: whatever the test's fixtures made before is gone.
    """
    reset_database(app)
    if _demo_copy:
        put_back(_demo_copy["tables"])
        return Seeded(0, str(_demo_copy["output"]))
    result = app.test_cli_runner().invoke(args=["griddesk", "seed-demo"])
    if result.exit_code == 0:
        _demo_copy.update(output=result.output, tables=copy_tables())
    return Seeded(result.exit_code, result.output)


def copy_tables() -> Any:
    """A copy of every table's rows (and the sequences' positions), for ``put_back`` into emptied tables."""
    db.remove_session()
    assert db.engine is not None
    if db.engine.dialect.name == "sqlite":
        import sqlite3

        copy = sqlite3.connect(":memory:")
        with sqlite3.connect(str(db.engine.url.database)) as live:
            live.backup(copy)
        return copy
    tables: dict[str, bytes] = {}
    sequences: list[tuple[str, int, bool]] = []
    with db.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for table in Base.metadata.sorted_tables:
            with cursor.copy(f'COPY "{table.name}" TO STDOUT (FORMAT binary)') as copy:
                tables[table.name] = b"".join(bytes(chunk) for chunk in copy)
        names = conn.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")).all()
        for name in names:
            last, called = conn.execute(text(f'SELECT last_value, is_called FROM "{name}"')).one()
            sequences.append((name, last, called))
    return tables, sequences


def put_back(copy: Any) -> None:
    """The rows of ``copy_tables`` into the emptied tables (a test's reset emptied them)."""
    db.remove_session()
    assert db.engine is not None
    db.engine.dispose()
    if db.engine.dialect.name == "sqlite":
        import sqlite3

        with sqlite3.connect(str(db.engine.url.database)) as live:
            copy.backup(live)
        return
    tables, sequences = copy
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        for name, data in tables.items():
            with cursor.copy(f'COPY "{name}" FROM STDIN (FORMAT binary)') as load:
                load.write(data)
        for name, last, called in sequences:
            conn.execute(text("SELECT setval(:name, :last, :called)"), {"name": name, "last": last, "called": called})
