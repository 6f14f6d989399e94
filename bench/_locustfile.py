"""The users of ``bench.load`` (locust reads this file; run ``python -m bench.load``, not this).

Customers open their home (account summary), bills, usage and inbox; staff search the archive. Who they are
(bearer tokens, account numbers, search words) comes from the JSON file named by ``GRIDDESK_LOAD_PLAN``, written
by ``bench.load``. ``GRIDDESK_LOAD_PACED=1`` makes every user pause 1-3 s between pages; otherwise none.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, between, constant, task

PLAN = json.loads(Path(os.environ["GRIDDESK_LOAD_PLAN"]).read_text(encoding="utf-8"))
PACED = os.environ.get("GRIDDESK_LOAD_PACED") == "1"
_customers = itertools.cycle(PLAN["customers"])
_staff = itertools.cycle(PLAN["staff"])


class Customer(FastHttpUser):
    weight = 9
    wait_time = between(1, 3) if PACED else constant(0)

    def on_start(self) -> None:
        me = next(_customers)
        self.headers = {"Authorization": f"Bearer {me['token']}"}
        self.account = me["account_no"]

    @task(4)
    def home(self) -> None:
        self.client.get(f"/api/v1/accounts/{self.account}", headers=self.headers, name="home")

    @task(2)
    def bills(self) -> None:
        self.client.get(f"/api/v1/accounts/{self.account}/bills", headers=self.headers, name="bills")

    @task(2)
    def usage(self) -> None:
        self.client.get(f"/api/v1/accounts/{self.account}/usage", headers=self.headers, name="usage")

    @task(1)
    def inbox(self) -> None:
        self.client.get("/api/v1/me/notifications", headers=self.headers, name="inbox")


class Staff(FastHttpUser):
    weight = 1
    wait_time = between(1, 3) if PACED else constant(0)

    def on_start(self) -> None:
        me = next(_staff)
        self.headers = {"Authorization": f"Bearer {me['token']}"}

    @task
    def search(self) -> None:
        word = random.choice(PLAN["words"])
        self.client.get(f"/api/v1/archive/search?q={word}", headers=self.headers, name="staff search")
