"""Demo organisation: a city company (Hangzhou) with two marketing units and their stations, one user a role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import Role, User, create_unit, create_user, ensure_root_unit, unit_by_code

DEMO_UNITS = [
    ("HZ", "国网杭州供电公司", "ROOT"),
    ("HZ-SC", "上城营销部", "HZ"),
    ("HZ-XH", "西湖营销部", "HZ"),
    ("HZ-SC-01", "湖滨供电所", "HZ-SC"),
    ("HZ-SC-02", "南星供电所", "HZ-SC"),
    ("HZ-XH-01", "文新供电所", "HZ-XH"),
    ("HZ-XH-02", "转塘供电所", "HZ-XH"),
]
STATION_CODES = [code for code, _n, parent in DEMO_UNITS if parent in {"HZ-SC", "HZ-XH"}]

# username, password, role, unit, display name. Demo passwords are fixed so that re-runs print the same.
DEMO_USERS = [
    ("admin", "admin-demo-2026", Role.ADMIN, "HZ", "系统管理员"),
    ("archivist", "archivist-demo-2026", Role.ARCHIVIST, "HZ", "档案员 李静"),
    ("clerk", "clerk-demo-2026", Role.CLERK, "HZ", "收费员 王强"),
    ("supervisor", "supervisor-demo-2026", Role.SUPERVISOR, "HZ", "稽查员 赵敏"),
    ("13800000000", "customer-demo-2026", Role.CUSTOMER, None, "张伟"),
]


def seed_units_and_users(session: Session) -> str:
    ensure_root_unit(session, "国网浙江省电力有限公司")
    for code, name, parent in DEMO_UNITS:
        if unit_by_code(session, code) is None:
            create_unit(session, code, name, parent)
    lines = []
    for username, password, role, unit_code, name in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(
                session,
                username,
                password,
                role,
                unit_by_code(session, unit_code) if unit_code else None,
                name=name,
            )
        lines.append(f"  {role:<10} {username:<12} password: {password}")
    return "units and users ready; sign in with:\n" + "\n".join(lines)
