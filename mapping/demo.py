"""Demo service points around Hangzhou: business halls, self-service terminals and charging stations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import unit_by_code

from .commands import NewServicePoint
from .models import ServicePoint
from .services import create_point

_WEEKDAYS = {d: "08:30-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
_HALL = {**_WEEKDAYS, "sat": "09:00-12:00,13:30-17:00"}
_ALWAYS = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_MALL = {d: "10:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
_HALL_SERVICES = ["bill_payment", "new_connection", "account_change", "invoice", "consultation", "meter_test"]
_TERMINAL_SERVICES = ["bill_payment", "invoice", "prepaid_card"]

# code, name, kind, address, lat, lon, hours, services, phone, unit
DEMO_POINTS = [
    ("HZ-YT-001", "国网杭州供电公司上城营业厅", "business_hall", "杭州市上城区解放路98号", 30.25826, 120.17105,
     _HALL, _HALL_SERVICES, "0571-95598", "HZ-SC"),
    ("HZ-YT-002", "湖滨营业厅", "business_hall", "杭州市上城区平海路30号", 30.26010, 120.16480,
     _HALL, _HALL_SERVICES, "0571-95598", "HZ-SC-01"),
    ("HZ-YT-003", "南星营业厅", "business_hall", "杭州市上城区江城路889号", 30.22780, 120.17390,
     _WEEKDAYS, _HALL_SERVICES, "0571-95598", "HZ-SC-02"),
    ("HZ-YT-004", "西湖营业厅", "business_hall", "杭州市西湖区文三路259号", 30.27935, 120.13942,
     _HALL, _HALL_SERVICES, "0571-95598", "HZ-XH"),
    ("HZ-YT-005", "文新营业厅", "business_hall", "杭州市西湖区文一西路75号", 30.28768, 120.10870,
     _WEEKDAYS, _HALL_SERVICES, "0571-95598", "HZ-XH-01"),
    ("HZ-YT-006", "转塘营业厅", "business_hall", "杭州市西湖区转塘街道美院南路60号", 30.14520, 120.08150,
     _WEEKDAYS, _HALL_SERVICES, "0571-95598", "HZ-XH-02"),
    ("HZ-YT-007", "滨江营业厅", "business_hall", "杭州市滨江区江南大道3900号", 30.21040, 120.21470,
     _HALL, _HALL_SERVICES, "0571-95598", None),
    ("HZ-YT-008", "拱墅营业厅", "business_hall", "杭州市拱墅区莫干山路545号", 30.30310, 120.14880,
     _WEEKDAYS, _HALL_SERVICES, "0571-95598", None),
    ("HZ-ZZ-001", "武林广场自助缴费终端", "self_service", "杭州市拱墅区武林广场1号杭州大厦B1", 30.27480, 120.16440,
     _MALL, _TERMINAL_SERVICES, "", "HZ-SC-01"),
    ("HZ-ZZ-002", "庆春路自助缴费终端", "self_service", "杭州市上城区庆春路118号", 30.26620, 120.17760,
     _ALWAYS, _TERMINAL_SERVICES, "", "HZ-SC-01"),
    ("HZ-ZZ-003", "黄龙体育中心自助终端", "self_service", "杭州市西湖区黄龙路1号", 30.27090, 120.13410,
     _MALL, _TERMINAL_SERVICES, "", "HZ-XH-01"),
    ("HZ-ZZ-004", "西溪印象城自助终端", "self_service", "杭州市余杭区五常大道1号", 30.27460, 120.05890,
     _MALL, _TERMINAL_SERVICES, "", None),
    ("HZ-ZZ-005", "城站火车站自助终端", "self_service", "杭州市上城区环城东路1号", 30.24540, 120.17940,
     _ALWAYS, _TERMINAL_SERVICES, "", "HZ-SC-02"),
    ("HZ-ZZ-006", "文三数码港自助终端", "self_service", "杭州市西湖区文三路398号", 30.27830, 120.12760,
     _MALL, _TERMINAL_SERVICES, "", "HZ-XH-01"),
    ("HZ-CD-001", "钱江新城市民中心充电站", "charging_station", "杭州市上城区解放东路18号", 30.24560, 120.21140,
     _ALWAYS, ["ev_charging_ac", "ev_charging_dc"], "0571-95598", None),
    ("HZ-CD-002", "西湖文化广场充电站", "charging_station", "杭州市拱墅区中山北路580号", 30.27830, 120.16600,
     _ALWAYS, ["ev_charging_dc"], "0571-95598", None),
    ("HZ-CD-003", "之江路充电站", "charging_station", "杭州市西湖区之江路1088号", 30.20160, 120.14740,
     _ALWAYS, ["ev_charging_ac", "ev_charging_dc"], "0571-95598", "HZ-XH-02"),
    ("HZ-CD-004", "滨江物联网街充电站", "charging_station", "杭州市滨江区物联网街451号", 30.19250, 120.19170,
     _ALWAYS, ["ev_charging_dc"], "0571-95598", None),
    ("HZ-CD-005", "紫金港充电站", "charging_station", "杭州市西湖区余杭塘路866号", 30.30340, 120.08530,
     {**_MALL, "sat": "08:00-23:00", "sun": "08:00-23:00"}, ["ev_charging_ac"], "0571-95598", "HZ-XH-01"),
    ("HZ-CD-006", "萧山机场充电站", "charging_station", "杭州市萧山区空港大道", 30.23460, 120.43440,
     _ALWAYS, ["ev_charging_ac", "ev_charging_dc"], "0571-95598", None),
]  # fmt: skip


def seed_service_points(session: Session) -> str:
    have = set(session.scalars(select(ServicePoint.code)))
    added = 0
    for code, name, kind, address, lat, lon, hours, services, phone, unit_code in DEMO_POINTS:
        if code in have:
            continue
        data = {
            "code": code,
            "name": name,
            "kind": kind,
            "address": address,
            "lat": lat,
            "lon": lon,
            "hours": hours,
            "services": services,
            "phone": phone,
        }
        unit = unit_by_code(session, unit_code) if unit_code else None
        create_point(session, NewServicePoint.parse(data), actor=None, unit=unit)
        added += 1
    return f"service points: {added} added, {len(have)} already there (open /map to see them)"
