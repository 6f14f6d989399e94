"""Intended roles of the notification endpoints (None: public)."""

ALL = {"customer", "archivist", "clerk", "supervisor", "admin"}
STAFF = ALL - {"customer"}

INTENDED = {
    ("GET", "/api/v1/me/notifications"): ALL,
    ("POST", "/api/v1/me/notifications/read"): ALL,
    ("GET", "/api/v1/me/notification-preferences"): ALL,
    ("PUT", "/api/v1/me/notification-preferences"): ALL,
    ("POST", "/api/v1/me/push-subscriptions"): ALL,
    ("DELETE", "/api/v1/me/push-subscriptions"): ALL,
    ("GET", "/api/v1/push/vapid-public-key"): None,
    ("POST", "/api/v1/notices/outages"): {"archivist", "clerk", "admin"},
    ("POST", "/api/v1/notices/outages/preview"): {"archivist", "clerk", "admin"},
    ("GET", "/api/v1/notices"): STAFF,
    ("GET", "/api/v1/notices/<int:notice_id>"): STAFF,
}
