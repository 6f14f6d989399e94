"""Fixtures shared by the billing tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from billing import online
from billing.online.simulator import AlipaySimulator


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The app on a real port, so that the simulator's notices reach it over HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["ONLINE_PAY_PUBLIC_URL"] = base
    online.configure(app.config)
    yield base
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def alipay(app: Any) -> Iterator[AlipaySimulator]:
    sim = AlipaySimulator(Path(app.config["INSTANCE_DIR"]) / "payment_simulator", delays=(0.0, 0.2, 0.4, 0.8, 1.6))
    sim.start()
    saved = {k: app.config.get(k) for k in ("PAYMENT_SIMULATOR_URL", "ONLINE_PAY_PUBLIC_URL", "ALIPAY_APP_ID")}
    app.config.update(PAYMENT_SIMULATOR_URL=sim.url, ALIPAY_APP_ID="")
    online.configure(app.config)
    yield sim
    sim.stop()
    app.config.update(saved)
    online.configure(app.config)
