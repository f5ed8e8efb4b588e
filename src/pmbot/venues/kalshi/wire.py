"""Typed Kalshi wire messages (current API, Aug 2026): every REST body and WS frame the bot uses.

Frozen msgspec structs decoded once at the edge with prebuilt decoders. Unknown extra fields
are tolerated (the venue adds fields often); fields the bot relies on are required and a
missing one is a `ProtocolViolation` naming its JSON path. Dollar and count values stay the
venue's fixed-point strings here; convert.py turns them into exact integer units.
Field sets follow the recorded demo traffic in tests/fixtures/kalshi, which wins over docs.
REST bodies live in wire_rest.py and are re-exported here; WS frames are defined here.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import Struct

from pmbot.errors import ProtocolViolation
from pmbot.venues.kalshi.wire_rest import *  # noqa: F403 - one namespace for all wire types
from pmbot.venues.kalshi.wire_rest import PriceRangeWire, W
from pmbot.venues.kalshi.wire_rest import __all__ as _rest_all

__all__ = [
    *_rest_all,
    "DeltaMsg",
    "EventLifecycleFrame",
    "EventLifecycleMsg",
    "F",
    "FillFrame",
    "FillMsg",
    "Frame",
    "KNOWN_FRAME_TYPES",
    "LifecycleMsg",
    "MarketLifecycleFrame",
    "MarketPositionFrame",
    "MarketPositionMsg",
    "Ok",
    "OkMsg",
    "OrderGroupFrame",
    "OrderGroupMsg",
    "OrderbookDelta",
    "OrderbookSnapshot",
    "SnapshotMsg",
    "Subscribed",
    "SubscribedMsg",
    "SubscriptionInfo",
    "TickerFrame",
    "TickerMsg",
    "TradeFrame",
    "TradeMsg",
    "UnknownFrame",
    "Unsubscribed",
    "UserOrderFrame",
    "UserOrderMsg",
    "WsError",
    "WsErrorMsg",
    "decode",
    "decode_frame",
    "decoder_for",
]

T = TypeVar("T")
Level = tuple[str, str]


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
