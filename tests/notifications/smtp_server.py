"""A real SMTP server (aiosmtpd) on 127.0.0.1 in the allowed port range, keeping what it receives."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.mapping.local_http import free_port


@dataclasses.dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = dataclasses.field(default_factory=list)
    refuse: set[str] = dataclasses.field(default_factory=set)


class _Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:  # noqa: N802
        if address in self.box.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.box.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@contextmanager
def channels_with_smtp(app: Any, box: Mailbox) -> Iterator[Any]:
    """Point the running app's e-mail channel at ``box`` for the duration."""
    from notifications import build_channels, runtime

    before = runtime.current()
    config = {**app.config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": box.port, "SMTP_FROM": "notice@griddesk.test"}
    channels, _vapid = build_channels(config)
    runtime.configure(channels)
    try:
        yield channels
    finally:
        runtime.configure(before)
