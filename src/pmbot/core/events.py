"""Typed domain events: what feeds and venue streams tell TradingState.

Venue adapters decode wire bytes into their own wire types and convert them into these;
nothing past the adapter sees raw JSON or a venue's field names. Prices are YES-leg
`Price` ints except where a field says NO leg; sizes are `Qty`; money `Micros`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmbot.core.book import Level
from pmbot.core.money import Micros, Price, PriceGrid, Qty
from pmbot.core.orders import OrderStatus, Side

__all__ = [
    "BookDelta",
    "BookSnapshot",
    "BookStale",
    "ConnectionState",
    "Event",
    "ExchangeStatus",
    "FeedStale",
    "Fill",
    "FillConfirmed",
    "FillVoided",
    "IndexTick",
    "MarketSpecChange",
    "MarketStatus",
    "OrderGroupUpdate",
    "OrderUpdate",
    "PositionSnapshot",
    "VolTick",
]


@dataclass(frozen=True, slots=True)
class IndexTick:
    ts_ns: int
    level: float
    source: str = ""


@dataclass(frozen=True, slots=True)
class VolTick:
    """An implied-volatility print, e.g. name="VIX", value=15.2 (index points, annualised %)."""

    ts_ns: int
    name: str
    value: float


@dataclass(frozen=True, slots=True)
class FeedStale:
    """A feed went silent (stale=True) or came back (stale=False)."""

    ts_ns: int
    feed: str
    stale: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Full bid ladders; NO levels at NO-leg prices. Marks the book fresh."""

    ticker: str
    ts_ns: int
    yes: tuple[Level, ...]
    no: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Signed size change at one level; NO prices on the NO leg."""

    ticker: str
    ts_ns: int
    is_yes: bool
    price: Price
    delta: Qty
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class BookStale:
    """The book cannot be trusted (seq gap, disconnect, resync pending) until a snapshot."""

    ticker: str
    ts_ns: int
    reason: str


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The venue's view of one of our orders."""

    order_id: str
    client_order_id: str | None
    ticker: str
    side: Side
    price: Price
    status: OrderStatus
    initial: Qty
    filled: Qty
    remaining: Qty
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of ours. `trade_id` + `order_id` identify it (dedup key)."""

    trade_id: str
    order_id: str
    ticker: str
    side: Side
    price: Price  # YES price
    qty: Qty
    fee: Micros
    is_taker: bool
    ts_ns: int
    client_order_id: str | None = None
    post_position: Qty | None = None
    provisional: bool = False  # Polymarket: matched but not yet confirmed on chain


@dataclass(frozen=True, slots=True)
class FillVoided:
    """A provisional fill that failed (Polymarket FAILED trade): roll it back."""

    trade_id: str
    order_id: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class FillConfirmed:
    """A provisional fill became final (Polymarket CONFIRMED trade): it can no longer be voided."""

    trade_id: str
    order_id: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """The venue's position in a market (signed: +YES / -NO)."""

    ticker: str
    qty: Qty
    ts_ns: int


@dataclass(frozen=True, slots=True)
class MarketStatus:
    """Lifecycle of a market: active, inactive (paused), closed, determined, finalized."""

    ticker: str
    status: str
    ts_ns: int
    result: str | None = None  # "yes" / "no" once determined
    settlement_value: Price | None = None


@dataclass(frozen=True, slots=True)
class MarketSpecChange:
    """The venue changed a live market's terms: its price grid (a new set of valid prices)
    or its close time. None leaves that term as it was."""

    ticker: str
    ts_ns: int
    grid: PriceGrid | None = None
    close_ts_ns: int | None = None


@dataclass(frozen=True, slots=True)
class ExchangeStatus:
    ts_ns: int
    exchange_active: bool
    trading_active: bool


@dataclass(frozen=True, slots=True)
class OrderGroupUpdate:
    """The venue changed an order group (Kalshi): created, triggered (it cancelled every order
    of the group and refuses new ones until a reset), reset, deleted, limit_updated."""

    ts_ns: int
    group_id: str
    event_type: str


@dataclass(frozen=True, slots=True)
class ConnectionState:
    ts_ns: int
    venue: str
    channel: str  # "ws", "rest"
    up: bool
    reason: str = ""


Event = (
    IndexTick
    | VolTick
    | FeedStale
    | BookSnapshot
    | BookDelta
    | BookStale
    | OrderUpdate
    | Fill
    | FillVoided
    | FillConfirmed
    | PositionSnapshot
    | MarketStatus
    | MarketSpecChange
    | ExchangeStatus
    | ConnectionState
    | OrderGroupUpdate
)
