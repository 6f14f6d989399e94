"""``make run`` for real: its worker and beat are supervised, one beat only, and nothing outlives the dev server."""

from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mapping.local_http import free_port
from webapp.serving import SERVER_HEADER

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    os.environ.get("GRIDDESK_REQUIRE_SERVICES") == "1",
    reason="make run's embedded setup (SQLite, files for the queue) is the same in both suites; the first one runs it",
)


def _wait(what: str, found: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (parent, cmdline)
    return found


def _children(pid: int) -> dict[str, int]:
    """The dev server's celery children by role ('worker', 'beat')."""
    roles = {}
    for child, (parent, cmdline) in _processes().items():
        if parent == pid and "celery" in cmdline:
            roles["beat" if " beat " in f"{cmdline} " else "worker"] = child
    return roles


def _both_running(pid: int, besides: int = 0) -> dict[str, int] | None:
    """The worker and beat pids once both run (the worker not being ``besides``, one killed before)."""
    children = _children(pid)
    ready = {"worker", "beat"} <= set(children) and children["worker"] != besides
    return children if ready and all(_alive(child) for child in children.values()) else None


def _descendants(pid: int) -> set[int]:
    table = _processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _cmd) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _server_header(port: int) -> str | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/login")
        response = connection.getresponse()
        response.read()
        return response.getheader("Server")
    except OSError:
        return None
    finally:
        connection.close()


def _get_text(url: str) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local test server)
            return str(response.read().decode())
    except OSError:
        return None


def _spare_port() -> int:
    """A free port from the top of the test range, picked at random: the dev server takes seconds to bind it, and
    the lowest free one is what other tests' servers pick meanwhile."""
    for port in random.sample(range(5350, 5400), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_"))}
    env.update(
        {
            "GRIDDESK_INSTANCE": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'griddesk.db'}",
            "BLOB_DIR": str(tmp_path / "instance" / "blobs"),
            "SEARCH_INDEX_DIR": str(tmp_path / "instance" / "search"),
            "HOST": "127.0.0.1",
            "PORT": str(_spare_port()),
        }
    )
    env["PAYMENT_SIMULATOR_PORT"] = str(next(p for p in iter(_spare_port, None) if str(p) != env["PORT"]))
    return env


@pytest.fixture
def dev_server(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(tmp_path / "devserver.log", "wb")  # noqa: SIM115  (closed below, after the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "webapp.devserver"], cwd=ROOT, env=embedded_env, stdout=log, stderr=subprocess.STDOUT
    )
    everything = {proc.pid}
    try:
        yield proc
    finally:
        everything |= _descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in everything:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()


def test_make_run_supervises_one_beat_and_leaves_nothing_behind(dev_server, embedded_env, tmp_path) -> None:
    port = int(embedded_env["PORT"])
    log = tmp_path / "devserver.log"
    try:
        # only once it says it listens is whoever answers on the port this dev server
        _wait(
            "the web server to listen", lambda: f"Running on http://127.0.0.1:{port}" in log.read_text(errors="replace")
        )
        assert _server_header(port) == SERVER_HEADER
        first = _wait("worker and beat", lambda: _both_running(dev_server.pid))
        # the payment simulator runs beside them and answers as Alipay does (a signed refusal of an unsigned call)
        simulator = f"http://127.0.0.1:{embedded_env['PAYMENT_SIMULATOR_PORT']}/gateway.do"
        assert "isv.invalid-signature" in _wait("the payment simulator", lambda: _get_text(simulator))
        # and as WeChat Pay does on the same port (an unsigned API call: 401 SIGN_ERROR)
        import urllib.error
        import urllib.request

        wechat = f"http://127.0.0.1:{embedded_env['PAYMENT_SIMULATOR_PORT']}/v3/certificates"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wechat, timeout=5)  # noqa: S310 (a local test server)
        assert refused.value.code == 401 and b"SIGN_ERROR" in refused.value.read()

        # beat holds the instance's beat lock (webapp.beat): a second beat would stop at once
        lock = Path(embedded_env["GRIDDESK_INSTANCE"]) / "celery" / "beat-schedule.lock"
        _wait("beat to take its lock", lambda: lock.exists() and lock.read_text().strip() == str(first["beat"]))

        # a killed worker is started again; beat was never its child, so it stays the one beat
        os.kill(first["worker"], signal.SIGKILL)
        again = _wait("a new worker", lambda: _both_running(dev_server.pid, besides=first["worker"]))
        assert again["beat"] == first["beat"]
        table = _processes()
        beats = [pid for pid in _descendants(dev_server.pid) if " beat " in f"{table.get(pid, (0, ''))[1]} "]
        assert beats == [first["beat"]]

        # the dev server killed outright takes its worker and beat with it
        everything = _descendants(dev_server.pid)
        os.kill(dev_server.pid, signal.SIGKILL)
        dev_server.wait(timeout=30)
        assert _wait("the children to exit", lambda: not any(_alive(pid) for pid in everything | {first["beat"]}))
    except AssertionError:
        print((tmp_path / "devserver.log").read_text(errors="replace")[-4000:])
        raise
