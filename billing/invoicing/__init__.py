"""E-invoices (电子发票) and monthly e-bills (电子账单): issued after payment or monthly, as PDFs with a QR code that
verifies them on GridDesk, downloadable in the portal and e-mailed to the accounts that subscribe.

Settings (read in ``settings``):

- ``INVOICE_ISSUER``: who issues the numbers (default ``local``: GridDesk itself, and the PDF says it is not a
  tax document). A real invoicing service is one class in ``issuers.py`` and a name here.
- ``INVOICE_TAX_RATE``: the VAT rate printed (default ``0.13``).
- ``INVOICE_PUBLIC_URL``: the public address the QR code leads to (default ``ONLINE_PAY_PUBLIC_URL``, else the
  request's own address, else ``http://127.0.0.1:5000``).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

_SETTINGS: dict[str, Any] = {}


def settings(app: Any) -> None:
    env = os.environ.get
    app.config.setdefault("INVOICE_ISSUER", env("INVOICE_ISSUER", "local"))
    app.config.setdefault("INVOICE_TAX_RATE", env("INVOICE_TAX_RATE", "0.13"))
    app.config.setdefault("INVOICE_PUBLIC_URL", env("INVOICE_PUBLIC_URL", ""))
    configure(app.config)


def configure(config: Any) -> None:
    _SETTINGS.clear()
    _SETTINGS.update({k: config.get(k) for k in ("INVOICE_ISSUER", "INVOICE_TAX_RATE", "INVOICE_PUBLIC_URL")})
    _SETTINGS["ONLINE_PAY_PUBLIC_URL"] = config.get("ONLINE_PAY_PUBLIC_URL", "")


def tax_rate() -> Decimal:
    return Decimal(str(_SETTINGS.get("INVOICE_TAX_RATE") or "0.13"))


def issuer_name() -> str:
    return str(_SETTINGS.get("INVOICE_ISSUER") or "local")


def public_url(fallback: str = "") -> str:
    """Where the QR code's verify address starts (no trailing slash)."""
    url = _SETTINGS.get("INVOICE_PUBLIC_URL") or _SETTINGS.get("ONLINE_PAY_PUBLIC_URL") or fallback
    return str(url or "http://127.0.0.1:5000").rstrip("/")
