"""Where Web Push may send: https to public addresses only, a configured local test service excepted."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pytest

from notifications import push_targets
from notifications.push_targets import PushTargetRefused, check_endpoint, guarded_session, parse_local_hosts
from tests.mapping.local_http import serve

# what our stand-in DNS answers; IP literals resolve to themselves, anything else does not resolve
NAMES = {
    "fcm.googleapis.com": ["142.250.72.10", "2a00:1450:4001:80b::200a"],
    "localhost": ["127.0.0.1", "::1"],
    "push.attacker.test": ["10.1.2.3"],
    "mixed.attacker.test": ["142.250.72.10", "192.168.1.20"],
}


def _fake_resolve(host: str, port: int) -> list[str]:
    if host in NAMES:
        return NAMES[host]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    return [str(info[4][0]) for info in infos]


@pytest.fixture(autouse=True)
def _dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push_targets, "resolve", _fake_resolve)


REFUSED = [
    "http://fcm.googleapis.com/fcm/send/abc",  # not https
    "https://127.0.0.1/push",
    "http://127.0.0.1:5301/push/x",
    "https://localhost/push",
    "https://push.attacker.test/push",  # a name that resolves to a private address
    "https://mixed.attacker.test/push",  # one of its addresses is private
    "https://10.0.0.8/push",
    "https://172.16.0.1/push",
    "https://192.168.1.1/push",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/push",  # shared address space (carrier NAT)
    "https://0.0.0.0/push",
    "https://224.0.0.1/push",
    "https://[::1]/push",
    "https://[fe80::1]/push",
    "https://[fd00::1]/push",
    "https://[::ffff:127.0.0.1]/push",
    "https://nowhere.invalid/push",  # does not resolve
    "https://user@fcm.googleapis.com/push",
    "https:///push",
]


@pytest.mark.parametrize("endpoint", REFUSED)
def test_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(PushTargetRefused):
        check_endpoint(endpoint, frozenset())


@pytest.mark.parametrize(
    "endpoint", ["https://fcm.googleapis.com/fcm/send/abc", "https://142.250.72.10:8443/x", "https://[2a00:1450::1]/x"]
)
def test_https_to_public_addresses_is_allowed(endpoint: str) -> None:
    check_endpoint(endpoint, frozenset())


def test_a_configured_local_host_is_exempt_and_nothing_else() -> None:
    local = parse_local_hosts("127.0.0.1, [::1]:8443")
    check_endpoint("http://127.0.0.1:5301/push/x", local)
    check_endpoint("http://[::1]:8443/push/x", local)
    for endpoint in ("http://127.0.0.2/push", "http://localhost:5301/push", "http://[::1]:8444/push"):
        with pytest.raises(PushTargetRefused):
            check_endpoint(endpoint, local)


def test_nothing_is_exempt_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from notifications import _settings

    monkeypatch.delenv("PUSH_ALLOWED_LOCAL_HOSTS", raising=False)
    app = SimpleNamespace(config={})
    _settings(app)
    assert parse_local_hosts(app.config["PUSH_ALLOWED_LOCAL_HOSTS"]) == frozenset()


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """One lookup per connection, and the socket opens to its answer: a name that resolves to a public address
    for the check and to a private one a moment later never reaches the private one."""
    answers = iter([["142.250.72.10"], ["127.0.0.1"]])
    monkeypatch.setattr(push_targets, "resolve", lambda host, port: next(answers))
    dialled: list[tuple[str, int]] = []

    def dial(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        dialled.append(address)
        raise ConnectionRefusedError("test: nobody there")

    monkeypatch.setattr(push_targets, "create_connection", dial)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("resolved outside the check"))
    with pytest.raises(Exception):  # noqa: B017  (requests' ConnectionError; what matters is where it dialled)
        guarded_session(frozenset()).post("https://rebinding.attacker.test/push", data=b"x", timeout=5)
    assert dialled == [("142.250.72.10", 443)]


def test_a_redirect_to_a_private_address_is_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection is checked, those a redirect opens too (the exempt test service sends one away)."""
    hops: list[str] = []

    def redirect(request: Any, _body: bytes) -> tuple[int, dict[str, str], bytes]:
        hops.append(request.path)
        port = request.server.server_address[1]
        return 307, {"Location": f"http://127.0.0.2:{port}/elsewhere"}, b""

    with serve(redirect) as (url, _log), pytest.raises(PushTargetRefused):
        guarded_session(parse_local_hosts("127.0.0.1")).post(f"{url}/push/x", data=b"x", timeout=5)
    assert hops == ["/push/x"]
