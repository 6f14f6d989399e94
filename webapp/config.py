"""Configuration from environment variables, with safe defaults for the embedded mode (``make run``)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from core import clock


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _persistent_secret(instance: Path) -> str:
    """A random SECRET_KEY kept under instance/ so sessions survive restarts without configuration."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def from_environment(instance_path: str) -> dict[str, Any]:
    instance = Path(os.environ.get("GRIDDESK_INSTANCE", instance_path))
    secret = os.environ.get("SECRET_KEY") or _persistent_secret(instance)
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    queue_dir = instance / "celery" / "queue"
    return {
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": secret,
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'griddesk.db'}"),
        # The id_last4 keyed hash must not change when SECRET_KEY rotates, hence its own key.
        "ID_HASH_KEY": os.environ.get("ID_HASH_KEY", secret),
        "API_TOKEN_TTL": int(os.environ.get("API_TOKEN_TTL", "43200")),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(instance / "search")),
        "BLOB_DIR": os.environ.get("BLOB_DIR", str(instance / "blobs")),
        # archive backends: whoosh (files under SEARCH_INDEX_DIR) or postgres (tables of DATABASE_URL);
        # file (BLOB_DIR) or s3 (any S3-API object store)
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "whoosh"),
        "BLOB_STORE": os.environ.get("BLOB_STORE", "file"),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL", ""),
        "S3_BUCKET": os.environ.get("S3_BUCKET", ""),
        "S3_ACCESS_KEY_ID": os.environ.get("S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": os.environ.get("S3_SECRET_ACCESS_KEY", ""),
        "S3_REGION": os.environ.get("S3_REGION", ""),
        "S3_PREFIX": os.environ.get("S3_PREFIX", ""),
        "S3_ADDRESSING_STYLE": os.environ.get("S3_ADDRESSING_STYLE", "auto"),
        "CELERY": {
            "broker_url": broker,
            "result_backend": os.environ.get(
                "CELERY_RESULT_BACKEND",
                f"file://{instance / 'celery' / 'results'}" if broker.startswith("filesystem") else broker,
            ),
            "broker_transport_options": {
                "data_folder_in": str(queue_dir),
                "data_folder_out": str(queue_dir),
                "processed_folder": str(instance / "celery" / "processed"),
                # kombu's exchange tables; relative by default, which wrote them into the working directory
                "control_folder": str(instance / "celery" / "control"),
                "store_processed": False,
            }
            if broker.startswith("filesystem")
            else {},
            "task_always_eager": _bool("CELERY_TASK_ALWAYS_EAGER", False),
            "task_eager_propagates": True,
            "task_serializer": "json",
            "result_serializer": "json",
            "accept_content": ["json"],
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "enable_utc": True,
            "broker_connection_retry_on_startup": True,
        },
        # core.outbox: a process queues at most one relay task per OUTBOX_KICK_SECONDS (0: one per commit, the
        # default when tasks run eagerly); celery beat relays every OUTBOX_SWEEP_SECONDS whatever happened
        "OUTBOX_KICK_SECONDS": float(os.environ.get("OUTBOX_KICK_SECONDS", "0.2")),
        "OUTBOX_SWEEP_SECONDS": float(os.environ.get("OUTBOX_SWEEP_SECONDS", "10")),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_SIGNIN": os.environ.get("RATELIMIT_SIGNIN", "10 per minute;50 per hour"),
        "RATELIMIT_BINDING": os.environ.get("RATELIMIT_BINDING", "5 per minute;20 per hour"),
        # per client address: sign-ups tried, and verification codes sent
        "RATELIMIT_SIGNUP": os.environ.get("RATELIMIT_SIGNUP", "10 per hour;30 per day"),
        "RATELIMIT_SMS_CODE": os.environ.get("RATELIMIT_SMS_CODE", "5 per hour;20 per day"),
        # reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none, use the peer)
        "TRUSTED_PROXY_COUNT": int(os.environ.get("TRUSTED_PROXY_COUNT", "0")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        # a sign-in without "remember me" ends after this long even if the browser stays open
        "SIGN_IN_LIFETIME": dt.timedelta(hours=int(os.environ.get("SIGN_IN_LIFETIME_HOURS", "12"))),
        # "remember me": the cookie and its server-side sign-in last this long
        "REMEMBER_COOKIE_DURATION": dt.timedelta(days=int(os.environ.get("REMEMBER_COOKIE_DAYS", "14"))),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "LANGUAGES": ["zh_CN", "en"],
        # the one local zone (core.clock): shown times, "today", Babel's dates and Celery beat's schedule
        "DISPLAY_TIMEZONE": os.environ.get("DISPLAY_TIMEZONE", clock.DEFAULT_ZONE),
        # core.workdays: ISO dates the official holiday calendar lacks (days off) or gets wrong (working days)
        "WORKDAYS_EXTRA_HOLIDAYS": os.environ.get("WORKDAYS_EXTRA_HOLIDAYS", ""),
        "WORKDAYS_EXTRA_WORKDAYS": os.environ.get("WORKDAYS_EXTRA_WORKDAYS", ""),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_BYTES", str(50 * 1024 * 1024))),
        "VAPID_PRIVATE_KEY": os.environ.get("VAPID_PRIVATE_KEY", ""),
        "VAPID_PUBLIC_KEY": os.environ.get("VAPID_PUBLIC_KEY", ""),
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT", "mailto:ops@griddesk.local"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "griddesk@localhost"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        # a company tile server's URL; when set it wins over MAP_TILES (docs/mapping.md)
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL", ""),
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", ""),
    }
