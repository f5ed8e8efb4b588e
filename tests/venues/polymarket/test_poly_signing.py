"""Our signatures verify: L1 and order signatures recover the signer with eth-account, the L2
HMAC equals an independent recomputation, and orders are byte-identical to py-clob-client-v2."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.order_builder.builder import ROUNDING_CONFIG, OrderBuilder
from py_clob_client_v2.order_utils import SignatureTypeV2
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side
from py_clob_client_v2.signer import Signer
from py_clob_client_v2.signing.eip712 import sign_clob_auth_message
from py_clob_client_v2.signing.hmac import build_hmac_signature

from pmbot.venues.polymarket import signing as s
from pmbot.venues.polymarket.urls import CONTRACTS, POLYGON

KEY = "0x" + "4c" * 32
ACCT = Account.from_key(KEY)
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
FUNDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_l1_recovers_and_matches_sdk() -> None:
    signer = s.OrderSigner(KEY)
    assert signer.address == ACCT.address
    h = signer.l1_headers(1_700_000_000, nonce=3)
    msg = encode_typed_data(
        full_message=s.clob_auth_typed_data(ACCT.address, 1_700_000_000, 3, POLYGON)
    )
    assert Account.recover_message(msg, signature=h["POLY_SIGNATURE"]) == ACCT.address
    assert h["POLY_SIGNATURE"] == sign_clob_auth_message(Signer(KEY, POLYGON), 1_700_000_000, 3)
    assert h["POLY_TIMESTAMP"] == "1700000000" and h["POLY_NONCE"] == "3"


def test_l2_hmac_independent() -> None:
    secret = base64.urlsafe_b64encode(b"k" * 32).decode()
    body = json.dumps({"orderID": "0xab"}, separators=(",", ":"))
    got = s.l2_signature(secret, 1_700_000_000, "DELETE", "/order", body)
    want = base64.urlsafe_b64encode(
        hmac.new(b"k" * 32, f"1700000000DELETE/order{body}".encode(), hashlib.sha256).digest()
    ).decode()
    assert got == want == build_hmac_signature(secret, 1_700_000_000, "DELETE", "/order", body)
    assert s.l2_signature(secret, 1, "GET", "/data/orders", None) == build_hmac_signature(
        secret, 1, "GET", "/data/orders"
    )
    creds = s.ApiCreds("k", secret, "p")
    assert "secret" not in repr(creds) or "***" in repr(creds)
    h = s.l2_headers(ACCT.address, creds, 5, "GET", "/x")
    assert set(h) == {
        "POLY_ADDRESS",
        "POLY_SIGNATURE",
        "POLY_TIMESTAMP",
        "POLY_API_KEY",
        "POLY_PASSPHRASE",
    }


def _sdk_order(
    sig_type: int, funder: str, maker_amt: int, taker_amt: int, side: int, neg_risk: bool
):
    c = CONTRACTS[POLYGON]
    b = ExchangeOrderBuilderV2(
        c.neg_risk_exchange_v2 if neg_risk else c.exchange_v2,
        POLYGON,
        Signer(KEY, POLYGON),
        generate_salt=lambda: "123456789",
    )
    signer = funder if sig_type == 3 else ACCT.address
    return b.build_signed_order(
        OrderDataV2(
            maker=funder,
            tokenId=TOKEN,
            makerAmount=str(maker_amt),
            takerAmount=str(taker_amt),
            side=Side(side),
            signer=signer,
            signatureType=SignatureTypeV2(sig_type),
            timestamp="1700000000123",
            expiration="0",
        )
    ), b


@pytest.mark.parametrize("sig_type", [0, 1, 2, 3])
@pytest.mark.parametrize("neg_risk", [False, True])
def test_order_equals_sdk_and_recovers(sig_type: int, neg_risk: bool) -> None:
    funder = ACCT.address if sig_type == 0 else FUNDER
    signer = s.OrderSigner(
        KEY, signature_type=s.SignatureType(sig_type), funder=None if sig_type == 0 else funder
    )
    ours = signer.limit(
        token_id=TOKEN,
        side=0,
        price=5200,
        size=10_000,
        tick="0.01",
        salt=123456789,
        timestamp_ms=1_700_000_000_123,
        neg_risk=neg_risk,
    )
    assert ours.wire["makerAmount"] == "52000000" and ours.wire["takerAmount"] == "100000000"
    sdk, builder = _sdk_order(sig_type, funder, 52_000_000, 100_000_000, 0, neg_risk)
    body = s.order_body(ours, "owner-uuid")
    assert body == order_to_json_v2(sdk, "owner-uuid", "GTC")
    assert ours.order_id == builder.build_order_hash(builder.build_order_typed_data(sdk))
    c = CONTRACTS[POLYGON]
    td = s.order_typed_data(
        ours.wire, POLYGON, c.neg_risk_exchange_v2 if neg_risk else c.exchange_v2
    )
    msg = encode_typed_data(full_message=td)
    if sig_type != 3:
        assert Account.recover_message(msg, signature=ours.wire["signature"]) == ACCT.address
    else:
        raw = bytes.fromhex(ours.wire["signature"][2:])
        assert len(raw) == 65 + 32 + 32 + len(s.ORDER_TYPE) + 2
        assert raw[-2:] == len(s.ORDER_TYPE).to_bytes(2, "big")


def test_sell_amounts_doc_example() -> None:
    # SELL 10.555 @ 0.523 (tick 0.001): size is cut to 10.55 before it reaches us.
    assert s.limit_amounts(1, 5230, 1055, "0.001") == (10_550_000, 5_517_650)
    with pytest.raises(ValueError):
        s.limit_amounts(0, 5235, 100, "0.001")  # off tick
    with pytest.raises(ValueError):
        s.limit_amounts(0, 0, 100, "0.01")


TICKS = ["0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(TICKS), st.integers(1, 9999), st.integers(1, 1_000_000), st.sampled_from([0, 1])
)
def test_limit_amounts_equal_sdk(tick: str, n: int, size: int, side: int) -> None:
    t = s.tick_units(tick)
    price = max(t, min(10_000 - t, n - n % t))
    ours = s.limit_amounts(side, price, size, tick)
    fsize = float(Decimal(size) / 100)
    # The SDK floors size * 100 in binary floating point: 4.81 -> 480.999.. -> 4.80. Our exact
    # integers keep 4.81; compare only where the SDK's own float step is exact.
    assume(math.floor(fsize * 100) == size)
    ob = OrderBuilder(Signer(KEY, POLYGON))
    _, mk, tk = ob.get_order_amounts(
        "BUY" if side == 0 else "SELL", fsize, float(Decimal(price) / 10_000), ROUNDING_CONFIG[tick]
    )
    assert ours == (mk, tk)


def test_round_to_tick() -> None:
    from pmbot.venues.polymarket.convert import round_to_tick

    assert round_to_tick(5230, "0.005") == 5250 and round_to_tick(5224, "0.005") == 5200
    assert round_to_tick(5249, "0.01", "down") == 5200 and round_to_tick(5201, "0.01", "up") == 5300
    assert round_to_tick(3, "0.01") == 100 and round_to_tick(9999, "0.01") == 9900
    assert round_to_tick(5230, "0.0025") == 5225
