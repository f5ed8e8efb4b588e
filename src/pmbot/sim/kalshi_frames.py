"""Kalshi WebSocket frame bodies, in the recorded key order (`type, sid, seq, msg`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pmbot.core.money import ONE, fmt_count, fmt_money, fmt_price
from pmbot.sim.accounts import FillRecord, Position
from pmbot.sim.engine import BookChange, Fill, Order
from pmbot.sim.index import fmt_level
from pmbot.sim.kalshi_wire import USER_ID, price_ranges, rfc3339
from pmbot.sim.markets import SimEvent, SimMarket

if TYPE_CHECKING:
    from pmbot.sim.kalshi_server import KalshiSim
    from pmbot.sim.kalshi_ws import Sub

__all__ = [
    "delta_msg",
    "event_lifecycle_msg",
    "fill_msg",
    "lifecycle_msg",
    "position_msg",
    "snapshot_frame",
    "ticker_msg",
    "trade_msg",
    "user_order_msg",
]


# -- frames ---------------------------------------------------------------------------------
def snapshot_frame(sim: KalshiSim, sub: Sub, ticker: str) -> dict[str, Any]:
    book = sim.exchange.engine.book(ticker)
    m = sim.exchange.markets[ticker]
    msg: dict[str, Any] = {"market_ticker": ticker, "market_id": m.market_id}
    yes = book.yes_levels()
    no = book.no_levels()
    if yes:
        msg["yes_dollars_fp"] = [[fmt_price(p), fmt_count(q)] for p, q in yes]
    if no:
        if sub.use_yes_price:
            msg["no_dollars_fp"] = [[fmt_price(ONE - p), fmt_count(q)] for p, q in no]
        else:
            msg["no_dollars_fp"] = [[fmt_price(p), fmt_count(q)] for p, q in no]
    sub.seq += 1
    sim.hub.journal.append((sim.now_ns(), "snapshot", ticker))
    return {"type": "orderbook_snapshot", "sid": sub.sid, "seq": sub.seq, "msg": msg}


def delta_msg(sim: KalshiSim, c: BookChange, yes_scale: bool, own: bool) -> dict[str, Any]:
    price = c.price if (c.side == "yes" or not yes_scale) else ONE - c.price
    msg: dict[str, Any] = {
        "market_ticker": c.ticker,
        "market_id": sim.exchange.markets[c.ticker].market_id,
        "price_dollars": fmt_price(price),
        "delta_fp": fmt_count(c.delta),
        "side": c.side,
    }
    if own and c.client_order_id:
        msg["client_order_id"] = c.client_order_id
        msg["subaccount"] = 0
    msg["ts"] = rfc3339(c.ts_ns)
    msg["ts_ms"] = c.ts_ns // 1_000_000
    return msg


def ticker_msg(sim: KalshiSim, ticker: str, ts_ns: int) -> dict[str, Any]:
    m = sim.exchange.markets[ticker]
    book = sim.exchange.engine.book(ticker)
    b, a = book.best_bid(), book.best_ask()
    return {
        "market_ticker": ticker,
        "market_id": m.market_id,
        "price_dollars": fmt_price(m.last_price),
        "yes_bid_dollars": fmt_price(b if b is not None else 0),
        "yes_ask_dollars": fmt_price(a if a is not None else ONE),
        "volume_fp": fmt_count(m.volume),
        "open_interest_fp": fmt_count(m.open_interest),
        "dollar_volume": m.volume // 200,
        "dollar_open_interest": m.open_interest // 200,
        "yes_bid_size_fp": fmt_count(book.level_size(True, b) if b is not None else 0),
        "yes_ask_size_fp": fmt_count(book.level_size(False, a) if a is not None else 0),
        "last_trade_size_fp": fmt_count(m.last_size),
        "ts": ts_ns // 1_000_000_000,
        "ts_ms": ts_ns // 1_000_000,
        "time": rfc3339(ts_ns, frac=False),
    }


def trade_msg(f: Fill) -> dict[str, Any]:
    yes = f.taker.side == "bid"
    return {
        "trade_id": f.trade_id,
        "market_ticker": f.ticker,
        "yes_price_dollars": fmt_price(f.price),
        "no_price_dollars": fmt_price(ONE - f.price),
        "count_fp": fmt_count(f.count),
        "taker_side": "yes" if yes else "no",
        "taker_outcome_side": "yes" if yes else "no",
        "taker_book_side": f.taker.side,
        "is_block_trade": False,
        "ts": f.ts_ns // 1_000_000_000,
        "ts_ms": f.ts_ns // 1_000_000,
    }


def fill_msg(o: Order, r: FillRecord) -> dict[str, Any]:
    yes = r.side == "bid"
    return {
        "trade_id": r.trade_id,
        "order_id": r.order_id,
        "market_ticker": r.ticker,
        "exchange_index": 0,
        "is_taker": r.is_taker,
        "side": "yes" if yes else "no",
        "yes_price_dollars": fmt_price(r.price),
        "count_fp": fmt_count(r.count),
        "fee_cost": fmt_money(r.fee),
        "action": "buy",
        "outcome_side": "yes" if yes else "no",
        "book_side": r.side,
        "ts": r.ts_ns // 1_000_000_000,
        "ts_ms": r.ts_ns // 1_000_000,
        "post_position_fp": fmt_count(r.post_position),
        "purchased_side": "yes" if yes else "no",
        "client_order_id": o.client_order_id,
        "subaccount": 0,
    }


def position_msg(ticker: str, p: Position | None) -> dict[str, Any]:
    return {
        "user_id": USER_ID,
        "market_ticker": ticker,
        "position_fp": fmt_count(p.qty if p else 0),
        "position_cost_dollars": fmt_price(p.cost // 100 if p else 0),
        "realized_pnl_dollars": fmt_price(p.realized // 100 if p else 0),
        "fees_paid_dollars": fmt_price(p.fees // 100 if p else 0),
        "position_fee_cost_dollars": fmt_price(0),
        "volume_fp": fmt_count(p.volume if p else 0),
        "subaccount": 0,
    }


def user_order_msg(o: Order) -> dict[str, Any]:
    d: dict[str, Any] = {
        "order_id": o.order_id,
        "user_id": USER_ID,
        "ticker": o.ticker,
        "status": o.status,
        "side": "yes" if o.is_bid else "no",
        "is_yes": o.is_bid,
        "outcome_side": "yes" if o.is_bid else "no",
        "book_side": o.side,
        "yes_price_dollars": fmt_price(o.price),
        "fill_count_fp": fmt_count(o.filled),
        "remaining_count_fp": fmt_count(o.remaining),
        "initial_count_fp": fmt_count(o.initial),
        "taker_fill_cost_dollars": fmt_money(o.taker_fill_cost),
        "maker_fill_cost_dollars": fmt_money(o.maker_fill_cost),
        "taker_fees_dollars": fmt_money(o.taker_fees),
        "maker_fees_dollars": fmt_money(o.maker_fees),
        "client_order_id": o.client_order_id,
    }
    if o.group_id:
        d["order_group_id"] = o.group_id
    d["self_trade_prevention_type"] = o.stp
    d["created_time"] = rfc3339(o.created_ns)
    d["created_ts_ms"] = o.created_ns // 1_000_000
    d["last_update_time"] = rfc3339(o.updated_ns)
    d["last_updated_ts_ms"] = o.updated_ns // 1_000_000
    if o.expiration_ts is not None:
        d["expiration_time"] = rfc3339(o.expiration_ts * 1_000_000_000)
        d["expiration_ts_ms"] = o.expiration_ts * 1000
    d["subaccount_number"] = 0
    return d


def event_lifecycle_msg(ev: SimEvent) -> dict[str, Any]:
    """A new event, on the lifecycle channel (protocol §4.4)."""
    return {
        "event_ticker": ev.event_ticker,
        "exchange_index": 0,
        "title": ev.title,
        "subtitle": ev.sub_title,
        "collateral_return_type": ev.collateral_return_type,
        "series_ticker": ev.series_ticker,
    }


def lifecycle_msg(ev: str, m: SimMarket) -> dict[str, Any]:
    msg: dict[str, Any] = {"market_ticker": m.ticker, "event_type": ev}
    if ev == "created":
        msg.update(
            {
                "exchange_index": 0,
                "open_ts": m.open_ns // 1_000_000_000,
                "close_ts": m.close_ns // 1_000_000_000,
                "price_level_structure": m.price_level_structure,
                "price_ranges": price_ranges(m),
                "additional_metadata": {
                    "name": m.title,
                    "title": m.title,
                    "yes_sub_title": m.yes_sub_title,
                    "no_sub_title": m.yes_sub_title,
                    "rules_primary": m.rules_primary,
                    "rules_secondary": "",
                    "can_close_early": False,
                    "event_ticker": m.event_ticker,
                    "expected_expiration_ts": m.close_ns // 1_000_000_000 + 120,
                    "strike_type": m.strike_type.value,
                    "floor_strike": None if m.floor_strike is None else m.floor_strike / 10_000,
                    "cap_strike": None if m.cap_strike is None else m.cap_strike / 10_000,
                },
            }
        )
    elif ev == "determined":
        msg.update(
            {
                "result": m.result,
                "determination_ts": m.determined_ns // 1_000_000_000,
                "settlement_value": "1.0000" if m.result == "yes" else "0.0000",
                "expiration_value": fmt_level(m.expiration_value or 0),
            }
        )
    elif ev == "settled":
        msg["settled_ts"] = m.settled_ns // 1_000_000_000
    elif ev == "close_date_updated":
        msg["open_ts"] = m.open_ns // 1_000_000_000
        msg["close_ts"] = m.close_ns // 1_000_000_000
    elif ev == "price_level_structure_updated":
        msg["price_level_structure"] = m.price_level_structure
        msg["price_ranges"] = price_ranges(m)
    return msg
