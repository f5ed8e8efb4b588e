"""`fit_quotes`: the gate's quotes as Polymarket takes them (pure)."""

from __future__ import annotations

from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.strategy.inputs import DesiredQuote
from pmbot.venues.polymarket.inventory import fit_quotes, min_size_qty

T = "0xabc"


def _q(side: Side, price: int, qty: int) -> DesiredQuote:
    return DesiredQuote(T, side, price, qty)


def _o(oid: str, side: Side, price: int, qty: int, st=OrderStatus.RESTING) -> LiveOrder:
    return LiveOrder("c" + oid, T, side, price, qty, qty, st, order_id=oid)


def _fit(desired, live=(), held=None, sells=None, least=500):
    sells = sells or {}
    return fit_quotes(
        desired,
        live,
        held=held or {},
        is_sell=lambda oid: sells.get(oid),
        min_size={T: least},
    )


def test_min_size_drops_quotes_the_caps_cut_below_it() -> None:
    """Regression (review): MarketInfo.min_size was read and never used: quotes the position
    cap or reduce-only cut under 5 shares went out and were refused (400 "Size (3) lower
    than the minimum: 5") on every pass."""
    assert min_size_qty("5") == 500 and min_size_qty("0.001") == 1 and min_size_qty("15") == 1500
    got = _fit([_q(Side.BID, 4900, 300), _q(Side.ASK, 5100, 500)])
    assert got == [_q(Side.ASK, 5100, 500)]
    # a position under the minimum: reduce-only's SELL of it can never be placed
    assert _fit([_q(Side.ASK, 5100, 300)], held={(T, Side.ASK): 300}) == []


def test_a_side_whose_tokens_we_hold_is_capped_at_them() -> None:
    held = {(T, Side.ASK): 700}
    assert _fit([_q(Side.ASK, 5100, 1000)], held=held) == [_q(Side.ASK, 5100, 700)]
    # best price first; under the minimum once capped: dropped
    got = _fit([_q(Side.ASK, 5300, 1000), _q(Side.ASK, 5100, 600)], held=held)
    assert got == [_q(Side.ASK, 5100, 600)]
    # fewer tokens than the minimum: no SELL can be placed, the side BUYs the other token
    held = {(T, Side.ASK): 300}
    assert _fit([_q(Side.ASK, 5100, 1000)], held=held) == [_q(Side.ASK, 5100, 1000)]
    # the other side is not capped by this side's tokens
    assert _fit([_q(Side.BID, 4900, 1000)], held=held) == [_q(Side.BID, 4900, 1000)]


def test_a_new_sell_waits_while_another_sell_reserves_the_tokens() -> None:
    held = {(T, Side.ASK): 1000}
    old = _o("0x1", Side.ASK, 5100, 1000)
    # the same SELL rests: kept
    assert _fit([_q(Side.ASK, 5100, 1000)], [old], held, {"0x1": True}) == [
        _q(Side.ASK, 5100, 1000)
    ]
    # a reprice: the old SELL reserves all 10 until its cancel lands; the new one waits
    # (the planner cancels the old one this pass; the next pass creates the new)
    assert _fit([_q(Side.ASK, 5200, 1000)], [old], held, {"0x1": True}) == []
    # an order of an earlier run, form unknown: it may reserve, so the same
    assert _fit([_q(Side.ASK, 5200, 1000)], [old], held, {}) == []
    # a cancelled one reserves nothing
    gone = _o("0x1", Side.ASK, 5100, 1000, OrderStatus.CANCELED)
    assert _fit([_q(Side.ASK, 5200, 1000)], [gone], held, {"0x1": True}) == [
        _q(Side.ASK, 5200, 1000)
    ]


def test_a_buy_resting_where_a_sell_is_wanted_is_replaced() -> None:
    held = {(T, Side.ASK): 1000}
    buy = _o("0x2", Side.ASK, 5100, 1000)  # an ask that BUYs NO, placed before the YES came
    # exactly as wanted: the planner would keep it, so the quote waits a pass (cancelled)
    assert _fit([_q(Side.ASK, 5100, 1000)], [buy], held, {"0x2": False}) == []
    # another price: cancel + create in one pass is safe (a BUY reserves no tokens)
    assert _fit([_q(Side.ASK, 5200, 1000)], [buy], held, {"0x2": False}) == [
        _q(Side.ASK, 5200, 1000)
    ]
