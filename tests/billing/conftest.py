"""Fixtures shared by the billing tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from billing import online


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
