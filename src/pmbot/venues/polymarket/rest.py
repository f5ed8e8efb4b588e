"""Polymarket CLOB REST, sans I/O: request descriptions in, typed results or typed errors out.

`http.py` sends what these build (exact body bytes: the HMAC covers them) and hands the
status, headers and body back to `check`, which maps every failure to the error tree
once, here, so callers retry by class (doc §3.3, §7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pmbot.errors import (
    AuthError,
    NotFound,
    OrderRejected,
    ProtocolViolation,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from pmbot.venues.polymarket import wire as w

__all__ = [
    "END_CURSOR",
    "FIRST_CURSOR",
    "MAX_BATCH",
    "MAX_CANCEL",
    "Req",
    "check",
    "classify",
    "order_result",
]

FIRST_CURSOR = "MA=="
END_CURSOR = "LTE="
MAX_BATCH = 15
MAX_CANCEL = 1000


@dataclass(frozen=True, slots=True)
class Req:
    """One call: `auth` 0 public, 1 L1 (wallet), 2 L2 (HMAC); `bucket`/`cost` for rate limits."""

    method: str
    path: str
    query: Mapping[str, str] | None = None
    body: bytes | None = None
    auth: int = 0
    bucket: str | None = None
    cost: int = 1

    # ---- builders ---------------------------------------------------------------------------
    @staticmethod
    def post_order(body: Mapping[str, Any]) -> Req:
        return Req("POST", "/order", body=w.encode(body), auth=2, bucket="order")

    @staticmethod
    def post_orders(bodies: Sequence[Mapping[str, Any]]) -> Req:
        if not 0 < len(bodies) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} orders, not {len(bodies)}")
        return Req(
            "POST", "/orders", body=w.encode(list(bodies)), auth=2, bucket="order", cost=len(bodies)
        )

    @staticmethod
    def cancel(order_id: str) -> Req:
        return Req(
            "DELETE", "/order", body=w.encode({"orderID": order_id}), auth=2, bucket="cancel"
        )

    @staticmethod
    def cancel_orders(ids: Sequence[str]) -> Req:
        if not 0 < len(ids) <= MAX_CANCEL:
            raise ValueError(f"cancel 1..{MAX_CANCEL} ids at once, not {len(ids)}")
        return Req(
            "DELETE", "/orders", body=w.encode(list(ids)), auth=2, bucket="cancel", cost=len(ids)
        )

    @staticmethod
    def cancel_all() -> Req:
        return Req("DELETE", "/cancel-all", auth=2, bucket="cancel")

    @staticmethod
    def cancel_market(market: str = "", asset_id: str = "") -> Req:
        body = {k: v for k, v in (("market", market), ("asset_id", asset_id)) if v}
        return Req("DELETE", "/cancel-market-orders", body=w.encode(body), auth=2, bucket="cancel")

    @staticmethod
    def open_orders(cursor: str = FIRST_CURSOR, **filters: str) -> Req:
        return Req("GET", "/data/orders", query={**_clean(filters), "next_cursor": cursor}, auth=2)

    @staticmethod
    def trades(cursor: str = FIRST_CURSOR, **filters: str) -> Req:
        return Req("GET", "/data/trades", query={**_clean(filters), "next_cursor": cursor}, auth=2)

    @staticmethod
    def order(order_id: str) -> Req:
        return Req("GET", f"/data/order/{order_id}", auth=2)

    @staticmethod
    def heartbeat(heartbeat_id: str) -> Req:
        return Req("POST", "/v1/heartbeats", body=w.encode({"heartbeat_id": heartbeat_id}), auth=2)

    @staticmethod
    def balance(
        asset_type: str = "COLLATERAL",
        token_id: str = "",
        signature_type: int = 0,
        update: bool = False,
    ) -> Req:
        """`update`: the venue refreshes its cached chain balance first (doc §3.8, §7.4:
        after fills, or a SELL of tokens just bought is refused on the stale cache)."""
        q = {"asset_type": asset_type, "signature_type": str(signature_type)}
        if token_id:
            q["token_id"] = token_id
        path = "/balance-allowance/update" if update else "/balance-allowance"
        return Req("GET", path, query=q, auth=2)

    @staticmethod
    def create_key() -> Req:
        return Req("POST", "/auth/api-key", auth=1)

    @staticmethod
    def derive_key() -> Req:
        return Req("GET", "/auth/derive-api-key", auth=1)

    @staticmethod
    def public(path: str, **query: str) -> Req:
        return Req("GET", path, query=_clean(query) or None)


def _clean(d: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in d.items() if v}


# ---- responses --------------------------------------------------------------------------------
_CODES = (
    ("not enough balance", "insufficient_balance"),
    ("insufficient balance", "insufficient_balance"),
    ("tick size", "invalid_tick"),
    ("lower than the minimum", "min_size"),
    ("invalid signature", "invalid_signature"),
    ("order_version_mismatch", "version_mismatch"),
    ("invalid order version", "version_mismatch"),
    ("post-only mode", "post_only_mode"),
    ("post-only order", "post_only_crosses"),
    ("fok orders", "fok_not_filled"),
    ("fak order", "fak_no_match"),
    ("invalid expiration", "invalid_expiration"),
    ("invalid amounts", "invalid_amounts"),
    ("has to be the", "key_mismatch"),
    ("closed only", "closed_only"),
    ("banned", "banned"),
    ("deposit wallet", "deposit_wallet_required"),
    ("not yet ready", "market_not_ready"),
    ("too many orders", "batch_too_large"),
    ("invalid heartbeat", "invalid_heartbeat"),
    ("duplicated", "duplicated"),
    ("already exists", "duplicated"),
)


def classify(text: str) -> str:
    """The venue's message -> a stable code (read once here; callers use the code)."""
    t = text.lower()
    for needle, code in _CODES:
        if needle in t:
            return code
    return "rejected"


def _text(body: bytes) -> str:
    try:
        e = w.decode(body, w.PolyErrorBody)
        return e.error or e.error_msg or e.errorMsg or body.decode(errors="replace")
    except (ProtocolViolation, UnicodeDecodeError):
        return body[:200].decode(errors="replace")


def _expected_heartbeat(body: bytes) -> str | None:
    try:
        return w.decode(body, w.PolyErrorBody).heartbeat_id
    except ProtocolViolation:
        return None


def check(status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    """Return the body of a 200; raise the matching VenueError for anything else."""
    if status == 200:
        return body
    text = _text(body)
    if status in (401, 403):
        raise AuthError(text, status=status, code="unauthorized")
    if status == 404:
        raise NotFound(text, status=status, code="not_found")
    if status == 429:
        ra = headers.get("Retry-After", "1")
        err = RateLimited(text, status=status, code="rate_limited", details=f"retry_after={ra}")
        err.retry_after = float(ra) if ra.replace(".", "", 1).isdigit() else 1.0  # type: ignore[attr-defined]
        raise err
    if status == 425:
        raise VenueUnavailable(text, status=status, code="too_early")
    if status >= 500:
        raise VenueUnavailable(
            text, status=status, code=classify(text) if status == 503 else "server_error"
        )
    if status == 400:
        code = classify(text)
        # the heartbeat's 400 names the id the venue expects next (doc §3.9): keep it
        details = _expected_heartbeat(body) if code == "invalid_heartbeat" else None
        raise OrderRejected(text, status=status, code=code, details=details)
    raise VenueError(text, status=status, code="unexpected_status")


def order_result(r: w.PolyOrderResponse) -> w.PolyOrderResponse:
    """A 200 order reply that still failed (success false, or no id with a message) -> OrderRejected."""
    if not r.success or not r.orderID:
        text = r.errorMsg or "order not accepted"
        raise OrderRejected(text, status=200, code=classify(text))
    return r
