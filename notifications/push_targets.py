"""Where Web Push may send: public https push services only, checked when a browser subscribes and again on
every connection the worker makes (DNS may have changed since).

A subscription's endpoint is a URL the browser hands us; without these checks anyone signed in could make the
worker POST to ``http://127.0.0.1:...`` or a cloud metadata address (blind SSRF). Every address the host
resolves to must be global (not private, loopback, link-local, shared, reserved or multicast), and the worker
connects to the very address it checked, so a name that resolves differently a second later gains nothing.

``PUSH_ALLOWED_LOCAL_HOSTS`` (empty by default) names hosts, ``host`` or ``host:port``, exempt from both rules:
for a local test push service only, never in production.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.connection import create_connection


class PushTargetRefused(Exception):
    """The endpoint is not a public https push service (nor a configured local one)."""


def parse_local_hosts(setting: str) -> frozenset[str]:
    """``PUSH_ALLOWED_LOCAL_HOSTS``: names separated by commas or spaces, compared without case."""
    return frozenset(part.strip().lower() for part in setting.replace(",", " ").split() if part.strip())


def resolve(host: str, port: int) -> list[str]:
    """The addresses a connection to ``host`` could reach (tests replace this to play DNS)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _exempt(host: str, port: int, local_hosts: Collection[str]) -> bool:
    host = host.lower().strip("[]")
    return bool(local_hosts) and bool({host, f"{host}:{port}", f"[{host}]:{port}"} & set(local_hosts))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is no part of the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def public_address(host: str, port: int) -> str:
    """An address of ``host`` to connect to, if every address it resolves to is public; else PushTargetRefused."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise PushTargetRefused(f"the push service's name {host!r} does not resolve") from exc
    if not addresses:
        raise PushTargetRefused(f"the push service's name {host!r} does not resolve")
    private = [a for a in addresses if not _is_public(a)]
    if private:
        raise PushTargetRefused(f"the push service {host!r} is at a non-public address ({private[0]})")
    return addresses[0]


def _host_and_port(endpoint: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise PushTargetRefused("the endpoint is not a URL") from exc
    if not host or parts.username is not None or parts.password is not None:
        raise PushTargetRefused("the endpoint has no plain host name")
    return parts.scheme.lower(), host, port or (443 if parts.scheme.lower() == "https" else 80)


def check_scheme(endpoint: str, local_hosts: Collection[str]) -> tuple[str, int]:
    """The endpoint's host and port, if it is https (or an exempt local host); else PushTargetRefused."""
    scheme, host, port = _host_and_port(endpoint)
    if scheme != "https" and not (scheme == "http" and _exempt(host, port, local_hosts)):
        raise PushTargetRefused("push services are reached over https only")
    return host, port


def check_endpoint(endpoint: str, local_hosts: Collection[str]) -> None:
    """Refuse (PushTargetRefused) anything but https to a host whose every address is public."""
    host, port = check_scheme(endpoint, local_hosts)
    if not _exempt(host, port, local_hosts):
        public_address(host, port)


def guarded_session(local_hosts: Collection[str]) -> requests.Session:
    """A requests session that connects only to public addresses (checked on each new connection, redirects
    included) or the exempt local hosts. Proxies from the environment are not used: through a proxy the
    address could not be checked."""
    exempt = frozenset(local_hosts)

    def new_conn(connection: Any) -> socket.socket:
        host = connection.host
        address = host if _exempt(host, connection.port, exempt) else public_address(host, connection.port)
        try:
            return create_connection(
                (address, connection.port),
                connection.timeout,
                source_address=connection.source_address,
                socket_options=connection.socket_options,
            )
        except OSError as exc:
            raise NewConnectionError(connection, f"Failed to establish a new connection: {exc}") from exc

    class Plain(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return new_conn(self)

    class Secure(HTTPSConnection):  # TLS still checks the certificate against the host name
        def _new_conn(self) -> socket.socket:
            return new_conn(self)

    class PlainPool(HTTPConnectionPool):
        ConnectionCls = Plain

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = Secure

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": PlainPool, "https": SecurePool}

    session = requests.Session()
    session.trust_env = False
    session.mount("http://", Adapter())
    session.mount("https://", Adapter())
    return session
