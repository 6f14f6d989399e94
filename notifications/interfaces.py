"""The channels' protocols. Implementations live in ``channels.py`` and are chosen by configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DeliveryError(Exception):
    """A send failed. ``permanent`` failures are not retried; ``gone`` means the target no longer exists."""

    def __init__(self, message: str, *, permanent: bool = False, gone: bool = False):
        super().__init__(message)
        self.permanent = permanent or gone
        self.gone = gone


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


@dataclass(frozen=True)
class Outgoing:
    """What every channel gets: the words, and ids that make a resend recognisable as the same message."""

    message_id: int
    title: str
    body: str
    url: str = "/"
    ttl_seconds: int = 86_400
    attachments: tuple[Attachment, ...] = ()  # e-mail only (an e-invoice's or e-bill's PDF)


class PushSender(Protocol):
    def send(self, target: PushTarget, outgoing: Outgoing) -> None: ...


class Mailer(Protocol):
    def send(self, to: str, outgoing: Outgoing) -> None: ...

    def close(self) -> None: ...


class SmsGateway(Protocol):
    def send(self, phone: str, outgoing: Outgoing) -> None: ...

    def send_code(self, phone: str, code: str) -> None:
        """A one-time verification code (sign-up), through the provider's code template."""
