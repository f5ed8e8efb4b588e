"""Signing (RSA-PSS over ts+METHOD+path), key loading errors, environment URL selection."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from pmbot.errors import AuthError, ConfigError
from pmbot.venues.kalshi.signing import (
    ENV_KEY_FILE,
    ENV_KEY_ID,
    ENV_KEY_PEM,
    KalshiSigner,
    load_private_key,
    message_to_sign,
    signer_from_env,
)
from pmbot.venues.kalshi.urls import ENVIRONMENTS, KalshiUrls, resolve_urls


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(k: rsa.RSAPrivateKey) -> bytes:
    return k.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def test_message_strips_query_and_uppercases() -> None:
    assert (
        message_to_sign(1703123456789, "get", "/trade-api/v2/portfolio/orders?status=resting")
        == b"1703123456789GET/trade-api/v2/portfolio/orders"
    )


def test_signature_verifies_with_pss_salt_32(key: rsa.RSAPrivateKey) -> None:
    s = KalshiSigner("kid", key)
    h = s.headers(1703123456789, "GET", "/trade-api/v2/portfolio/balance?x=1")
    assert h["KALSHI-ACCESS-KEY"] == "kid" and h["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789"
    sig = base64.b64decode(h["KALSHI-ACCESS-SIGNATURE"], validate=True)
    key.public_key().verify(
        sig,
        b"1703123456789GET/trade-api/v2/portfolio/balance",
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    assert "PRIVATE" not in repr(s) and "kid" in repr(s)


def test_key_file_errors(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(AuthError, match="does not exist"):
        load_private_key(tmp_path / "nope.key")
    good = tmp_path / "k.key"
    good.write_bytes(_pem(key))
    os.chmod(good, 0o600)
    assert load_private_key(good).key_size == 2048
    os.chmod(good, 0o644)
    with pytest.raises(AuthError, match="world-readable"):
        load_private_key(good)
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    os.chmod(junk, 0o600)
    with pytest.raises(AuthError, match="not a readable"):
        load_private_key(junk)
    eck = tmp_path / "ec.key"
    eck.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(eck, 0o600)
    with pytest.raises(AuthError, match="not an RSA"):
        load_private_key(eck)
    if os.geteuid() != 0:
        os.chmod(good, 0o000)
        with pytest.raises(AuthError, match="cannot be read"):
            load_private_key(good)


def test_signer_from_env(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(AuthError, match=ENV_KEY_ID[0]):
        signer_from_env({})
    with pytest.raises(AuthError):
        signer_from_env({ENV_KEY_ID[0]: "k"})
    assert signer_from_env({ENV_KEY_ID[1]: "k", ENV_KEY_PEM[0]: _pem(key).decode()}).key_id == "k"
    p = tmp_path / "k.key"
    p.write_bytes(_pem(key))
    os.chmod(p, 0o600)
    assert signer_from_env({ENV_KEY_ID[0]: "k", ENV_KEY_FILE[1]: str(p)}).key_id == "k"


def test_urls() -> None:
    assert resolve_urls().name == "demo"
    prod = resolve_urls("prod")
    assert prod.rest == "https://external-api.kalshi.com/trade-api/v2"
    assert prod.ws == "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    assert ENVIRONMENTS["prod-elections"].rest == "https://api.elections.kalshi.com/trade-api/v2"
    assert ENVIRONMENTS["demo-legacy-host"].ws == "wss://demo-api.kalshi.co/trade-api/ws/v2"
    assert prod.signed_path("/portfolio/orders?status=resting") == "/trade-api/v2/portfolio/orders"
    assert prod.ws_path == "/trade-api/ws/v2"
    c = resolve_urls(
        rest_url="http://127.0.0.1:8123/trade-api/v2", ws_url="ws://127.0.0.1:8123/trade-api/ws/v2"
    )
    assert (
        c.name == "custom"
        and c.rest_url("/markets") == "http://127.0.0.1:8123/trade-api/v2/markets"
    )
    # a REST URL in Kalshi's layout implies its WebSocket URL (`--rest-url` alone)
    assert resolve_urls(rest_url="http://127.0.0.1:8765/trade-api/v2/").ws == (
        "ws://127.0.0.1:8765/trade-api/ws/v2"
    )
    assert resolve_urls(rest_url="https://h.example/trade-api/v2").ws == (
        "wss://h.example/trade-api/ws/v2"
    )
    # Kalshi's own REST hosts imply their own WebSocket host (external-api-ws.*, §1)
    for u in ENVIRONMENTS.values():
        assert resolve_urls(rest_url=u.rest).ws == u.ws
    with pytest.raises(ConfigError, match=r"kalshi\.ws_url"):
        resolve_urls(rest_url="http://x/other/api")
    with pytest.raises(ConfigError, match=r"kalshi\.env"):
        resolve_urls("staging")
    with pytest.raises(ConfigError):
        KalshiUrls("ftp://x", "ws://x")
    assert (
        resolve_urls("prod", legacy_hosts=True).rest
        == "https://api.elections.kalshi.com/trade-api/v2"
    )
    assert resolve_urls("demo", legacy_hosts=True).rest == "https://demo-api.kalshi.co/trade-api/v2"
    with pytest.raises(ConfigError, match=r"kalshi\.rest_url"):
        resolve_urls("sim")
    assert resolve_urls("sim", "http://h:1/trade-api/v2", "ws://h:1/trade-api/ws/v2").name == "sim"


def test_from_settings_and_flags(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    import argparse

    from pmbot.commands._common import add_endpoint_arguments, settings_from_args
    from pmbot.settings import KalshiSettings, Secrets
    from pmbot.venues.kalshi.venue import KalshiVenue

    p = argparse.ArgumentParser()
    add_endpoint_arguments(p)
    args = p.parse_args(
        [
            "--rest-url",
            "http://127.0.0.1:9/trade-api/v2",
            "--ws-url",
            "ws://127.0.0.1:9/trade-api/ws/v2",
        ]
    )
    s = settings_from_args(args, {})
    kd = tmp_path / "keys"
    kd.mkdir()
    (kd / "key_id").write_text("kid-1\n")
    (kd / "private_key.pem").write_bytes(_pem(key))
    os.chmod(kd / "private_key.pem", 0o600)
    v = KalshiVenue.from_settings(
        KalshiSettings(
            env="sim", rest_url=s.kalshi.rest_url, ws_url=s.kalshi.ws_url, key_file_dir=str(kd)
        ),
        Secrets({}),
        lambda e: None,
    )
    assert v.urls.rest == "http://127.0.0.1:9/trade-api/v2" and v.http.signer is not None
    assert v.http.signer.key_id == "kid-1"
    v2 = KalshiVenue.from_settings(
        KalshiSettings(env="demo", key_file_dir=str(kd)), Secrets({}), lambda e: None
    )
    assert v2.urls.name == "demo"
    with pytest.raises(AuthError):
        KalshiVenue.from_settings(KalshiSettings(env="demo"), Secrets({}), lambda e: None)


def test_cancels_are_retried_creates_are_not() -> None:
    """Regression (chaos suite, 5xx during a WS drop): a 503 on a cancel left quotes UNKNOWN
    and resting; a repeated cancel can only meet not_found, so cancels retry."""
    from pmbot.core.orders import Side
    from pmbot.venues.kalshi import rest

    assert rest.cancel_order("o").idempotent and rest.batch_cancel(["o"]).idempotent
    spec = rest.OrderSpec("T", Side.BID, 4700, 100, client_order_id="c")
    assert not rest.create_order(spec).idempotent
    assert not rest.batch_create([spec]).idempotent


def test_group_readable_key_refused(tmp_path) -> None:
    """Regression (security suite): only world-readable keys were refused."""
    import os

    from pmbot.errors import AuthError
    from pmbot.sim.kalshi_auth import generate_key
    from pmbot.venues.kalshi.signing import load_private_key

    p = tmp_path / "k.pem"
    p.write_bytes(generate_key("m").private_pem)
    os.chmod(p, 0o640)
    with pytest.raises(AuthError, match="group-readable"):
        load_private_key(p)
