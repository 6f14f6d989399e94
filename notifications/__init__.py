"""Notifications: channels (inbox, Web Push, e-mail, SMS), subscriptions, fan-out, and their Celery tasks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .channels import LoggingSmsGateway, NoMailer, SmtpMailer, WebPushSender, ensure_vapid_file, load_vapid
from .push_targets import parse_local_hosts
from .runtime import Channels, configure


def _settings(app: Any) -> None:
    env = os.environ.get
    defaults = {
        "NOTIFY_BATCH_SIZE": int(env("NOTIFY_BATCH_SIZE", "500")),
        "NOTIFY_MAX_ATTEMPTS": int(env("NOTIFY_MAX_ATTEMPTS", "6")),
        "NOTIFY_RETRY_BASE_SECONDS": float(env("NOTIFY_RETRY_BASE_SECONDS", "30")),
        "NOTIFY_APP_URL": env("NOTIFY_APP_URL", ""),
        "PUSH_TIMEOUT": float(env("PUSH_TIMEOUT", "10")),
        # hosts exempt from "public https only" (push_targets): a local test push service, never production
        "PUSH_ALLOWED_LOCAL_HOSTS": env("PUSH_ALLOWED_LOCAL_HOSTS", ""),
        "SMTP_TIMEOUT": float(env("SMTP_TIMEOUT", "10")),
        "SMS_GATEWAY": env("SMS_GATEWAY", "log"),
        "SMS_ALIYUN_ACCESS_KEY_ID": env("SMS_ALIYUN_ACCESS_KEY_ID", ""),
        "SMS_ALIYUN_ACCESS_KEY_SECRET": env("SMS_ALIYUN_ACCESS_KEY_SECRET", ""),
        "SMS_ALIYUN_SIGN_NAME": env("SMS_ALIYUN_SIGN_NAME", ""),
        "SMS_ALIYUN_CODE_TEMPLATE": env("SMS_ALIYUN_CODE_TEMPLATE", ""),
        "SMS_ALIYUN_NOTICE_TEMPLATE": env("SMS_ALIYUN_NOTICE_TEMPLATE", ""),
        "SMS_ALIYUN_ENDPOINT": env("SMS_ALIYUN_ENDPOINT", "dysmsapi.aliyuncs.com"),
        "SMS_ALIYUN_PROTOCOL": env("SMS_ALIYUN_PROTOCOL", "https"),
        "REMINDER_DAYS_BEFORE_DUE": int(env("REMINDER_DAYS_BEFORE_DUE", "3")),
        "REMINDER_HOUR": int(env("REMINDER_HOUR", "9")),
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)


def sms_gateway(config: Any) -> Any:
    """``SMS_GATEWAY``: ``log`` (the default: messages and codes go to the log) or ``aliyun``."""
    kind = str(config.get("SMS_GATEWAY") or "log")
    if kind == "log":
        return LoggingSmsGateway()
    if kind == "aliyun":
        from .sms_aliyun import AliyunSmsGateway

        return AliyunSmsGateway(
            config["SMS_ALIYUN_ACCESS_KEY_ID"],
            config["SMS_ALIYUN_ACCESS_KEY_SECRET"],
            sign_name=config["SMS_ALIYUN_SIGN_NAME"],
            code_template=config["SMS_ALIYUN_CODE_TEMPLATE"],
            notice_template=config["SMS_ALIYUN_NOTICE_TEMPLATE"],
            endpoint=config.get("SMS_ALIYUN_ENDPOINT") or "dysmsapi.aliyuncs.com",
            protocol=config.get("SMS_ALIYUN_PROTOCOL") or "https",
        )
    raise ValueError(f"SMS_GATEWAY must be log or aliyun, not {kind!r}")


def build_channels(config: Any) -> tuple[Channels, Any]:
    """Channels from configuration; VAPID keys are made once under the instance folder when none are set."""
    if config.get("VAPID_PRIVATE_KEY"):
        vapid = load_vapid(config["VAPID_PRIVATE_KEY"])
    else:
        vapid = ensure_vapid_file(Path(config["INSTANCE_DIR"]) / "vapid_private.pem")
    local_hosts = parse_local_hosts(str(config.get("PUSH_ALLOWED_LOCAL_HOSTS", "")))
    push = WebPushSender(vapid, config["VAPID_SUBJECT"], timeout=float(config["PUSH_TIMEOUT"]), local_hosts=local_hosts)
    if config.get("SMTP_HOST"):

        def mailer() -> Any:
            return SmtpMailer(
                config["SMTP_HOST"],
                int(config["SMTP_PORT"]),
                sender=config["SMTP_FROM"],
                user=config["SMTP_USER"],
                password=config["SMTP_PASSWORD"],
                starttls=bool(config["SMTP_STARTTLS"]),
                timeout=float(config["SMTP_TIMEOUT"]),
            )

        mailer_factory: Any = mailer
    else:
        mailer_factory = NoMailer
    channels = Channels(
        push=push,
        push_local_hosts=local_hosts,
        mailer_factory=mailer_factory,
        sms=sms_gateway(config),
        batch_size=int(config["NOTIFY_BATCH_SIZE"]),
        max_attempts=int(config["NOTIFY_MAX_ATTEMPTS"]),
        retry_base_seconds=float(config["NOTIFY_RETRY_BASE_SECONDS"]),
        app_url=str(config["NOTIFY_APP_URL"]).rstrip("/"),
        due_reminder_days=int(config["REMINDER_DAYS_BEFORE_DUE"]),
    )
    return channels, vapid


def _health(config: Any) -> dict[str, Any]:
    """Always ok (a channel down delays messages, the inbox still works); shows what is failing."""
    import datetime as dt

    from sqlalchemy import func, select

    from core.db import db, utcnow

    from .models import DeadLetter, Delivery, DeliveryStatus

    since = utcnow() - dt.timedelta(hours=24)
    dead = db.session.scalar(select(func.count()).select_from(DeadLetter).where(DeadLetter.created_at >= since))
    waiting = db.session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
    )
    return {"ok": True, "smtp": bool(config.get("SMTP_HOST")), "dead_letters_24h": dead, "pending_deliveries": waiting}


def init_app(app: Any) -> None:
    """Register notifications's CLI commands, demo data, health checks and periodic tasks on a Flask app."""
    from . import cli, demo, subscribers

    _settings(app)
    channels, vapid = build_channels(app.config)
    configure(channels)
    app.extensions["griddesk_channels"] = channels
    app.extensions["griddesk_vapid"] = vapid
    subscribers.subscribe()
    app.extensions["griddesk_demo_seeders"].append((45, "notices", demo.seed_notices))
    cli.register(app)
    app.extensions["griddesk_health"]["notifications"] = lambda: _health(app.config)
    app.extensions["griddesk_beat"]["send-deferred-deliveries"] = {
        "task": "notifications.send_deferred_deliveries",
        "schedule": 60.0,
    }
    from celery.schedules import crontab

    hour = int(app.config["REMINDER_HOUR"])  # local time: the Celery app runs in DISPLAY_TIMEZONE
    app.extensions["griddesk_beat"]["due-date-reminders"] = {
        "task": "notifications.send_due_reminders",
        "schedule": crontab(hour=hour, minute=0),
    }
    app.extensions["griddesk_beat"]["arrears-reminders"] = {
        "task": "notifications.send_arrears_reminders",
        "schedule": crontab(hour=hour, minute=5),
    }
    app.extensions["griddesk_beat"]["resume-stalled-notifications"] = {
        "task": "notifications.resume_stalled_work",
        "schedule": 600.0,
    }
