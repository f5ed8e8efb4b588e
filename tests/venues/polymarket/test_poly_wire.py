"""Every recorded Polymarket payload decodes into typed messages; corrupted copies raise
ProtocolViolation, never anything else."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from pmbot.errors import ProtocolViolation
from pmbot.venues.polymarket import wire as w

FIX = Path(__file__).parents[2] / "fixtures" / "polymarket"


def _market(b: bytes) -> object:
    msgs = w.decode_market(b)
    assert msgs
    return msgs


def _user(b: bytes) -> object:
    msgs = w.decode_user(b)
    assert msgs
    return msgs


def _t(typ: object):
    return lambda b: w.decode(b, typ)


DECODERS = {
    "ws_book_snapshot_captured.json": _market,
    "ws_book_snapshot.json": _market,
    "ws_market_book_msg.json": _market,
    "ws_market_price_change_msg.json": _market,
    "ws_market_price_change_crossing_burst.json": _market,
    "ws_market_best_bid_ask_msg.json": _market,
    "ws_market_last_trade_msg.json": _market,
    "ws_market_tick_size_msg.json": _market,
    "ws_market_resolved_msg.json": _market,
    "ws_market_new_market_msg.json": _market,
    "ws_market_mixed_known_unknown.json": _market,
    "ws_user_order_placement.json": _user,
    "ws_user_order_update.json": _user,
    "ws_user_order_cancellation.json": _user,
    "ws_user_order_matched.json": _user,
    "ws_user_trade.json": _user,
    "ws_user_trade_full.json": _user,
    "ws_user_trade_full_failed.json": _user,
    "ws_user_batch_msg.json": _user,
    "clob_book_response.json": _t(w.PolyBook),
    "clob_book_response_empty_ask.json": _t(w.PolyBook),
    "clob_market_response.json": _t(w.PolyMarket),
    "clob_fee_rate_response_nonzero.json": _t(w.PolyFeeRate),
    "http_order_response_ok.json": _t(w.PolyOrderResponse),
    "http_order_response_failed.json": _t(w.PolyOrderResponse),
    "http_order_response_async_exec.json": _t(w.PolyOrderResponse),
    "http_batch_order_response.json": _t(list[w.PolyOrderResponse]),
    "http_cancel_response_ok.json": _t(w.PolyCancelResponse),
    "http_cancel_response_failed.json": _t(w.PolyCancelResponse),
    "http_batch_cancel_response.json": _t(w.PolyCancelResponse),
    "http_open_order.json": _t(w.PolyOpenOrder),
    "http_open_orders_page.json": _t(w.PolyOrdersPage),
    "http_trades_page.json": _t(w.PolyTradesPage),
    "http_trade_report.json": _t(w.PolyTrade),
    "http_signed_order.json": _t(w.PolySignedOrderV1),
    "http_balance_allowance_collateral.json": _t(w.PolyBalanceAllowance),
    "http_api_credentials.json": _t(w.PolyApiCreds),
    "gamma_market.json": _t(w.PolyGammaMarket),
    "gamma_event.json": _t(list[w.PolyGammaEvent]),
    "data_api_trades_captured_response.json": _t(w.PolyDataApiPage),
}


def test_every_fixture_is_mapped() -> None:
    files = {p.name for p in FIX.glob("*.json")}
    assert files == set(DECODERS)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_fixture_decodes(name: str) -> None:
    DECODERS[name]((FIX / name).read_bytes())


def test_shapes() -> None:
    burst = w.decode_market((FIX / "ws_market_price_change_crossing_burst.json").read_bytes())
    assert isinstance(burst[0], w.PolyBook) and isinstance(burst[-1], w.PolyBook)
    assert sum(isinstance(m, w.PolyPriceChange) for m in burst) == 49
    mixed = w.decode_market((FIX / "ws_market_mixed_known_unknown.json").read_bytes())
    assert [type(m) for m in mixed] == [w.PolyPriceChange, w.PolyLastTradePrice]
    batch = w.decode_user((FIX / "ws_user_batch_msg.json").read_bytes())
    assert [type(m) for m in batch] == [w.PolyOrderEvent, w.PolyTradeEvent]
    (failed,) = w.decode_user((FIX / "ws_user_trade_full_failed.json").read_bytes())
    assert isinstance(failed, w.PolyTradeEvent) and failed.status == "FAILED"
    (bare,) = w.decode_market((FIX / "ws_book_snapshot.json").read_bytes())
    assert isinstance(bare, w.PolyBook) and bare.asks[-1].price == "0.51"


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    op = rng.randrange(4)
    i = rng.randrange(len(b))
    if op == 0:
        return bytes(b[:i])  # truncation
    if op == 1:
        b[i] = rng.choice(b'{}[]",:0x\\')
    elif op == 2:
        del b[i : i + rng.randrange(1, 20)]
    else:
        b[i:i] = rng.choice([b'"', b"null", b"1", b"{", b"]"])
    return bytes(b)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_corrupted_copies_raise_protocol_violation_only(name: str) -> None:
    data = (FIX / name).read_bytes()
    rng = random.Random(name)
    for _ in range(60):
        bad = _corrupt(data, rng)
        try:
            DECODERS[name](bad)
        except ProtocolViolation:
            pass
        except AssertionError:
            pass  # decoded to no known message: acceptable (unknown events are skipped)


@pytest.mark.parametrize(
    "body", [b"", b"null", b"[]x", b'{"event_type":"book"}', b"\xff\xfe", b"[1,2]"]
)
def test_garbage(body: bytes) -> None:
    for fn in (w.decode_market, w.decode_user):
        with contextlib.suppress(ProtocolViolation):
            fn(body)


def test_invalid_utf8_and_unknown_tick_are_typed() -> None:
    """Regression (decoder fuzzing): invalid UTF-8 escaped as UnicodeDecodeError; an unknown
    tick size in a book frame as a bare ValueError."""
    from pmbot.errors import PmbotError
    from pmbot.venues.polymarket.convert import tick_units

    for fn in (w.decode_market, w.decode_user, lambda b: w.decode(b, w.PolyBook)):
        with pytest.raises(ProtocolViolation):
            fn(b'{"event_type":"\xf8book"}')
    with pytest.raises(PmbotError):
        tick_units("ask")
