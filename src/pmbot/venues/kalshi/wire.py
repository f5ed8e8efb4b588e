"""Typed Kalshi wire messages (current API, Aug 2026): every REST body and WS frame the bot uses.

Frozen msgspec structs decoded once at the edge with prebuilt decoders. Unknown extra fields
are tolerated (the venue adds fields often); fields the bot relies on are required and a
missing one is a `ProtocolViolation` naming its JSON path. Dollar and count values stay the
venue's fixed-point strings here; convert.py turns them into exact integer units.
Field sets follow the recorded demo traffic in tests/fixtures/kalshi, which wins over docs.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import Struct

from pmbot.errors import ProtocolViolation

__all__ = [
    "KNOWN_FRAME_TYPES",
    "AccountLimits",
    "AmendOrderResponse",
    "Balance",
    "BatchCancelItem",
    "BatchCancelResponse",
    "BatchCreateItem",
    "BatchCreateResponse",
    "CancelOrderResponse",
    "CreateOrderGroupResponse",
    "CreateOrderResponse",
    "DecreaseOrderResponse",
    "DeltaMsg",
    "EndpointCost",
    "EndpointCosts",
    "ErrorBody",
    "ErrorDetail",
    "Event",
    "EventLifecycleFrame",
    "EventPosition",
    "EventResponse",
    "EventsPage",
    "ExchangeSchedule",
    "ExchangeStatus",
    "FeeChanges",
    "Fill",
    "FillFrame",
    "FillMsg",
    "FillsPage",
    "Frame",
    "LegacyCancelResponse",
    "LifecycleMsg",
    "Market",
    "MarketLifecycleFrame",
    "MarketPosition",
    "MarketPositionFrame",
    "MarketResponse",
    "MarketsPage",
    "Ok",
    "Order",
    "OrderGroup",
    "OrderGroupFrame",
    "OrderGroupResponse",
    "OrderGroupsResponse",
    "OrderResponse",
    "Orderbook",
    "OrderbookDelta",
    "OrderbookResponse",
    "OrderbookSnapshot",
    "OrderbooksResponse",
    "OrdersPage",
    "PositionsPage",
    "PriceRangeWire",
    "QueuePosition",
    "QueuePositionResponse",
    "QueuePositionsResponse",
    "Series",
    "SeriesListResponse",
    "SeriesResponse",
    "Settlement",
    "SettlementsPage",
    "SnapshotMsg",
    "Subscribed",
    "SubscriptionInfo",
    "TickerFrame",
    "Trade",
    "TradeFrame",
    "TradesPage",
    "UnknownFrame",
    "Unsubscribed",
    "UserDataTimestamp",
    "UserOrderFrame",
    "UserOrderMsg",
    "WsError",
    "WsErrorMsg",
    "decode",
    "decode_frame",
    "decoder_for",
]

T = TypeVar("T")
Level = tuple[str, str]  # [price_dollars, count_fp]


class W(Struct, frozen=True, kw_only=True, gc=False):
    """Base: frozen, tolerant of unknown fields."""


# ---- errors ------------------------------------------------------------------------------
class ErrorDetail(W):
    code: str = ""
    message: str = ""
    details: str | None = None
    service: str | None = None


class ErrorBody(W):
    """All error shapes: nested {error:{...}}, flat {code,message,details}, bare {msg}, 429 {error:"..."}."""

    error: ErrorDetail | str | None = None
    code: str | None = None
    message: str | None = None
    details: str | None = None
    msg: str | None = None


# ---- exchange / series / events ----------------------------------------------------------
class ExchangeIndexStatus(W):
    exchange_index: int = 0
    exchange_active: bool = True
    trading_active: bool = True


class ExchangeStatus(W):
    exchange_active: bool
    trading_active: bool
    exchange_estimated_resume_time: str | None = None
    exchange_index_statuses: list[ExchangeIndexStatus] = []


class DayHours(W):
    open_time: str
    close_time: str


class StandardHours(W):
    start_time: str | None = None
    end_time: str | None = None
    monday: list[DayHours] = []
    tuesday: list[DayHours] = []
    wednesday: list[DayHours] = []
    thursday: list[DayHours] = []
    friday: list[DayHours] = []
    saturday: list[DayHours] = []
    sunday: list[DayHours] = []


class MaintenanceWindow(W):
    start_datetime: str
    end_datetime: str


class Schedule(W):
    standard_hours: list[StandardHours] = []
    maintenance_windows: list[MaintenanceWindow] = []


class ExchangeSchedule(W):
    schedule: Schedule


class UserDataTimestamp(W):
    as_of_time: str


class Series(W):
    ticker: str
    title: str = ""
    frequency: str = ""
    category: str = ""
    fee_type: str = "quadratic"
    fee_multiplier: float = 1.0
    exchange_index: int = 0


class SeriesResponse(W):
    series: Series


class SeriesListResponse(W):
    series: list[Series] | None


class FeeChange(W):
    series_ticker: str = ""
    fee_type: str = ""
    fee_multiplier: float = 1.0
    scheduled_ts: str | None = None


class FeeChanges(W):
    series_fee_change_arr: list[FeeChange] | None


class PriceRangeWire(W):
    start: str
    end: str
    step: str


class Market(W):
    ticker: str
    event_ticker: str
    status: str
    close_time: str
    price_ranges: list[PriceRangeWire]
    yes_bid_dollars: str
    yes_ask_dollars: str
    no_bid_dollars: str = "0.0000"
    no_ask_dollars: str = "1.0000"
    last_price_dollars: str = "0.0000"
    yes_bid_size_fp: str = "0.00"
    yes_ask_size_fp: str = "0.00"
    volume_fp: str = "0.00"
    volume_24h_fp: str = "0.00"
    open_interest_fp: str = "0.00"
    market_type: str = "binary"
    title: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    open_time: str = ""
    created_time: str = ""
    updated_time: str = ""
    expected_expiration_time: str | None = None
    latest_expiration_time: str | None = None
    settlement_timer_seconds: int = 0
    result: str = ""
    expiration_value: str = ""
    settlement_value_dollars: str | None = None
    settlement_ts: str | None = None
    can_close_early: bool = False
    strike_type: str | None = None
    floor_strike: float | None = None
    cap_strike: float | None = None
    price_level_structure: str = ""
    rules_primary: str = ""
    exchange_index: int = 0


class Event(W):
    event_ticker: str
    series_ticker: str = ""
    title: str = ""
    sub_title: str = ""
    collateral_return_type: str = ""
    mutually_exclusive: bool = False
    strike_date: str | None = None
    strike_period: str | None = None
    markets: list[Market] | None = None
    fee_type_override: str | None = None
    fee_multiplier_override: float | None = None


class EventsPage(W):
    events: list[Event] | None
    cursor: str | None = None


class EventResponse(W):
    event: Event
    markets: list[Market] | None = None


class MarketsPage(W):
    markets: list[Market] | None
    cursor: str | None = None


class MarketResponse(W):
    market: Market


class Orderbook(W):
    yes_dollars: list[Level] | None = None
    no_dollars: list[Level] | None = None


class OrderbookResponse(W):
    orderbook_fp: Orderbook


class TickerOrderbook(W):
    orderbook_fp: Orderbook
    ticker: str = ""


class OrderbooksResponse(W):
    orderbooks: list[TickerOrderbook]


class Trade(W):
    trade_id: str
    ticker: str
    count_fp: str
    yes_price_dollars: str
    no_price_dollars: str = ""
    taker_outcome_side: str = ""
    taker_book_side: str = ""
    taker_side: str = ""
    created_time: str = ""
    is_block_trade: bool = False


class TradesPage(W):
    trades: list[Trade] | None
    cursor: str | None = None


# ---- portfolio ---------------------------------------------------------------------------
class BalanceBreakdown(W):
    balance: str
    exchange_index: int = 0


class Balance(W):
    balance: int  # integer cents (truncated)
    balance_dollars: str | None = None
    portfolio_value: int = 0
    updated_ts: int = 0
    balance_breakdown: list[BalanceBreakdown] = []


class MarketPosition(W):
    ticker: str
    position_fp: str
    total_traded_dollars: str = "0"
    market_exposure_dollars: str = "0"
    realized_pnl_dollars: str = "0"
    fees_paid_dollars: str = "0"
    last_updated_ts: str | int | None = None
    exchange_index: int = 0


class EventPosition(W):
    event_ticker: str
    total_cost_dollars: str = "0"
    total_cost_shares_fp: str = "0"
    event_exposure_dollars: str = "0"
    realized_pnl_dollars: str = "0"
    fees_paid_dollars: str = "0"


class PositionsPage(W):
    market_positions: list[MarketPosition] | None
    event_positions: list[EventPosition] | None = None
    cursor: str | None = None


class Fill(W):
    trade_id: str
    order_id: str
    ticker: str
    book_side: str
    count_fp: str
    yes_price_dollars: str
    is_taker: bool
    fee_cost: str
    fill_id: str = ""
    outcome_side: str = ""
    no_price_dollars: str = ""
    created_time: str = ""
    ts: int | None = None
    subaccount_number: int | None = None
    exchange_index: int = 0


class FillsPage(W):
    fills: list[Fill] | None
    cursor: str | None = None


class Settlement(W):
    ticker: str
    market_result: str
    event_ticker: str = ""
    yes_count_fp: str = "0.00"
    no_count_fp: str = "0.00"
    yes_total_cost_dollars: str = "0"
    no_total_cost_dollars: str = "0"
    revenue: int = 0
    settled_time: str = ""
    fee_cost: str = "0"
    value: int | None = None


class SettlementsPage(W):
    settlements: list[Settlement] | None
    cursor: str | None = None


class Order(W):
    order_id: str
    ticker: str
    status: str
    book_side: str
    yes_price_dollars: str
    fill_count_fp: str
    remaining_count_fp: str
    initial_count_fp: str
    client_order_id: str = ""
    outcome_side: str = ""
    no_price_dollars: str = ""
    taker_fill_cost_dollars: str = "0"
    maker_fill_cost_dollars: str = "0"
    taker_fees_dollars: str = "0"
    maker_fees_dollars: str = "0"
    created_time: str = ""
    last_update_time: str = ""
    expiration_time: str | None = None
    self_trade_prevention_type: str | None = None
    order_group_id: str | None = None
    subaccount_number: int | None = None
    exchange_index: int = 0


class OrdersPage(W):
    orders: list[Order] | None
    cursor: str | None = None


class OrderResponse(W):
    order: Order


class LegacyCancelResponse(W):
    """Legacy DELETE /portfolio/orders/{id} (recorded once; never used by the adapter)."""

    order: Order
    reduced_by_fp: str | None = None


class QueuePositionResponse(W):
    queue_position_fp: str


class QueuePosition(W):
    order_id: str
    queue_position_fp: str
    market_ticker: str = ""


class QueuePositionsResponse(W):
    queue_positions: list[QueuePosition] | None


# ---- V2 order writes ---------------------------------------------------------------------
class CreateOrderResponse(W):
    order_id: str
    fill_count: str
    remaining_count: str
    client_order_id: str = ""
    average_fill_price: str | None = None
    average_fee_paid: str | None = None
    ts_ms: int | None = None


class CancelOrderResponse(W):
    order_id: str
    reduced_by: str
    client_order_id: str | None = None
    ts_ms: int | None = None


class AmendOrderResponse(W):
    order_id: str
    client_order_id: str | None = None
    remaining_count: str | None = None
    fill_count: str | None = None
    average_fill_price: str | None = None
    average_fee_paid: str | None = None
    ts_ms: int | None = None


class DecreaseOrderResponse(W):
    order_id: str
    remaining_count: str
    client_order_id: str | None = None
    ts_ms: int | None = None


class BatchCreateItem(W):
    order_id: str | None = None
    client_order_id: str | None = None
    fill_count: str | None = None
    remaining_count: str | None = None
    average_fill_price: str | None = None
    average_fee_paid: str | None = None
    ts_ms: int | None = None
    error: ErrorDetail | None = None


class BatchCreateResponse(W):
    orders: list[BatchCreateItem]


class BatchCancelItem(W):
    order_id: str = ""
    client_order_id: str | None = None
    reduced_by: str | None = None
    ts_ms: int | None = None
    error: ErrorDetail | None = None


class BatchCancelResponse(W):
    orders: list[BatchCancelItem]


class CreateOrderGroupResponse(W):
    order_group_id: str
    subaccount: int | None = None


class OrderGroup(W):
    order_group_id: str = ""
    id: str = ""
    contracts_limit_fp: str | None = None
    is_auto_cancel_enabled: bool | None = None
    orders: list[str] | None = None


class OrderGroupResponse(W):
    order_group_id: str = ""
    contracts_limit_fp: str | None = None
    is_auto_cancel_enabled: bool | None = None
    orders: list[str] | None = None


class OrderGroupsResponse(W):
    order_groups: list[OrderGroup] | None


# ---- account -----------------------------------------------------------------------------
class Bucket(W):
    refill_rate: float
    bucket_capacity: float


class AccountLimits(W):
    read: Bucket
    write: Bucket
    usage_tier: str = ""


class EndpointCost(W):
    method: str
    path: str
    cost: int


class EndpointCosts(W):
    default_cost: int
    endpoint_costs: list[EndpointCost] = []


# ---- WebSocket frames --------------------------------------------------------------------
class F(Struct, frozen=True, kw_only=True, gc=False, tag_field="type"):
    """Base of WS frames: tagged by `type`."""


class SubscribedMsg(W):
    channel: str
    sid: int


class Subscribed(F, tag="subscribed"):
    msg: SubscribedMsg
    id: int | None = None


class Unsubscribed(F, tag="unsubscribed"):
    sid: int | None = None
    id: int | None = None
    seq: int | None = None


class OkMsg(W):
    market_tickers: list[str] | None = None


class SubscriptionInfo(W):
    channel: str
    sid: int
    market_tickers: list[str] | None = None


class Ok(F, tag="ok"):
    id: int | None = None
    sid: int | None = None
    seq: int | None = None
    msg: OkMsg | list[SubscriptionInfo] | None = None
    market_tickers: list[str] | None = None  # legacy placement
    subscriptions: list[SubscriptionInfo] | None = None  # legacy placement


class WsErrorMsg(W):
    code: int
    msg: str = ""
    market_ticker: str | None = None


class WsError(F, tag="error"):
    msg: WsErrorMsg
    id: int | None = None
    sid: int | None = None


class SnapshotMsg(W):
    market_ticker: str
    market_id: str = ""
    yes_dollars_fp: list[Level] | None = None  # key omitted when the side is empty
    no_dollars_fp: list[Level] | None = None


class OrderbookSnapshot(F, tag="orderbook_snapshot"):
    sid: int
    seq: int
    msg: SnapshotMsg


class DeltaMsg(W):
    market_ticker: str
    price_dollars: str
    delta_fp: str
    side: str
    ts_ms: int | None = None
    client_order_id: str | None = None
    subaccount: int | None = None


class OrderbookDelta(F, tag="orderbook_delta"):
    sid: int
    seq: int
    msg: DeltaMsg


class TickerMsg(W):
    market_ticker: str
    price_dollars: str | None = None
    yes_bid_dollars: str | None = None
    yes_ask_dollars: str | None = None
    yes_bid_size_fp: str | None = None
    yes_ask_size_fp: str | None = None
    volume_fp: str | None = None
    open_interest_fp: str | None = None
    ts_ms: int | None = None


class TickerFrame(F, tag="ticker"):
    sid: int
    msg: TickerMsg
    seq: int | None = None


class TradeMsg(W):
    trade_id: str
    market_ticker: str
    yes_price_dollars: str
    count_fp: str
    taker_outcome_side: str = ""
    taker_book_side: str = ""
    ts_ms: int | None = None


class TradeFrame(F, tag="trade"):
    sid: int
    msg: TradeMsg
    seq: int | None = None


class FillMsg(W):
    trade_id: str
    order_id: str
    market_ticker: str
    is_taker: bool
    yes_price_dollars: str
    count_fp: str
    fee_cost: str
    book_side: str
    outcome_side: str = ""
    post_position_fp: str | None = None
    client_order_id: str | None = None
    subaccount: int | None = None
    ts_ms: int | None = None


class FillFrame(F, tag="fill"):
    sid: int
    msg: FillMsg
    seq: int | None = None


class MarketPositionMsg(W):
    market_ticker: str
    position_fp: str
    position_cost_dollars: str | None = None
    realized_pnl_dollars: str | None = None
    fees_paid_dollars: str | None = None
    volume_fp: str | None = None
    subaccount: int | None = None


class MarketPositionFrame(F, tag="market_position"):
    sid: int
    msg: MarketPositionMsg
    seq: int | None = None


class UserOrderMsg(W):
    order_id: str
    ticker: str
    status: str
    book_side: str
    yes_price_dollars: str
    fill_count_fp: str
    remaining_count_fp: str
    initial_count_fp: str
    client_order_id: str = ""
    outcome_side: str = ""
    last_updated_ts_ms: int | None = None
    created_ts_ms: int | None = None


class UserOrderFrame(F, tag="user_order"):
    sid: int
    msg: UserOrderMsg
    seq: int | None = None


class LifecycleMsg(W):
    market_ticker: str
    event_type: str
    result: str | None = None
    settlement_value: str | None = None
    is_deactivated: bool | None = None
    open_ts: int | None = None
    close_ts: int | None = None
    determination_ts: int | None = None
    settled_ts: int | None = None
    price_level_structure: str | None = None
    price_ranges: list[PriceRangeWire] | None = None


class MarketLifecycleFrame(F, tag="market_lifecycle_v2"):
    sid: int
    msg: LifecycleMsg
    seq: int | None = None


class EventLifecycleMsg(W):
    event_ticker: str
    series_ticker: str = ""
    title: str = ""
    collateral_return_type: str = ""


class EventLifecycleFrame(F, tag="event_lifecycle"):
    sid: int
    msg: EventLifecycleMsg
    seq: int | None = None


class OrderGroupMsg(W):
    event_type: str
    order_group_id: str
    contracts_limit_fp: str | None = None
    ts_ms: int | None = None


class OrderGroupFrame(F, tag="order_group_updates"):
    sid: int
    msg: OrderGroupMsg
    seq: int | None = None


class UnknownFrame(W):
    """A frame type this client does not model (tolerated; seq still tracked)."""

    type: str
    sid: int | None = None
    seq: int | None = None
    id: int | None = None


Frame = (
    OrderbookDelta
    | OrderbookSnapshot
    | Subscribed
    | Unsubscribed
    | Ok
    | WsError
    | TickerFrame
    | TradeFrame
    | FillFrame
    | MarketPositionFrame
    | UserOrderFrame
    | MarketLifecycleFrame
    | EventLifecycleFrame
    | OrderGroupFrame
)
KNOWN_FRAME_TYPES = frozenset(
    {
        "orderbook_delta",
        "orderbook_snapshot",
        "subscribed",
        "unsubscribed",
        "ok",
        "error",
        "ticker",
        "trade",
        "fill",
        "market_position",
        "user_order",
        "market_lifecycle_v2",
        "event_lifecycle",
        "order_group_updates",
    }
)
_FRAME_DECODER: msgspec.json.Decoder[Frame] = msgspec.json.Decoder(Frame)  # type: ignore[arg-type]
_ENVELOPE_DECODER = msgspec.json.Decoder(UnknownFrame)


def decode_frame(data: bytes | str) -> Frame | UnknownFrame:
    """Decode one WS text frame; unknown `type`s come back as UnknownFrame, broken ones raise."""
    try:
        return _FRAME_DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError) as e:
        err = e
    try:
        env = _ENVELOPE_DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        raise ProtocolViolation(f"kalshi ws frame: {err}") from None
    if env.type in KNOWN_FRAME_TYPES:
        raise ProtocolViolation(f"kalshi ws {env.type} frame: {err}")
    return env


# ---- decoding ----------------------------------------------------------------------------
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder_for(tp: type[T]) -> msgspec.json.Decoder[T]:
    """One prebuilt decoder per type (built on first use, then reused)."""
    d = _DECODERS.get(tp)
    if d is None:
        d = _DECODERS[tp] = msgspec.json.Decoder(tp)
    return d


def decode(tp: type[T], data: bytes | str, *, what: str = "") -> T:
    """Decode a body into `tp`; any mismatch is a ProtocolViolation naming the field path."""
    try:
        return decoder_for(tp).decode(data)
    except msgspec.ValidationError as e:
        raise ProtocolViolation(f"kalshi {what or tp.__name__}: {e}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise ProtocolViolation(f"kalshi {what or tp.__name__}: malformed JSON: {e}") from None
