"""The channels in use, set up once per process by ``notifications.init_app`` from configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .channels import LoggingSmsGateway, NoMailer
from .interfaces import Mailer, PushSender, SmsGateway


@dataclass
class Channels:
    push: PushSender | None = None
    push_local_hosts: frozenset[str] = frozenset()  # PUSH_ALLOWED_LOCAL_HOSTS (push_targets)
    mailer_factory: Callable[[], Mailer] = NoMailer
    sms: SmsGateway = field(default_factory=LoggingSmsGateway)
    batch_size: int = 500
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    app_url: str = ""
    due_reminder_days: int = 3


CHANNELS = Channels()


def configure(channels: Channels) -> None:
    global CHANNELS
    CHANNELS = channels


def current() -> Channels:
    return CHANNELS
