"""Paying online: payment orders, providers (Alipay), their signed notices and the simulator.

Settings (read in ``configure``; production points them at the real provider):

- ``ONLINE_PAY_PROVIDERS``: the providers offered, comma separated (default ``alipay``).
- ``ONLINE_PAY_PREPAY_CAP``: how much more than is owed a customer may pay ahead (default 5000.00).
- ``ONLINE_PAY_ORDER_MINUTES``: how long an order waits for its payment (default 15).
- ``ONLINE_PAY_PUBLIC_URL``: the address the provider reaches GridDesk at, for notices and the browser's way
  back (default: the address of the request that made the order).
- ``ALIPAY_APP_ID``, ``ALIPAY_APP_PRIVATE_KEY`` (PEM text or a file path), ``ALIPAY_PUBLIC_KEY`` (Alipay's
  public key, PEM text or a path), ``ALIPAY_GATEWAY`` (default Alipay's production gateway).
- ``WECHATPAY_MCHID``, ``WECHATPAY_APPID``, ``WECHATPAY_CERT_SERIAL_NO`` (the merchant API certificate's serial),
  ``WECHATPAY_PRIVATE_KEY`` (the merchant's API private key, PEM text or a path), ``WECHATPAY_APIV3_KEY``,
  ``WECHATPAY_CERT_DIR`` (WeChat Pay's platform certificates, downloaded there when missing), or
  ``WECHATPAY_PUBLIC_KEY`` and ``WECHATPAY_PUBLIC_KEY_ID`` (WeChat Pay's public key instead of certificates),
  ``WECHATPAY_NOTIFY_URL`` (default ``<ONLINE_PAY_PUBLIC_URL>/api/v1/payment-providers/wechat/notify``),
  ``WECHATPAY_GATEWAY`` (default ``https://api.mch.weixin.qq.com``).
- ``PAYMENT_SIMULATOR_URL``: when set, a provider without credentials (no ``ALIPAY_APP_ID``, no
  ``WECHATPAY_MCHID``) is the simulator at that address, with the keys under ``<instance>/payment_simulator``
  (``make run`` sets it).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.errors import Conflict, NotFound

from .providers import PROVIDERS, Provider

WECHATPAY_SETTINGS = (
    "WECHATPAY_MCHID",
    "WECHATPAY_APPID",
    "WECHATPAY_CERT_SERIAL_NO",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_APIV3_KEY",
    "WECHATPAY_CERT_DIR",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
    "WECHATPAY_NOTIFY_URL",
    "WECHATPAY_GATEWAY",
)
_SETTINGS: dict[str, Any] = {}
_BUILT: dict[str, Provider] = {}


def settings(app: Any) -> None:
    env = os.environ.get
    defaults = {
        "ONLINE_PAY_PROVIDERS": env("ONLINE_PAY_PROVIDERS", "alipay"),
        "ONLINE_PAY_PREPAY_CAP": env("ONLINE_PAY_PREPAY_CAP", "5000.00"),
        "ONLINE_PAY_ORDER_MINUTES": int(env("ONLINE_PAY_ORDER_MINUTES", "15")),
        "ONLINE_PAY_PUBLIC_URL": env("ONLINE_PAY_PUBLIC_URL", ""),
        "ALIPAY_APP_ID": env("ALIPAY_APP_ID", ""),
        "ALIPAY_APP_PRIVATE_KEY": env("ALIPAY_APP_PRIVATE_KEY", ""),
        "ALIPAY_PUBLIC_KEY": env("ALIPAY_PUBLIC_KEY", ""),
        "ALIPAY_GATEWAY": env("ALIPAY_GATEWAY", ""),
        "PAYMENT_SIMULATOR_URL": env("PAYMENT_SIMULATOR_URL", ""),
    }
    for key in WECHATPAY_SETTINGS:
        defaults[key] = env(key, "")
    for key, value in defaults.items():
        app.config.setdefault(key, value)
    configure(app.config)


def configure(config: Any) -> None:
    """Take the settings from ``config`` (the app factory; a test that changes them calls it again)."""
    _SETTINGS.clear()
    _SETTINGS.update(
        {k: config.get(k) for k in config if k.startswith(("ONLINE_PAY_", "ALIPAY_", "WECHATPAY_", "PAYMENT_SIM"))}
    )
    _SETTINGS["INSTANCE_DIR"] = config.get("INSTANCE_DIR", "instance")
    _BUILT.clear()


def offered() -> list[str]:
    names = [n.strip() for n in str(_SETTINGS.get("ONLINE_PAY_PROVIDERS") or "").split(",") if n.strip()]
    return [n for n in names if n in PROVIDERS and _configured(n)]


def _configured(name: str) -> bool:
    """Whether the provider has its credentials here (or the simulator stands in for it)."""
    if name == "alipay":
        return bool(_SETTINGS.get("ALIPAY_APP_ID") or _SETTINGS.get("PAYMENT_SIMULATOR_URL"))
    if name == "wechat":
        return bool(_SETTINGS.get("WECHATPAY_MCHID") or _SETTINGS.get("PAYMENT_SIMULATOR_URL"))
    return False


def prepay_cap() -> Decimal:
    return Decimal(str(_SETTINGS.get("ONLINE_PAY_PREPAY_CAP") or "0"))


def order_minutes() -> int:
    return int(_SETTINGS.get("ONLINE_PAY_ORDER_MINUTES") or 15)


def public_url() -> str:
    return str(_SETTINGS.get("ONLINE_PAY_PUBLIC_URL") or "")


def _pem(value: str) -> str:
    value = value.strip()
    return value if value.startswith("-----") else Path(value).read_text()


def simulator_keys() -> Path:
    return Path(_SETTINGS["INSTANCE_DIR"]) / "payment_simulator"


def notify_url(name: str) -> str:
    """The notify address configured for the provider (empty: the caller derives it from the public address)."""
    return str(_SETTINGS.get("WECHATPAY_NOTIFY_URL") or "") if name == "wechat" else ""


def _simulator_origin() -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(str(_SETTINGS.get("PAYMENT_SIMULATOR_URL") or ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def alipay_app_id() -> str:
    return str(_SETTINGS.get("ALIPAY_APP_ID") or "")


def provider(name: str) -> Provider:
    """The configured provider ``name``; NotFound when it is not offered."""
    if name not in offered():
        raise NotFound("payment_provider_not_found")
    if name not in _BUILT:
        _BUILT[name] = _build(name)
    return _BUILT[name]


def for_new_order(name: str) -> Provider:
    """The provider a new order goes to; 409 when it is not offered here."""
    if name not in offered():
        raise Conflict("payment_provider_unavailable", provider=name)
    return provider(name)


def cashier_origin(name: str) -> str:
    """The scheme, host and port of the provider's cashier (the pay form leads there)."""
    from urllib.parse import urlsplit

    if name == "alipay":
        from .alipay import PRODUCTION_GATEWAY

        gateway = (
            str(_SETTINGS.get("ALIPAY_GATEWAY") or PRODUCTION_GATEWAY)
            if _SETTINGS.get("ALIPAY_APP_ID")
            else str(_SETTINGS.get("PAYMENT_SIMULATOR_URL") or "")
        )
        parts = urlsplit(gateway)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    if name == "wechat":
        # the H5 cashier is a page of WeChat Pay's (the browser is redirected there, no form posts to it)
        return "https://wx.tenpay.com" if _SETTINGS.get("WECHATPAY_MCHID") else _simulator_origin()
    return ""


def _build(name: str) -> Provider:
    if name == "wechat":
        return _build_wechat()
    if name != "alipay":
        raise NotFound("payment_provider_not_found")
    from .alipay import AlipayProvider

    if _SETTINGS.get("ALIPAY_APP_ID"):
        return AlipayProvider(
            str(_SETTINGS["ALIPAY_APP_ID"]),
            _pem(str(_SETTINGS["ALIPAY_APP_PRIVATE_KEY"])),
            _pem(str(_SETTINGS["ALIPAY_PUBLIC_KEY"])),
            str(_SETTINGS.get("ALIPAY_GATEWAY") or ""),
        )
    if _SETTINGS.get("PAYMENT_SIMULATOR_URL"):
        from .simulator import SIM_APP_ID, ensure_keys

        keys = ensure_keys(simulator_keys())
        return AlipayProvider(
            SIM_APP_ID, keys["app_private"], keys["alipay_public"], str(_SETTINGS["PAYMENT_SIMULATOR_URL"])
        )
    raise NotFound("payment_provider_not_found")


def _build_wechat() -> Provider:
    from .wechat import WechatProvider

    if _SETTINGS.get("WECHATPAY_MCHID"):
        key = str(_SETTINGS.get("WECHATPAY_PUBLIC_KEY") or "")
        return WechatProvider(
            str(_SETTINGS["WECHATPAY_MCHID"]),
            str(_SETTINGS.get("WECHATPAY_APPID") or ""),
            str(_SETTINGS.get("WECHATPAY_CERT_SERIAL_NO") or ""),
            _pem(str(_SETTINGS["WECHATPAY_PRIVATE_KEY"])) if _SETTINGS.get("WECHATPAY_PRIVATE_KEY") else "",
            str(_SETTINGS.get("WECHATPAY_APIV3_KEY") or ""),
            str(_SETTINGS.get("WECHATPAY_CERT_DIR") or ""),
            str(_SETTINGS.get("WECHATPAY_GATEWAY") or ""),
            public_key=_pem(key) if key else None,
            public_key_id=str(_SETTINGS.get("WECHATPAY_PUBLIC_KEY_ID") or "") or None,
        )
    if _SETTINGS.get("PAYMENT_SIMULATOR_URL"):
        from .wechat_simulator import ensure_wechat_keys

        keys = ensure_wechat_keys(simulator_keys())
        return WechatProvider(
            keys["mchid"],
            keys["appid"],
            keys["merchant_serial"],
            keys["merchant_private"],
            keys["apiv3_key"],
            keys["cert_dir"],
            _simulator_origin(),
        )
    raise NotFound("payment_provider_not_found")


def expected_app_id(name: str) -> str:
    """The app id a notice for ``name`` must carry (the simulator's when it stands in)."""
    if name == "alipay":
        if _SETTINGS.get("ALIPAY_APP_ID"):
            return str(_SETTINGS["ALIPAY_APP_ID"])
        from .simulator import SIM_APP_ID

        return SIM_APP_ID
    if name == "wechat":  # a WeChat Pay notice carries the merchant id
        if _SETTINGS.get("WECHATPAY_MCHID"):
            return str(_SETTINGS["WECHATPAY_MCHID"])
        from .wechat_simulator import SIM_MCHID

        return SIM_MCHID
    return ""
