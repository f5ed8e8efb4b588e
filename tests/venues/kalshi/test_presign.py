"""Ready-made signatures: stock, freshness, single use, and real RSA-PSS verification."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pmbot.venues.kalshi.presign import PresignedHeaders
from pmbot.venues.kalshi.signing import KalshiSigner

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
A = ("POST", "/trade-api/v2/portfolio/events/orders/o1/amend")
C = ("DELETE", "/trade-api/v2/portfolio/events/orders/o1")


def pool(**kw: int) -> PresignedHeaders:
    return PresignedHeaders(KalshiSigner("kid", KEY), **kw)


def verifies(h: dict[str, str], method: str, path: str) -> bool:
    msg = (h["KALSHI-ACCESS-TIMESTAMP"] + method + path).encode()
    try:
        KEY.public_key().verify(
            base64.b64decode(h["KALSHI-ACCESS-SIGNATURE"]),
            msg,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


def test_stock_is_used_once_and_verifies():
    p = pool(per_path=2)
    todo = p.due([A, C], 10_000)
    assert sorted(todo) == sorted([A, A, C, C])
    p.add(p.sign_many(todo, 10_000))
    assert p.due([A, C], 10_100) == []  # full and fresh
    h1, h2 = p.take(*A, 10_200), p.take(*A, 10_200)
    assert h1 and h2 and h1 != h2 and p.take(*A, 10_200) is None
    assert verifies(h1, *A) and verifies(h2, *A) and not verifies(h1, *C)
    assert (p.hits, p.misses) == (2, 1)


def test_old_signatures_are_dropped_never_sent():
    p = pool(max_age_ms=1_000, refresh_ms=400)
    p.add(p.sign_many(p.due([A], 0), 0))
    assert p.due([A], 500) == []  # 500 ms old: still fresh past the next refresh
    assert p.due([A], 700) == [A]  # would be older than 600 ms by the next refresh
    p.add(p.sign_many([A], 0))  # a stale one (as if a worker took too long)
    assert p.take(*A, 1_500) is None and p.expired == 1
    p.add(p.sign_many(p.due([A], 2_000), 2_000))
    assert p.take(*A, 1_000) is None  # a timestamp from our future is not used either


def test_paths_no_longer_wanted_are_forgotten_and_disable_clears():
    p = pool()
    p.add(p.sign_many(p.due([A, C], 0), 0))
    assert p.due([C], 10) == []  # A dropped (its order is gone), C kept
    assert p.take(*A, 20) is None and p.take(*C, 20) is not None
    p.add(p.sign_many(p.due([C], 30), 30))
    p.disable("test")
    assert p.take(*C, 40) is None and p.due([C], 40) == [] and not p.enabled


def test_bad_settings_refused():
    with pytest.raises(ValueError):
        pool(max_age_ms=500, refresh_ms=500)
