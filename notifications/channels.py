"""Channel implementations: Web Push (pywebpush + VAPID), e-mail over SMTP, SMS gateways."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import smtplib
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPusher

from .interfaces import DeliveryError, Outgoing, PushTarget
from .push_targets import PushTargetRefused, check_scheme, guarded_session

log = logging.getLogger(__name__)


# --- VAPID ----------------------------------------------------------------------------------------


def load_vapid(private_key: str) -> Vapid:
    """A Vapid from a PEM file path, PEM text, or the base64url raw/DER key that py-vapid prints."""
    if private_key.strip().startswith("-----BEGIN"):
        return Vapid.from_pem(private_key.strip().encode())
    if len(private_key) < 512 and Path(private_key).is_file():
        return Vapid.from_file(private_key)
    return Vapid.from_string(private_key=private_key)


def ensure_vapid_file(path: Path) -> Vapid:
    """The instance's own VAPID key pair (made once), for installs that set no VAPID_PRIVATE_KEY."""
    if path.exists():
        return Vapid.from_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    vapid = Vapid()
    vapid.generate_keys()
    vapid.save_key(str(path))
    path.chmod(0o600)
    return vapid


def application_server_key(vapid: Vapid) -> str:
    """The public key in the form browsers want for ``applicationServerKey`` (base64url, no padding)."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class WebPushSender:
    """Encrypts (aes128gcm) and posts to the browser's push service, reusing connections and VAPID tokens.

    Only to public https push services (``push_targets``), checked on every connection; ``local_hosts`` are
    exempt (a local test service)."""

    def __init__(self, vapid: Vapid, subject: str, *, timeout: float = 10.0, local_hosts: frozenset[str] = frozenset()):
        self.vapid = vapid
        self.subject = subject
        self.timeout = timeout
        self.local_hosts = local_hosts
        self._session = guarded_session(local_hosts)
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def _vapid_headers(self, endpoint: str) -> dict[str, str]:
        url = urlparse(endpoint)
        audience = f"{url.scheme}://{url.netloc}"
        now = time.time()
        with self._lock:
            cached = self._tokens.get(audience)
            if cached and cached[0] > now + 600:
                return cached[1]
            expires = int(now) + 12 * 3600
            headers = self.vapid.sign({"sub": self.subject, "aud": audience, "exp": expires})
            self._tokens[audience] = (expires, headers)
            return dict(headers)

    def send(self, target: PushTarget, outgoing: Outgoing) -> None:
        try:
            check_scheme(target.endpoint, self.local_hosts)
        except PushTargetRefused as exc:
            raise DeliveryError(f"push endpoint not allowed: {exc}", permanent=True) from exc
        payload = json.dumps(
            {"title": outgoing.title, "body": outgoing.body, "url": outgoing.url, "message_id": outgoing.message_id},
            ensure_ascii=False,
        )
        headers: dict[str, Any] = dict(self._vapid_headers(target.endpoint))
        # the push service replaces an undelivered message with the same topic: a resend is not a duplicate
        headers["Topic"] = f"m{outgoing.message_id}"
        headers["Urgency"] = "normal"
        pusher = WebPusher(
            {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}},
            requests_session=self._session,
        )
        try:
            response = pusher.send(
                payload, headers, ttl=outgoing.ttl_seconds, content_encoding="aes128gcm", timeout=self.timeout
            )
        except PushTargetRefused as exc:
            raise DeliveryError(f"push endpoint not allowed: {exc}", permanent=True) from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"push service unreachable: {type(exc).__name__}") from exc
        assert not isinstance(response, str)
        status = response.status_code
        if status in (404, 410):
            raise DeliveryError(f"subscription gone ({status})", gone=True)
        if status == 429 or status >= 500:
            raise DeliveryError(f"push service answered {status}")
        if status > 202:
            raise DeliveryError(f"push service refused the message ({status}): {response.text[:200]}", permanent=True)


# --- e-mail ---------------------------------------------------------------------------------------


class SmtpMailer:
    """Plain SMTP with an optional STARTTLS and login; one connection is reused until ``close``."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 10.0,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout
        self._smtp: smtplib.SMTP | None = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            self._smtp = smtp
        return self._smtp

    def send(self, to: str, outgoing: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = outgoing.title
        mail["Date"] = formatdate(localtime=False)
        # a stable Message-ID lets mail systems drop a resend of the same message
        mail["Message-ID"] = f"<griddesk-message-{outgoing.message_id}@{self.sender.rsplit('@', 1)[-1]}>"
        mail.set_content(outgoing.body)
        for attachment in outgoing.attachments:
            maintype, subtype = attachment.mime.split("/", 1)
            mail.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
        try:
            self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            raise DeliveryError(f"recipient refused: {to}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryError(f"SMTP {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP server unreachable: {type(exc).__name__}") from exc

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(TimeoutError, OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


class NoMailer:
    """No SMTP_HOST configured: e-mail deliveries fail for good (and are dead-lettered, so it shows)."""

    def send(self, to: str, outgoing: Outgoing) -> None:
        raise DeliveryError("e-mail is not configured (SMTP_HOST)", permanent=True)

    def close(self) -> None:
        pass


# --- SMS ------------------------------------------------------------------------------------------


class LoggingSmsGateway:
    """Writes each SMS to the log and keeps the last ones in memory: for development and tests.

    A real gateway (Aliyun, Tencent Cloud SMS, an operator's SMPP bridge) implements ``SmsGateway``.
    """

    def __init__(self, keep: int = 1000):
        self.sent: list[tuple[str, str]] = []
        self.keep = keep

    def send(self, phone: str, outgoing: Outgoing) -> None:
        if not phone.lstrip("+").isdigit():
            raise DeliveryError(f"not a phone number: {phone!r}", permanent=True)
        text = f"【GridDesk】{outgoing.title}: {outgoing.body}"
        log.info("SMS to %s: %s", phone, text)
        self.sent.append((phone, text))
        del self.sent[: -self.keep]

    def send_code(self, phone: str, code: str) -> None:
        # the demo has no SMS provider: whoever signs up reads the code in the server's log
        log.warning("SMS verification code for %s: %s (SMS_GATEWAY=log: no message was sent)", phone, code)
        self.sent.append((phone, code))
        del self.sent[: -self.keep]

    def last_code(self, phone: str) -> str | None:
        """The last verification code sent to ``phone`` (a test's or a developer's view of the log)."""
        return next((text for to, text in reversed(self.sent) if to == phone and text.isdigit()), None)
