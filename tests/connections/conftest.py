"""Business handling tests: the world with the tariffs a new connection is put on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.support import add_tariffs


@pytest.fixture(autouse=True)
def tariffs(world: Any, session: Any) -> None:
    add_tariffs(session)
    session.commit()
