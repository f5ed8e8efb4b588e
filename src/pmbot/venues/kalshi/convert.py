"""Kalshi wire types -> pmbot domain types and events, in exact units.

Prices become `Price` (1e-4 $), counts `Qty` (1e-2), money `Micros` (1e-6). NO book levels
are always returned on the NO leg (a `use_yes_price` frame's 0.52 becomes 0.48). A value
that does not parse is a `ProtocolViolation` naming the field, never a default.
`DeltaConverter` is the hot path: it caches string -> int conversions per instance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from fractions import Fraction

from pmbot.core import events as ev
from pmbot.core.market import FeeSchedule, FeeType, MarketSpec, StrikeType
from pmbot.core.money import ONE, PriceGrid, PriceRange, parse_count, parse_money, parse_price
from pmbot.core.orders import OrderStatus, Side
from pmbot.errors import ProtocolViolation, UnitError
from pmbot.venues.kalshi import wire as w

__all__ = [
    "DeltaConverter",
    "book_delta",
    "book_snapshot",
    "exchange_status",
    "fee_schedule",
    "fill_event",
    "market_spec",
    "market_status",
    "order_status",
    "order_update",
    "order_update_from_create",
    "position_snapshot",
    "price_grid",
    "rest_book_snapshot",
    "rfc3339_ns",
    "side_of",
    "spec_change",
]


def _conv(fn: Callable[[str], int], s: str, what: str) -> int:
    try:
        return fn(s)
    except UnitError as e:
        raise ProtocolViolation(f"kalshi {what}: {e}") from None


def _price(s: str, what: str) -> int:
    return _conv(parse_price, s, what)


def _count(s: str, what: str) -> int:
    return _conv(parse_count, s, what)


def _money(s: str, what: str) -> int:
    return _conv(parse_money, s, what)


def side_of(book_side: str) -> Side:
    if book_side == "bid":
        return Side.BID
    if book_side == "ask":
        return Side.ASK
    raise ProtocolViolation(f"kalshi book_side: unknown value {book_side!r}")


_STATUS = {
    "resting": OrderStatus.RESTING,
    "canceled": OrderStatus.CANCELED,
    "executed": OrderStatus.EXECUTED,
    "pending": OrderStatus.PENDING,
}


def order_status(s: str) -> OrderStatus:
    try:
        return _STATUS[s]
    except KeyError:
        raise ProtocolViolation(f"kalshi order status: unknown value {s!r}") from None


def rfc3339_ns(s: str) -> int:
    """'2026-06-11T06:29:30.164956Z' -> ns since the epoch (µs precision)."""
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolViolation(f"kalshi timestamp: malformed {s!r}") from None
    if dt.tzinfo is None:
        raise ProtocolViolation(f"kalshi timestamp: no zone in {s!r}")
    return (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000


def price_grid(ranges: Iterable[w.PriceRangeWire]) -> PriceGrid:
    try:
        return PriceGrid(
            [
                PriceRange(parse_price(r.start), parse_price(r.end), parse_price(r.step))
                for r in ranges
            ]
        )
    except UnitError as e:
        raise ProtocolViolation(f"kalshi price_ranges: {e}") from None


# ---- books -------------------------------------------------------------------------------
def _levels(
    levels: list[tuple[str, str]] | None, flip: bool, what: str
) -> tuple[tuple[int, int], ...]:
    if not levels:
        return ()
    out = []
    for p, q in levels:
        price = _price(p, what)
        out.append((ONE - price if flip else price, _count(q, what)))
    return tuple(out)


def book_snapshot(msg: w.SnapshotMsg, ts_ns: int, *, yes_scale: bool) -> ev.BookSnapshot:
    """WS snapshot -> BookSnapshot with NO levels on the NO leg."""
    return ev.BookSnapshot(
        msg.market_ticker,
        ts_ns,
        _levels(msg.yes_dollars_fp, False, "orderbook_snapshot.yes_dollars_fp"),
        _levels(msg.no_dollars_fp, yes_scale, "orderbook_snapshot.no_dollars_fp"),
    )


def rest_book_snapshot(ticker: str, book: w.Orderbook, ts_ns: int) -> ev.BookSnapshot:
    """REST orderbook_fp (always NO-leg prices) -> BookSnapshot."""
    return ev.BookSnapshot(
        ticker,
        ts_ns,
        _levels(book.yes_dollars, False, "orderbook_fp.yes_dollars"),
        _levels(book.no_dollars, False, "orderbook_fp.no_dollars"),
    )


def book_delta(msg: w.DeltaMsg, ts_ns: int, *, yes_scale: bool) -> ev.BookDelta:
    """Uncached conversion (reference for DeltaConverter)."""
    if msg.side == "yes":
        is_yes = True
    elif msg.side == "no":
        is_yes = False
    else:
        raise ProtocolViolation(f"kalshi orderbook_delta.side: unknown value {msg.side!r}")
    price = _price(msg.price_dollars, "orderbook_delta.price_dollars")
    if not is_yes and yes_scale:
        price = ONE - price
    return ev.BookDelta(
        msg.market_ticker,
        ts_ns,
        is_yes,
        price,
        _count(msg.delta_fp, "orderbook_delta.delta_fp"),
        msg.client_order_id,
    )


class DeltaConverter:
    """Cached string -> int conversion for deltas: a dict hit per field instead of a parse."""

    __slots__ = ("_counts", "_no_prices", "_yes_prices", "yes_scale")

    _MAX = 4096  # distinct strings kept per table (prices are bounded by the grid)

    def __init__(self, *, yes_scale: bool) -> None:
        self.yes_scale = yes_scale
        self._yes_prices: dict[str, int] = {}
        self._no_prices: dict[str, int] = {}
        self._counts: dict[str, int] = {}

    def price(self, s: str, is_yes: bool) -> int:
        table = self._yes_prices if is_yes else self._no_prices
        p = table.get(s)
        if p is None:
            p = _price(s, "orderbook_delta.price_dollars")
            if not is_yes and self.yes_scale:
                p = ONE - p
            if len(table) < self._MAX:
                table[s] = p
        return p

    def count(self, s: str) -> int:
        q = self._counts.get(s)
        if q is None:
            q = _count(s, "orderbook_delta.delta_fp")
            if len(self._counts) < self._MAX:
                self._counts[s] = q
        return q

    def delta(self, msg: w.DeltaMsg, ts_ns: int) -> ev.BookDelta:
        side = msg.side
        if side == "yes":
            is_yes = True
        elif side == "no":
            is_yes = False
        else:
            raise ProtocolViolation(f"kalshi orderbook_delta.side: unknown value {side!r}")
        return ev.BookDelta(
            msg.market_ticker,
            ts_ns,
            is_yes,
            self.price(msg.price_dollars, is_yes),
            self.count(msg.delta_fp),
            msg.client_order_id,
        )


# ---- orders, fills, positions ------------------------------------------------------------
def order_update(o: w.Order | w.UserOrderMsg, ts_ns: int) -> ev.OrderUpdate:
    return ev.OrderUpdate(
        order_id=o.order_id,
        client_order_id=o.client_order_id or None,
        ticker=o.ticker,
        side=side_of(o.book_side),
        price=_price(o.yes_price_dollars, "order.yes_price_dollars"),
        status=order_status(o.status),
        initial=_count(o.initial_count_fp, "order.initial_count_fp"),
        filled=_count(o.fill_count_fp, "order.fill_count_fp"),
        remaining=_count(o.remaining_count_fp, "order.remaining_count_fp"),
        ts_ns=ts_ns,
    )


def order_update_from_create(
    r: w.CreateOrderResponse, *, ticker: str, side: Side, price: int, initial: int, ts_ns: int
) -> ev.OrderUpdate:
    """A V2 create response + what we sent -> OrderUpdate (resting if anything rests)."""
    filled = _count(r.fill_count, "create.fill_count")
    remaining = _count(r.remaining_count, "create.remaining_count")
    if remaining > 0:
        status = OrderStatus.RESTING
    elif filled >= initial:
        status = OrderStatus.EXECUTED
    else:
        status = OrderStatus.CANCELED  # IOC remainder / self-trade prevention
    return ev.OrderUpdate(
        r.order_id,
        r.client_order_id or None,
        ticker,
        side,
        price,
        status,
        initial,
        filled,
        remaining,
        ts_ns,
    )


def fill_event(f: w.Fill | w.FillMsg, ts_ns: int) -> ev.Fill:
    """REST or WS fill -> Fill (YES price, book side, fee in micros)."""
    if isinstance(f, w.FillMsg):
        ticker, coid, post = f.market_ticker, f.client_order_id, f.post_position_fp
        when = f.ts_ms * 1_000_000 if f.ts_ms else ts_ns
    else:
        ticker, coid, post = f.ticker, None, None
        when = (
            f.ts * 1_000_000_000
            if f.ts
            else (rfc3339_ns(f.created_time) if f.created_time else ts_ns)
        )
    return ev.Fill(
        trade_id=f.trade_id,
        order_id=f.order_id,
        ticker=ticker,
        side=side_of(f.book_side),
        price=_price(f.yes_price_dollars, "fill.yes_price_dollars"),
        qty=_count(f.count_fp, "fill.count_fp"),
        fee=_money(f.fee_cost, "fill.fee_cost"),
        is_taker=f.is_taker,
        ts_ns=when,
        client_order_id=coid or None,
        post_position=None if post is None else _count(post, "fill.post_position_fp"),
    )


def position_snapshot(p: w.MarketPosition | w.MarketPositionMsg, ts_ns: int) -> ev.PositionSnapshot:
    ticker = p.ticker if isinstance(p, w.MarketPosition) else p.market_ticker
    return ev.PositionSnapshot(ticker, _count(p.position_fp, "position.position_fp"), ts_ns)


# ---- markets -----------------------------------------------------------------------------
def fee_schedule(series: w.Series | None, event: w.Event | None = None) -> FeeSchedule:
    """Series fee rule; an event override wins."""
    ft = (event.fee_type_override if event else None) or (
        series.fee_type if series else "quadratic"
    )
    m = (
        event.fee_multiplier_override
        if event and event.fee_multiplier_override is not None
        else (series.fee_multiplier if series else 1.0)
    )
    try:
        return FeeSchedule(FeeType(ft), Fraction(str(m)))
    except ValueError:
        raise ProtocolViolation(f"kalshi fee_type: unknown value {ft!r}") from None


def market_spec(m: w.Market, fees: FeeSchedule, series_ticker: str = "") -> MarketSpec:
    """A binary threshold/bucket market -> MarketSpec (other strike kinds are refused)."""
    try:
        st = StrikeType(m.strike_type or "")
    except ValueError:
        raise ProtocolViolation(
            f"kalshi market {m.ticker}: unsupported strike_type {m.strike_type!r}"
        ) from None
    return MarketSpec(
        ticker=m.ticker,
        event_ticker=m.event_ticker,
        series_ticker=series_ticker or m.event_ticker.split("-", 1)[0],
        strike_type=st,
        floor_strike=m.floor_strike,
        cap_strike=m.cap_strike,
        grid=price_grid(m.price_ranges),
        fees=fees,
        close_ts_ns=rfc3339_ns(m.close_time),
        title=m.yes_sub_title or m.title,
    )


# `created` sets no status: the market opens at its open_ts without a frame (protocol §4.4,
# "implicit transitions emit nothing"), so an 'initialized' kept from it never cleared and
# the market stayed "not trading" for the rest of the run
_LIFECYCLE_STATUS = {
    "activated": "active",
    "determined": "determined",
    "settled": "finalized",
    "close_date_updated": "",
    "deactivated": "inactive",
}


def order_group_update(msg: w.OrderGroupMsg, ts_ns: int) -> ev.OrderGroupUpdate:
    return ev.OrderGroupUpdate(ts_ns, msg.order_group_id, msg.event_type)


def market_status(msg: w.LifecycleMsg, ts_ns: int) -> ev.MarketStatus | None:
    """Lifecycle frame -> MarketStatus, or None for metadata-only events."""
    et = msg.event_type
    if et == "deactivated" or msg.is_deactivated is not None:
        status = "inactive" if (msg.is_deactivated is None or msg.is_deactivated) else "active"
    else:
        status = _LIFECYCLE_STATUS.get(et, "")
    if not status:
        return None
    sv = (
        None
        if not msg.settlement_value
        else _price(msg.settlement_value, "lifecycle.settlement_value")
    )
    return ev.MarketStatus(msg.market_ticker, status, ts_ns, msg.result or None, sv)


def spec_change(msg: w.LifecycleMsg, ts_ns: int) -> ev.MarketSpecChange | None:
    """`price_level_structure_updated` (new `price_ranges`) or `close_date_updated` (new
    `close_ts`, seconds) -> MarketSpecChange; None for every other lifecycle event."""
    et = msg.event_type
    if et == "price_level_structure_updated" and msg.price_ranges:
        return ev.MarketSpecChange(msg.market_ticker, ts_ns, grid=price_grid(msg.price_ranges))
    if et == "close_date_updated" and msg.close_ts is not None:
        if msg.close_ts <= 0:
            raise ProtocolViolation(f"kalshi lifecycle close_ts: {msg.close_ts}")
        return ev.MarketSpecChange(msg.market_ticker, ts_ns, close_ts_ns=msg.close_ts * 10**9)
    return None


def exchange_status(s: w.ExchangeStatus, ts_ns: int) -> ev.ExchangeStatus:
    return ev.ExchangeStatus(ts_ns, s.exchange_active, s.trading_active)
