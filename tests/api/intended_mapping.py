"""Intended roles of the service-point endpoints (None: public)."""

INTENDED = {
    ("GET", "/api/v1/service-points/nearest"): None,
    ("GET", "/api/v1/service-points"): None,
    ("GET", "/api/v1/service-points/export"): None,
    ("GET", "/api/v1/service-points/<int:point_id>"): None,
    ("POST", "/api/v1/admin/service-points"): {"admin"},
    ("PATCH", "/api/v1/admin/service-points/<int:point_id>"): {"admin"},
    ("DELETE", "/api/v1/admin/service-points/<int:point_id>"): {"admin"},
    ("POST", "/api/v1/admin/service-points/import"): {"admin"},
}
