"""One payment recorder per database, each a ``PaymentRecorder``."""

from __future__ import annotations

import pytest

from billing.interfaces import PaymentRecorder
from billing.recorders import DatabaseFunctionRecorder, PythonPlanRecorder, recorder_for


@pytest.mark.parametrize("recorder", [DatabaseFunctionRecorder(), PythonPlanRecorder("sqlite")], ids=type)
def test_each_recorder_is_a_payment_recorder(recorder) -> None:
    assert isinstance(recorder, PaymentRecorder)


def test_the_database_picks_its_recorder_once(session) -> None:
    picked = recorder_for(session)
    expected = DatabaseFunctionRecorder if session.get_bind().dialect.name == "postgresql" else PythonPlanRecorder
    assert type(picked) is expected and recorder_for(session) is picked
