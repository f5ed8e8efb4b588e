"""Render the Polymarket simulator's state as the venue's JSON shapes (pure).

Shapes follow the recorded payloads in tests/fixtures/polymarket: prices and sizes are
decimal strings, books list bids ascending and asks descending (best last), REST statuses
are plain words (the WS form), timestamps are millisecond strings.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmbot.core.money import ONE, Price
from pmbot.sim.polymarket_engine import Book, EngineOrder, LevelChange

__all__ = [
    "SimMarket",
    "Trade",
    "book_json",
    "clob_market_json",
    "dec6",
    "gamma_market",
    "market_json",
    "order_json",
    "price_change",
    "px",
    "trade_json",
]


def px(p: Price) -> str:
    """5200 -> "0.52" (shortest exact form, as the venue prints prices)."""
    return _strip(str(Decimal(p) / ONE))


def dec6(v: int) -> str:
    """Micro-units -> shortest exact decimal string: 25_000_000 -> "25"."""
    return _strip(str(Decimal(v) / 1_000_000))


def _strip(s: str) -> str:
    if "E" in s or "e" in s:
        s = f"{Decimal(s):f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


@dataclass(slots=True)
class SimMarket:
    """One binary market the simulator lists (CLOB and Gamma)."""

    condition_id: str
    yes_token: str
    no_token: str
    question: str = "Simulated market?"
    slug: str = ""
    tick: str = "0.01"
    min_size: str = "5"
    neg_risk: bool = False
    fee_rate_bps: int = 0
    outcomes: tuple[str, str] = ("Yes", "No")
    active: bool = True
    closed: bool = False
    gamma_id: str = "1"


@dataclass(slots=True)
class Trade:
    """One match between a taker and one maker order, through its status lifecycle."""

    id: str
    market: str
    taker: EngineOrder
    maker: EngineOrder
    size: int
    taker_price: Price
    maker_price: Price
    fee_rate_bps: int
    match_ms: int
    status: str = "MATCHED"
    tx_hash: str = ""
    last_ms: int = 0
    transfers: list[Any] = field(default_factory=list)


def book_json(
    book: Book, is_yes: bool, ts_ms: int, m: SimMarket, last: str = "", *, ws: bool = False
) -> dict[str, Any]:
    bids, asks = book.token_levels(is_yes)
    d: dict[str, Any] = {
        "market": book.cid,
        "asset_id": book.yes_token if is_yes else book.no_token,
        "timestamp": str(ts_ms),
        "hash": "",
        "bids": [{"price": px(p), "size": dec6(q)} for p, q in bids],
        "asks": [{"price": px(p), "size": dec6(q)} for p, q in asks],
        "min_order_size": m.min_size,
        "tick_size": m.tick,
        "neg_risk": m.neg_risk,
        "last_trade_price": last,
    }
    d["hash"] = hashlib.sha1(json.dumps(d, separators=(",", ":")).encode()).hexdigest()
    if ws:
        d["event_type"] = "book"
    return d


def _best(book: Book, is_yes: bool) -> tuple[str, str]:
    bids, asks = book.token_levels(is_yes)
    return (px(bids[-1][0]) if bids else "0", px(asks[-1][0]) if asks else "1")


def best_bid_ask(
    book: Book, ts_ms: int, sent: dict[str, tuple[str, str, str, str]]
) -> list[dict[str, Any]]:
    """`best_bid_ask` for both tokens (custom-feature subscribers) when the bests moved since
    the last ones `sent` for this market; none otherwise."""
    yb, ya = _best(book, True)
    nb, na = _best(book, False)
    now = (yb, ya, nb, na)
    if sent.get(book.cid) == now:
        return []
    sent[book.cid] = now
    return [
        {
            "event_type": "best_bid_ask",
            "market": book.cid,
            "asset_id": token,
            "best_bid": b,
            "best_ask": a,
            "spread": px(int(Decimal(a) * ONE) - int(Decimal(b) * ONE)),
            "timestamp": str(ts_ms),
        }
        for token, b, a in ((book.yes_token, yb, ya), (book.no_token, nb, na))
    ]


def price_change(
    book: Book, changes: list[LevelChange], ts_ms: int, order_hash: str
) -> dict[str, Any]:
    """One `price_change` frame: every changed level, on both tokens, with the new bests."""
    yb, ya = _best(book, True)
    nb, na = _best(book, False)
    out = []
    for c in changes:
        out.append(
            {
                "asset_id": book.yes_token,
                "price": px(c.yes_price),
                "size": dec6(c.size),
                "side": "BUY" if c.yes_bid else "SELL",
                "hash": order_hash,
                "best_bid": yb,
                "best_ask": ya,
            }
        )
        out.append(
            {
                "asset_id": book.no_token,
                "price": px(ONE - c.yes_price),
                "size": dec6(c.size),
                "side": "SELL" if c.yes_bid else "BUY",
                "hash": order_hash,
                "best_bid": nb,
                "best_ask": na,
            }
        )
    return {
        "event_type": "price_change",
        "market": book.cid,
        "price_changes": out,
        "timestamp": str(ts_ms),
    }


def order_json(
    o: EngineOrder, m: SimMarket, *, event: str | None = None, ts_ms: int = 0
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": o.id,
        "status": o.status,
        "owner": o.owner,
        "maker_address": o.maker_address,
        "market": o.market,
        "asset_id": o.token_id,
        "side": o.side,
        "original_size": dec6(o.original),
        "size_matched": dec6(o.matched),
        "price": px(o.price),
        "outcome": m.outcomes[0 if o.is_yes else 1],
        "order_type": o.order_type,
        "expiration": str(o.expiration),
        "associate_trades": list(o.trades),
        "created_at": o.created_ms // 1000,
    }
    if event is not None:
        d.update(
            event_type="order",
            type=event,
            order_owner=o.owner,
            timestamp=str(ts_ms),
            created_at=str(o.created_ms),
        )
    return d


def trade_json(t: Trade, viewer: str, m: SimMarket, *, ws: bool = False) -> dict[str, Any]:
    """The trade as `viewer` (an API key) sees it: TAKER or MAKER, all maker orders listed."""
    mk = t.maker
    is_taker = viewer == t.taker.owner
    iso = _iso(t.match_ms)
    d: dict[str, Any] = {
        "id": t.id,
        "taker_order_id": t.taker.id,
        "market": t.market,
        "asset_id": t.taker.token_id,
        "side": t.taker.side,
        "size": dec6(t.size),
        "price": px(t.taker_price),
        "fee_rate_bps": str(t.fee_rate_bps),
        "status": t.status,
        "match_time": iso,
        "last_update": _iso(t.last_ms or t.match_ms),
        "outcome": m.outcomes[0 if t.taker.is_yes else 1],
        "bucket_index": 0,
        "owner": viewer,
        "maker_address": t.taker.maker_address,
        "transaction_hash": t.tx_hash,
        "trader_side": "TAKER" if is_taker else "MAKER",
        "maker_orders": [
            {
                "order_id": mk.id,
                "owner": mk.owner,
                "maker_address": mk.maker_address,
                "matched_amount": dec6(t.size),
                "price": px(t.maker_price),
                "fee_rate_bps": "0",
                "asset_id": mk.token_id,
                "outcome": m.outcomes[0 if mk.is_yes else 1],
                "side": mk.side,
            }
        ],
    }
    if ws:
        d.update(
            event_type="trade",
            type="TRADE",
            trade_owner=viewer,
            timestamp=str(t.last_ms or t.match_ms),
            matchtime=str(t.match_ms // 1000),
        )
    return d


def _iso(ms: int) -> str:
    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def market_json(m: SimMarket) -> dict[str, Any]:
    return {
        "condition_id": m.condition_id,
        "question_id": m.condition_id,
        "question": m.question,
        "market_slug": m.slug,
        "active": m.active,
        "closed": m.closed,
        "accepting_orders": m.active,
        "enable_order_book": True,
        "minimum_order_size": Decimal(m.min_size),
        "minimum_tick_size": Decimal(m.tick),
        "neg_risk": m.neg_risk,
        "maker_base_fee": 0,
        "taker_base_fee": m.fee_rate_bps,
        "seconds_delay": 0,
        "tokens": [
            {
                "token_id": m.yes_token,
                "outcome": m.outcomes[0],
                "price": Decimal("0.5"),
                "winner": False,
            },
            {
                "token_id": m.no_token,
                "outcome": m.outcomes[1],
                "price": Decimal("0.5"),
                "winner": False,
            },
        ],
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
    }


def clob_market_json(m: SimMarket) -> dict[str, Any]:
    d: dict[str, Any] = {
        "c": m.condition_id,
        "t": [{"t": m.yes_token, "o": m.outcomes[0]}, {"t": m.no_token, "o": m.outcomes[1]}],
        "mts": Decimal(m.tick),
        "mos": Decimal(m.min_size),
        "mbf": 0,
        "tbf": m.fee_rate_bps,
        "fd": {"r": Decimal(m.fee_rate_bps) / 10_000, "e": 1, "to": True},
        "ao": m.active,
    }
    if m.neg_risk:
        d["nr"] = True
    return d


def gamma_market(m: SimMarket) -> dict[str, Any]:
    return {
        "id": m.gamma_id,
        "conditionId": m.condition_id,
        "question": m.question,
        "slug": m.slug,
        "clobTokenIds": json.dumps([m.yes_token, m.no_token]),
        "outcomes": json.dumps(list(m.outcomes)),
        "outcomePrices": json.dumps(["0.5", "0.5"]),
        "active": m.active,
        "closed": m.closed,
        "acceptingOrders": m.active,
        "enableOrderBook": True,
        "orderPriceMinTickSize": Decimal(m.tick),
        "orderMinSize": Decimal(m.min_size),
        "negRisk": m.neg_risk,
        "feesEnabled": m.fee_rate_bps > 0,
    }
