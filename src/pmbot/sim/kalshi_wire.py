"""Kalshi wire shapes for the simulator's REST bodies and WebSocket frames.

Field names, units and formats follow the recorded traffic in tests/fixtures/kalshi: 4-dp
dollar strings, 2-dp count strings, 6-dp money strings, RFC 3339 times as Go prints them
(microseconds, trailing zeros trimmed). REST bodies are compact with sorted keys; WS frames
keep the recorded key order (`type, sid, seq, msg`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from pmbot.core.money import ONE, fmt_count, fmt_money, fmt_price
from pmbot.sim.accounts import FillRecord, Position, SettlementRecord
from pmbot.sim.engine import Book, Order
from pmbot.sim.index import SCALE, fmt_level
from pmbot.sim.markets import SERIES, SimEvent, SimMarket, strike_str

__all__ = [
    "USER_ID",
    "dumps_rest",
    "dumps_ws",
    "event_json",
    "fill_json",
    "market_json",
    "order_json",
    "position_json",
    "price_ranges",
    "rfc3339",
    "series_json",
    "settlement_json",
    "trade_json",
]

_enc_sorted = msgspec.json.Encoder(order="sorted")
_enc = msgspec.json.Encoder()
USER_ID = "5e1f0c2a-0000-4000-8000-00000000517e"

FILTER_TO_STATUS = {
    "unopened": {"initialized"},
    "open": {"active"},
    "paused": {"inactive"},
    # recorded: `status=closed` lists determined markets, `status=settled` only finalized ones
    "closed": {"closed", "determined", "disputed", "amended"},
    "settled": {"finalized"},
}


def price_ranges(m: SimMarket) -> list[dict[str, str]]:
    """The market's grid as `price_ranges` (dollar strings, keys as Kalshi orders them)."""
    return [
        {"end": fmt_price(r.end), "start": fmt_price(r.start), "step": fmt_price(r.step)}
        for r in m.grid.ranges
    ]


def dumps_rest(obj: Any) -> bytes:
    return _enc_sorted.encode(obj)


def dumps_ws(obj: Any) -> bytes:
    return _enc.encode(obj)


def rfc3339(ts_ns: int, *, frac: bool = True) -> str:
    """Go's RFC3339Nano at microsecond precision: '2026-06-11T06:29:20.866753Z'."""
    s, ns = divmod(ts_ns, 1_000_000_000)
    base = datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    us = ns // 1000
    if frac and us:
        return f"{base}.{us:06d}".rstrip("0") + "Z"
    return base + "Z"


def _num(v: int | None) -> int | float | None:
    if v is None:
        return None
    q, r = divmod(v, SCALE)
    return q if r == 0 else float(strike_str(v))


def top(book: Book | None) -> tuple[int | None, int, int | None, int]:
    """(best YES bid, size, best YES ask, size) on the YES scale."""
    if book is None:
        return None, 0, None, 0
    b, a = book.best_bid(), book.best_ask()
    return (
        b,
        (book.level_size(True, b) if b is not None else 0),
        a,
        (book.level_size(False, a) if a is not None else 0),
    )


def market_json(m: SimMarket, book: Book | None) -> dict[str, Any]:
    b, bs, a, as_ = top(book)
    d: dict[str, Any] = {
        "can_close_early": False,
        "close_time": rfc3339(m.close_ns, frac=False),
        "created_time": rfc3339(m.created_ns),
        "early_close_condition": "",
        "event_ticker": m.event_ticker,
        "expected_expiration_time": rfc3339(m.close_ns + 120_000_000_000, frac=False),
        "expiration_time": rfc3339(m.close_ns + 7 * 86_400_000_000_000, frac=False),
        "expiration_value": "" if m.expiration_value is None else fmt_level(m.expiration_value),
        "last_price_dollars": fmt_price(m.last_price),
        "latest_expiration_time": rfc3339(m.close_ns + 7 * 86_400_000_000_000, frac=False),
        "liquidity_dollars": "0.0000",
        "market_type": "binary",
        "no_ask_dollars": fmt_price(ONE - b if b is not None else ONE),
        "no_bid_dollars": fmt_price(ONE - a if a is not None else 0),
        "no_sub_title": m.yes_sub_title,
        "notional_value_dollars": "1.0000",
        "occurrence_datetime": rfc3339(m.close_ns, frac=False),
        "open_interest_fp": fmt_count(m.open_interest),
        "open_time": rfc3339(m.open_ns, frac=False),
        "previous_price_dollars": "0.0000",
        "previous_yes_ask_dollars": "0.0000",
        "previous_yes_bid_dollars": "0.0000",
        "price_level_structure": m.price_level_structure,
        "price_ranges": price_ranges(m),
        "result": m.result,
        "rules_primary": m.rules_primary,
        "rules_secondary": "The underlying is the S&P 500 index value published by the Source Agency (Kalshi) "
        "at the reference time; if no value is printed then, the last value before it is used.",
        "settlement_timer_seconds": 60,
        "status": m.status,
        "strike_type": m.strike_type.value,
        "ticker": m.ticker,
        "title": m.title,
        "updated_time": rfc3339(m.updated_ns),
        "volume_24h_fp": fmt_count(m.volume_24h),
        "volume_fp": fmt_count(m.volume),
        "yes_ask_dollars": fmt_price(a if a is not None else ONE),
        "yes_ask_size_fp": fmt_count(as_),
        "yes_bid_dollars": fmt_price(b if b is not None else 0),
        "yes_bid_size_fp": fmt_count(bs),
        "yes_sub_title": m.yes_sub_title,
    }
    if m.floor_strike is not None:
        d["floor_strike"] = _num(m.floor_strike)
    if m.cap_strike is not None:
        d["cap_strike"] = _num(m.cap_strike)
    if m.status in ("determined", "finalized"):
        d["settlement_value_dollars"] = "1.0000" if m.result == "yes" else "0.0000"
        d["settlement_ts"] = rfc3339(m.settled_ns or m.determined_ns)
    return d


def event_json(ev: SimEvent, markets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "available_on_brokers": False,
        "category": "Financials",
        "collateral_return_type": ev.collateral_return_type,
        "event_ticker": ev.event_ticker,
        "exchange_index": 0,
        "last_updated_ts": rfc3339(ev.updated_ns),
        "mutually_exclusive": ev.mutually_exclusive,
        "product_metadata": {},
        "series_ticker": ev.series_ticker,
        "settlement_sources": [{"name": "Kalshi", "url": "https://kalshi.com"}],
        "strike_date": rfc3339(ev.strike_ns, frac=False),
        "sub_title": ev.sub_title,
        "title": ev.title,
    }
    if ev.fee_override is not None:
        mult = ev.fee_override.multiplier
        d["fee_type_override"] = ev.fee_override.fee_type.value
        d["fee_multiplier_override"] = int(mult) if mult.denominator == 1 else float(mult)
    if markets is not None:
        d["markets"] = markets
    return d


def series_json(ticker: str) -> dict[str, Any]:
    s = SERIES[ticker]
    mult = s.fees.multiplier
    return {
        "additional_prohibitions": [],
        "category": "Financials",
        "contract_terms_url": "https://kalshi.com/regulatory/rulebook",
        "contract_url": "https://kalshi.com/regulatory/rulebook/INX.pdf",
        "exchange_index": 0,
        "fee_multiplier": int(mult) if mult.denominator == 1 else float(mult),
        "fee_type": s.fees.fee_type.value,
        "frequency": s.frequency,
        "last_updated_ts": "2026-07-03T17:00:00Z",
        "product_metadata": {},
        "settlement_sources": [{"name": "Kalshi", "url": "https://kalshi.com"}],
        "tags": ["S&P 500"],
        "ticker": s.ticker,
        "title": s.title,
    }


def order_json(o: Order) -> dict[str, Any]:
    bid = o.is_bid
    d: dict[str, Any] = {
        "action": "buy",
        "book_side": o.side,
        "client_order_id": o.client_order_id,
        "created_time": rfc3339(o.created_ns),
        "fill_count_fp": fmt_count(o.filled),
        "initial_count_fp": fmt_count(o.initial),
        "last_update_time": rfc3339(o.updated_ns),
        "maker_fees_dollars": fmt_money(o.maker_fees),
        "maker_fill_cost_dollars": fmt_money(o.maker_fill_cost),
        "no_price_dollars": fmt_price(ONE - o.price),
        "order_id": o.order_id,
        "outcome_side": "yes" if bid else "no",
        "remaining_count_fp": fmt_count(o.remaining),
        "self_trade_prevention_type": o.stp,
        "side": "yes" if bid else "no",
        "status": o.status,
        "subaccount_number": 0,
        "taker_fees_dollars": fmt_money(o.taker_fees),
        "taker_fill_cost_dollars": fmt_money(o.taker_fill_cost),
        "ticker": o.ticker,
        "type": "limit",
        "user_id": USER_ID,
        "yes_price_dollars": fmt_price(o.price),
    }
    if o.expiration_ts is not None:
        d["expiration_time"] = rfc3339(o.expiration_ts * 1_000_000_000)
    if o.group_id:
        d["order_group_id"] = o.group_id
    return d


def fill_json(r: FillRecord) -> dict[str, Any]:
    bid = r.side == "bid"
    return {
        "action": "buy",
        "book_side": r.side,
        "count_fp": fmt_count(r.count),
        "created_time": rfc3339(r.ts_ns),
        "fee_cost": fmt_money(r.fee),
        "fill_id": r.trade_id,
        "is_taker": r.is_taker,
        "market_ticker": r.ticker,
        "no_price_dollars": fmt_price(ONE - r.price),
        "order_id": r.order_id,
        "outcome_side": "yes" if bid else "no",
        "side": "yes" if bid else "no",
        "subaccount_number": 0,
        "ticker": r.ticker,
        "trade_id": r.trade_id,
        "ts": r.ts_ns // 1_000_000_000,
        "yes_price_dollars": fmt_price(r.price),
    }


def position_json(p: Position) -> dict[str, Any]:
    return {
        "fees_paid_dollars": fmt_money(p.fees),
        "last_updated_ts": rfc3339(p.updated_ns),
        "market_exposure_dollars": fmt_money(p.cost),
        "position_fp": fmt_count(p.qty),
        "realized_pnl_dollars": fmt_money(p.realized),
        "ticker": p.ticker,
        "total_traded_dollars": fmt_money(p.traded),
    }


def settlement_json(s: SettlementRecord, value: int | None) -> dict[str, Any]:
    return {
        "event_ticker": s.event_ticker,
        "exchange_index": 0,
        "fee_cost": fmt_money(s.fee, 4),
        "market_result": s.result,
        "no_count_fp": fmt_count(s.no_count),
        "no_total_cost_dollars": fmt_money(s.no_cost, 4),
        "revenue": s.revenue // 10_000,
        "settled_time": rfc3339(s.ts_ns),
        "ticker": s.ticker,
        "value": value,
        "yes_count_fp": fmt_count(s.yes_count),
        "yes_total_cost_dollars": fmt_money(s.yes_cost, 4),
    }


def trade_json(
    trade_id: str, ticker: str, price: int, count: int, taker: str, ts_ns: int
) -> dict[str, Any]:
    yes = taker == "bid"
    return {
        "count_fp": fmt_count(count),
        "created_time": rfc3339(ts_ns),
        "is_block_trade": False,
        "no_price_dollars": fmt_price(ONE - price),
        "taker_book_side": taker,
        "taker_outcome_side": "yes" if yes else "no",
        "taker_side": "yes" if yes else "no",
        "ticker": ticker,
        "trade_id": trade_id,
        "yes_price_dollars": fmt_price(price),
    }
