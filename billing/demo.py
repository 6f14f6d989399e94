"""Demo accounts: a few hundred accounts of every category and capacity tier around Hangzhou."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.accounts import bind_account, create_account
from billing.models import Account
from core.demo import STATION_CODES
from core.identity import User

DEMO_ACCOUNT_COUNT = 300
DEMO_CUSTOMER = "13800000000"
# The demo customer's own account; its details are in README.md so a new user can bind it.
DEMO_CUSTOMER_ACCOUNTS = [
    {"account_no": "3301000001", "holder_name": "张伟", "id_last4": "1234"},
    {"account_no": "3301000002", "holder_name": "张伟", "id_last4": "1234"},
]
HANGZHOU = (30.2741, 120.1551)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平红霞玉兰桂芝海燕鹏飞宇浩然子涵欣怡思远"
_STREETS = [
    "延安路",
    "解放路",
    "庆春路",
    "凤起路",
    "文三路",
    "天目山路",
    "之江路",
    "南山路",
    "体育场路",
    "江南大道",
]
_COMPANIES = [
    "杭州某某科技有限公司",
    "西湖食品厂",
    "钱江机械制造有限公司",
    "之江纺织厂",
    "湖滨商贸中心",
    "城西物流园",
    "转塘建材市场",
    "文新数码城",
]

# category, tariff code, capacity range (kVA), weight
_PROFILES = [
    ("residential", "ZJ-RES-TIER", (4, 12), 60),
    ("residential", "ZJ-RES-TOU", (8, 16), 10),
    ("general", "ZJ-GEN-FLAT", (20, 49), 8),
    ("general", "ZJ-GEN-FLAT", (50, 250), 8),
    ("large_industrial", "ZJ-LI-TOU", (315, 2500), 8),
    ("agricultural", "ZJ-AGR-FLAT", (10, 80), 6),
]


def _account_data(rng: random.Random, index: int) -> dict[str, object]:
    category, tariff, (lo, hi), _w = rng.choices(_PROFILES, weights=[p[3] for p in _PROFILES])[0]
    holder = (
        rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
        if category in {"residential", "agricultural"}
        else rng.choice(_COMPANIES)
    )
    return {
        "account_no": f"33010{index:05d}",
        "holder_name": holder,
        "id_last4": f"{rng.randint(0, 9999):04d}",
        "address": f"杭州市{rng.choice(_STREETS)}{rng.randint(1, 999)}号",
        "lat": round(HANGZHOU[0] + rng.uniform(-0.08, 0.08), 6),
        "lon": round(HANGZHOU[1] + rng.uniform(-0.10, 0.10), 6),
        "category": category,
        "capacity_kva": Decimal(rng.randint(lo, hi)),
        "tariff_code": tariff,
        "unit_code": rng.choice(STATION_CODES),
        "connected_on": dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3800)),
    }


def seed_accounts(session: Session) -> str:
    key = current_app.config["ID_HASH_KEY"]
    rng = random.Random(20261128)
    existing = set(session.scalars(select(Account.account_no)))
    created = 0
    for index in range(1, DEMO_ACCOUNT_COUNT + 1):
        data = _account_data(rng, index)
        if index <= len(DEMO_CUSTOMER_ACCOUNTS):
            data.update(
                DEMO_CUSTOMER_ACCOUNTS[index - 1],
                category="residential",
                tariff_code="ZJ-RES-TIER",
                capacity_kva=Decimal(8),
                unit_code="HZ-SC-01",
            )
        if data["account_no"] in existing:
            continue
        create_account(session, data, id_hash_key=key, actor=None)
        created += 1
    customer = session.scalar(select(User).where(User.username == DEMO_CUSTOMER))
    if customer is not None:
        first = DEMO_CUSTOMER_ACCOUNTS[0]
        bind_account(session, customer, first["account_no"], first["holder_name"], first["id_last4"], id_hash_key=key)
    total = session.scalar(select(func.count(Account.id)))
    return (
        f"{created} accounts created, {total} in all; demo customer bound to {DEMO_CUSTOMER_ACCOUNTS[0]['account_no']}"
        f" (bind {DEMO_CUSTOMER_ACCOUNTS[1]['account_no']} yourself: holder 张伟, ID last 4 digits 1234)"
    )
