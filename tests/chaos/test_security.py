"""Security: secrets never reach a log line or an exception message; the key file permission
check; the simulator refuses tampered signatures, stale timestamps and replayed HMACs."""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.errors import AuthError, PmbotError
from pmbot.sim.exchange import ExchangeError
from pmbot.sim.kalshi_auth import FUTURE_MS, PAST_MS, Authenticator, generate_key, sign
from pmbot.sim.polymarket_auth import AuthFail, derive_key, verify_hmac
from pmbot.venues.kalshi.signing import KalshiSigner, load_private_key
from pmbot.venues.polymarket.signing import ApiCreds, l2_headers

from .report import TOTALS
from .runner import Scenario, Step, run_scenario

pytestmark = pytest.mark.chaos

KEY = generate_key("member", bits=2048)
PATH = "/trade-api/v2/portfolio/balance"


def _pem_chunks(pem: bytes) -> list[str]:
    body = "".join(ln for ln in pem.decode().splitlines() if "-----" not in ln)
    return [body[i : i + 24] for i in range(0, len(body) - 24, 24)]


def _leaks(text: str, secrets: dict[str, list[str]]) -> list[str]:
    return [f"{k}: {s[:8]}..." for k, vals in secrets.items() for s in vals if s and s in text]


# ---- no secret in logs or exception messages ---------------------------------------------------
@pytest.mark.slow
async def test_debug_session_logs_and_exceptions_hold_no_secret(tmp_path: Path) -> None:
    scn = Scenario(
        "security_debug_session",
        [Step(2, "http_429", 5), Step(4, "http_5xx", 3), Step(6, "drop_ws"), Step(9, "restart")],
        run_s=14,
        settings={"logging": {"level": "DEBUG"}},
    )
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))  # message, args and any traceback

    root = logging.getLogger()
    h = Collect(logging.DEBUG)
    h.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    old_level = root.level
    root.addHandler(h)
    root.setLevel(logging.DEBUG)  # aiohttp, asyncio and the rest at DEBUG too
    try:
        run = await run_scenario(scn, tmp_path)
    finally:
        root.removeHandler(h)
        root.setLevel(old_level)
    sim = run.sim
    sigs = list(sim.auth.seen_signatures)
    assert len(sigs) > 20
    secrets = {
        "private key": _pem_chunks(sim.private_key_pem),
        "key id": [sim.key_id],
        "signature": sigs,
    }
    log = (tmp_path / "trading.log").read_text() + "\n".join(seen)
    assert "kalshi ws disconnected" in log and "503" in log
    # exceptions raised at the edge with these secrets in play
    msgs: list[str] = []
    for make in (
        lambda: KalshiSigner.from_pem(sim.key_id, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END"),
        lambda: KalshiSigner.from_pem("", sim.private_key_pem),
        lambda: Authenticator([]).verify(
            {
                "KALSHI-ACCESS-KEY": sim.key_id,
                "KALSHI-ACCESS-TIMESTAMP": "1",
                "KALSHI-ACCESS-SIGNATURE": sigs[0],
            },
            "GET",
            PATH,
        ),
    ):
        try:
            make()
        except (PmbotError, ExchangeError, ValueError) as e:
            msgs += [str(e), repr(e)]
    assert len(msgs) >= 4
    found = _leaks(log, secrets) + _leaks("\n".join(msgs), secrets)
    TOTALS.checks["no_secret_in_logs_or_errors"] += 1
    assert not found, found


def test_polymarket_hmac_secret_never_printed() -> None:
    rec = derive_key("0x" + "11" * 20, 0)
    creds = ApiCreds(rec.api_key, rec.secret, rec.passphrase)
    assert rec.secret not in repr(creds) and rec.passphrase not in repr(creds)
    h = l2_headers(rec.address, creds, 100, "GET", "/orders")
    try:
        verify_hmac({**h, "POLY_SIGNATURE": "x"}, "GET", "/orders", b"", {rec.api_key: rec}, 100)
    except AuthFail as e:
        assert rec.secret not in str(e) and h["POLY_SIGNATURE"] not in str(e)


# ---- key file permissions -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o444])
def test_group_or_world_readable_key_refused(tmp_path: Path, mode: int) -> None:
    p = tmp_path / "k.pem"
    p.write_bytes(KEY.private_pem)
    os.chmod(p, mode)
    with pytest.raises(AuthError, match="readable"):
        load_private_key(p)


def test_owner_only_key_loads(tmp_path: Path) -> None:
    p = tmp_path / "k.pem"
    p.write_bytes(KEY.private_pem)
    os.chmod(p, 0o600)
    load_private_key(p)
    os.chmod(p, 0o400)
    load_private_key(p)


# ---- the simulator refuses tampering ------------------------------------------------------------
def _auth(now_ms: int) -> Authenticator:
    return Authenticator([KEY], wall_ms=lambda: now_ms)


def _headers(ts: int, sig: str, kid: str = KEY.key_id) -> dict[str, str]:
    return {
        "KALSHI-ACCESS-KEY": kid,
        "KALSHI-ACCESS-TIMESTAMP": str(ts),
        "KALSHI-ACCESS-SIGNATURE": sig,
    }


NOW = int(time.time() * 1000)
GOOD = sign(KEY.private_pem, NOW, "GET", PATH)


def test_untampered_signature_accepted() -> None:
    assert _auth(NOW).verify(_headers(NOW, GOOD), "GET", PATH) is KEY


@settings(max_examples=60, deadline=None)
@given(bit=st.integers(0, len(base64.b64decode(GOOD)) * 8 - 1))
def test_every_tampered_signature_bit_refused(bit: int) -> None:
    raw = bytearray(base64.b64decode(GOOD))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ExchangeError) as ei:
        _auth(NOW).verify(_headers(NOW, base64.b64encode(bytes(raw)).decode()), "GET", PATH)
    assert ei.value.status == 401
    TOTALS.checks["tampered_signature_refused"] += 1


@settings(max_examples=40, deadline=None)
@given(
    what=st.sampled_from(["method", "path", "ts", "garbage", "truncate"]),
    k=st.integers(1, 10_000),
)
def test_signature_over_other_request_refused(what: str, k: int) -> None:
    ts, method, path, sig = NOW, "GET", PATH, GOOD
    if what == "method":
        method = "DELETE"
    elif what == "path":
        path = PATH + f"/{k}"
    elif what == "ts":
        ts = NOW + k  # still inside the window, but not what was signed
    elif what == "garbage":
        sig = re.sub(r"[A-Za-z]", "A", GOOD, count=k % 40 + 1)
    else:
        sig = GOOD[: -(k % 40 + 4)]
    with pytest.raises(ExchangeError) as ei:
        _auth(NOW).verify(_headers(ts, sig), method, path)
    assert ei.value.status == 401
    TOTALS.checks["tampered_request_refused"] += 1


@pytest.mark.parametrize(
    "skew_ms", [-PAST_MS - 1, -PAST_MS - 60_000, FUTURE_MS + 1, FUTURE_MS + 10**6]
)
def test_stale_timestamp_refused(skew_ms: int) -> None:
    ts = NOW + skew_ms
    sig = sign(KEY.private_pem, ts, "GET", PATH)  # a genuine signature, at the wrong time
    with pytest.raises(ExchangeError) as ei:
        _auth(NOW).verify(_headers(ts, sig), "GET", PATH)
    assert ei.value.status == 401
    TOTALS.checks["stale_timestamp_refused"] += 1


@settings(max_examples=40, deadline=None)
@given(late=st.integers(301, 10**6), tamper=st.integers(0, 43))
def test_polymarket_hmac_replay_outside_window_and_tampering_refused(
    late: int, tamper: int
) -> None:
    rec = derive_key("0x" + "22" * 20, 1)
    creds = ApiCreds(rec.api_key, rec.secret, rec.passphrase)
    keys = {rec.api_key: rec}
    body = b'{"orderID":"0xabc"}'
    h = l2_headers(rec.address, creds, 1_000_000, "DELETE", "/order", body)
    assert verify_hmac(h, "DELETE", "/order", body, keys, 1_000_000) is rec
    assert verify_hmac(h, "DELETE", "/order", body, keys, 1_000_000 + 300) is rec  # in window
    for now in (1_000_000 + late, 1_000_000 - late):  # the same request replayed too late/early
        with pytest.raises(AuthFail):
            verify_hmac(h, "DELETE", "/order", body, keys, now)
    sig = h["POLY_SIGNATURE"]
    i = tamper % len(sig)
    bad = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
    with pytest.raises(AuthFail):
        verify_hmac({**h, "POLY_SIGNATURE": bad}, "DELETE", "/order", body, keys, 1_000_000)
    with pytest.raises(AuthFail):
        verify_hmac(h, "DELETE", "/order", body + b" ", keys, 1_000_000)
    TOTALS.checks["hmac_replay_or_tamper_refused"] += 1
