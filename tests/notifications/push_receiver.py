"""A local Web Push service: accepts pushes like a browser vendor's endpoint and decrypts them (aes128gcm)."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.mapping.local_http import serve


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class BrowserKeys:
    """What a browser keeps for one subscription: its ECDH key and the auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return _b64(raw)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": _b64(self.auth)}}


@dataclass
class PushService:
    url: str
    keys: dict[str, BrowserKeys] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)
    status_for: dict[str, int] = field(default_factory=dict)  # path -> status to answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, name: str) -> dict[str, Any]:
        keys = self.keys.setdefault(name, BrowserKeys())
        return keys.subscription(f"{self.url}/push/{name}")

    def payloads(self, name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r["payload"] for r in self.received if name is None or r["name"] == name]


@contextmanager
def push_service(decrypt: bool = True) -> Iterator[PushService]:
    holder: dict[str, PushService] = {}

    def handle(request: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        service = holder["service"]
        name = request.path.rsplit("/", 1)[-1]
        status = service.status_for.get(name, 201)
        if status < 300:
            record: dict[str, Any] = {"name": name, "headers": {k.lower(): v for k, v in request.headers.items()}}
            if decrypt and name in service.keys:
                keys = service.keys[name]
                plain = http_ece.decrypt(body, private_key=keys.private_key, auth_secret=keys.auth, version="aes128gcm")
                record["payload"] = json.loads(plain)
            else:
                record["payload"] = None
            with service.lock:
                service.received.append(record)
        return status, {}, b""

    with serve(handle) as (url, _log):
        holder["service"] = PushService(url)
        yield holder["service"]
