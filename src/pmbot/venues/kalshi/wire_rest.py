"""Typed Kalshi REST bodies (current API): frozen msgspec structs, tolerant of extra fields.

Split from wire.py (which re-exports every name here); see its docstring for the rules.
"""

from __future__ import annotations

from msgspec import Struct

__all__ = [
    "AccountLimits",
    "AmendOrderResponse",
    "Balance",
    "BalanceBreakdown",
    "BatchCancelItem",
    "BatchCancelResponse",
    "BatchCreateItem",
    "BatchCreateResponse",
    "Bucket",
    "CancelOrderResponse",
    "CreateOrderGroupResponse",
    "CreateOrderResponse",
    "DayHours",
    "DecreaseOrderResponse",
    "EndpointCost",
    "EndpointCosts",
    "ErrorBody",
    "ErrorDetail",
    "Event",
    "EventPosition",
    "EventResponse",
    "EventsPage",
    "ExchangeIndexStatus",
    "ExchangeSchedule",
    "ExchangeStatus",
    "FeeChange",
    "FeeChanges",
    "Fill",
    "FillsPage",
    "LegacyCancelResponse",
    "Level",
    "MaintenanceWindow",
    "Market",
    "MarketPosition",
    "MarketResponse",
    "MarketsPage",
    "Order",
    "OrderGroup",
    "OrderGroupResponse",
    "OrderGroupsResponse",
    "OrderResponse",
    "Orderbook",
    "OrderbookResponse",
    "OrderbooksResponse",
    "OrdersPage",
    "PositionsPage",
    "PriceRangeWire",
    "QueuePosition",
    "QueuePositionResponse",
    "QueuePositionsResponse",
    "Schedule",
    "Series",
    "SeriesListResponse",
    "SeriesResponse",
    "Settlement",
    "SettlementsPage",
    "StandardHours",
    "TickerOrderbook",
    "Trade",
    "TradesPage",
    "UserDataTimestamp",
    "W",
]

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
