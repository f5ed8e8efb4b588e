"""Kalshi API-key authentication and token-bucket rate limits, as the real exchange applies them.

Signature: RSA-PSS (SHA-256, MGF1-SHA-256, salt 32) over `timestamp_ms + METHOD + path` where
path is the URL path without the query string. The 401 bodies are the recorded ones verbatim.
Timestamp window (measured on demo): 5 s either way accepted, 30 s in the past rejected; the
simulator accepts up to 10 s past and 30 s future.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pmbot.sim.exchange import ExchangeError

__all__ = [
    "AUTH_BAD_SIG",
    "AUTH_EXPIRED",
    "AUTH_MISSING",
    "AUTH_UNKNOWN",
    "TIERS",
    "ApiKey",
    "Authenticator",
    "RateLimiter",
    "generate_key",
    "sign",
]

AUTH_BAD_SIG = {
    "error": {
        "code": "authentication_error",
        "message": "authentication_error",
        "details": "INCORRECT_API_KEY_SIGNATURE",
    }
}
AUTH_UNKNOWN = {
    "error": {
        "code": "authentication_error",
        "message": "authentication_error",
        "details": "NOT_FOUND",
    }
}
AUTH_EXPIRED = {
    "error": {"code": "header_timestamp_expired", "message": "header timestamp expired"}
}
AUTH_MISSING = {
    "error": {
        "code": "signature_is_missing_from_headers",
        "message": "signature is missing from headers",
    }
}
TOO_MANY = {"error": "too many requests"}

PAST_MS = 10_000
FUTURE_MS = 30_000

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@dataclass(slots=True)
class ApiKey:
    key_id: str
    user: str
    public_key: rsa.RSAPublicKey
    private_pem: bytes = b""


def generate_key(user: str = "member", bits: int = 2048) -> ApiKey:
    """A fresh key pair; the PEM is 'RSA PRIVATE KEY' format like Kalshi's downloads."""
    priv = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = priv.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return ApiKey(str(uuid.uuid4()), user, priv.public_key(), pem)


def write_key(k: ApiKey, directory: str | Path) -> tuple[Path, Path]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    kid = d / "key_id"
    kid.write_text(k.key_id + "\n")
    pem = d / "private_key.pem"
    pem.touch(mode=0o600, exist_ok=True)
    pem.chmod(0o600)
    pem.write_bytes(k.private_pem)
    return kid, pem


def sign(private_pem: bytes, ts_ms: int, method: str, path: str) -> str:
    """Client-side signing (tests and benchmarks use it; the bot has its own)."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    msg = f"{ts_ms}{method.upper()}{path.split('?', 1)[0]}".encode()
    return base64.b64encode(key.sign(msg, _PSS, hashes.SHA256())).decode()


class Authenticator:
    def __init__(self, keys: list[ApiKey], wall_ms: Any = None) -> None:
        self.keys = {k.key_id: k for k in keys}
        self._wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        # the last signatures accepted: tests check none of them ever reaches a log line
        self.seen_signatures: deque[str] = deque(maxlen=5000)

    def add(self, k: ApiKey) -> None:
        self.keys[k.key_id] = k

    def verify(self, headers: Any, method: str, path: str) -> ApiKey:
        """Return the key of a correctly signed request or raise the recorded 401."""
        kid = headers.get("KALSHI-ACCESS-KEY")
        ts = headers.get("KALSHI-ACCESS-TIMESTAMP")
        sig = headers.get("KALSHI-ACCESS-SIGNATURE")
        if not kid or not ts or not sig:
            raise ExchangeError(401, AUTH_MISSING)
        k = self.keys.get(kid)
        if k is None:
            raise ExchangeError(401, AUTH_UNKNOWN)
        try:
            ts_ms = int(ts)
        except ValueError:
            raise ExchangeError(401, AUTH_EXPIRED) from None
        now = self._wall_ms()
        if ts_ms < now - PAST_MS or ts_ms > now + FUTURE_MS:
            raise ExchangeError(401, AUTH_EXPIRED)
        try:
            raw = base64.b64decode(sig, validate=True)
            k.public_key.verify(raw, f"{ts}{method.upper()}{path}".encode(), _PSS, hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise ExchangeError(401, AUTH_BAD_SIG) from None
        self.seen_signatures.append(sig)
        return k


# usage tier -> (read refill/s, read capacity, write refill/s, write capacity)
TIERS = {
    "basic": (200, 200, 100, 100),
    "advanced": (300, 600, 300, 600),
    "expert": (600, 600, 600, 1200),
    "premier": (1000, 1000, 1000, 2000),
    "paragon": (2000, 2000, 2000, 4000),
    "prime": (4000, 4000, 4000, 8000),
    "prestige": (10000, 10000, 8000, 16000),
}

WRITE_DEFAULT_COSTS = {
    ("DELETE", "/trade-api/v2/portfolio/events/orders/:order_id"): 2,
    ("DELETE", "/trade-api/v2/portfolio/events/orders/batched"): 2,
    ("GET", "/trade-api/v2/portfolio/orders/:order_id"): 2,
    ("POST", "/trade-api/v2/portfolio/orders"): 20,
    ("DELETE", "/trade-api/v2/portfolio/orders/:order_id"): 4,
    ("POST", "/trade-api/v2/portfolio/orders/:order_id/amend"): 20,
    ("POST", "/trade-api/v2/portfolio/orders/:order_id/decrease"): 20,
    ("DELETE", "/trade-api/v2/portfolio/orders/batched"): 4,
    ("POST", "/trade-api/v2/portfolio/orders/batched"): 20,
}
DEFAULT_COST = 10


@dataclass(slots=True)
class _Bucket:
    rate: float
    cap: float
    tokens: float
    t: float = field(default_factory=time.monotonic)

    def take(self, n: float, now: float) -> bool:
        self.tokens = min(self.cap, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if n > self.tokens:
            return False
        self.tokens -= n
        return True


class RateLimiter:
    """Per-key read and write token buckets (wall-clock time: clients pace in real time)."""

    def __init__(self, tier: str = "basic", enabled: bool = True) -> None:
        self.tier = tier
        self.enabled = enabled
        self._b: dict[tuple[str, str], _Bucket] = {}

    def limits(self) -> dict[str, Any]:
        rr, rc, wr, wc = TIERS[self.tier]
        return {
            "grants": [],
            "read": {"bucket_capacity": rc, "refill_rate": rr},
            "usage_tier": self.tier,
            "write": {"bucket_capacity": wc, "refill_rate": wr},
        }

    def allow(self, key_id: str, write: bool, cost: int) -> bool:
        if not self.enabled:
            return True
        rr, rc, wr, wc = TIERS[self.tier]
        kind = "w" if write else "r"
        b = self._b.get((key_id, kind))
        if b is None:
            b = self._b[(key_id, kind)] = _Bucket(
                wr if write else rr, wc if write else rc, wc if write else rc
            )
        return b.take(cost, time.monotonic())

    def drain(self, key_id: str) -> None:
        """Empty a key's buckets (fault: a 429 burst)."""
        for kind in ("r", "w"):
            b = self._b.get((key_id, kind))
            if b is not None:
                b.tokens = -b.cap
