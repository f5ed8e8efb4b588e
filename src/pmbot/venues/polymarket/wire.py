"""Polymarket CLOB V2 wire types: every REST body and WebSocket message we read or send.

Frozen msgspec structs, one prebuilt decoder per stream. Prices and sizes stay decimal
strings here (convert.py turns them into exact integers); Gamma and the CLOB market
endpoints send JSON numbers, which decode into `Decimal`, never float. Unknown fields are
ignored (the venue adds fields); a missing required field or a wrong type is a
`ProtocolViolation` raised by the `decode_*` helpers, never a crash.

Frames on the market and user channels are discriminated by `event_type`. Some recorded
payloads omit it (bare REST-style book snapshots, single user messages): `decode_market`
and `decode_user` fall back to the shape (`bids` -> book, `type` -> order/trade) and skip
unknown event types instead of failing the frame.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pmbot.errors import ProtocolViolation
from pmbot.venues.polymarket.wire_rest import (  # the REST bodies, re-exported
    PolyApiCreds,
    PolyBalanceAllowance,
    PolyCancelResponse,
    PolyClobMarketInfo,
    PolyClobMarketToken,
    PolyClobTokenRef,
    PolyDataApiPage,
    PolyDataApiTrade,
    PolyErrorBody,
    PolyFeeRate,
    PolyGammaEvent,
    PolyGammaMarket,
    PolyHeartbeat,
    PolyMakerOrder,
    PolyMarket,
    PolyMarketsPage,
    PolyNegRisk,
    PolyOpenOrder,
    PolyOrderRequest,
    PolyOrderResponse,
    PolyOrdersPage,
    PolySignedOrder,
    PolySignedOrderV1,
    PolyTickSize,
    PolyTime,
    PolyTrade,
    PolyTradesPage,
    PolyVersion,
)
from pmbot.venues.polymarket.wire_rest import __all__ as _rest_all

__all__ = [
    *_rest_all,
    "MARKET_EVENT_TYPES",
    "PolyApiCreds",
    "PolyBalanceAllowance",
    "PolyBestBidAsk",
    "PolyBook",
    "PolyCancelResponse",
    "PolyClobMarketInfo",
    "PolyClobMarketToken",
    "PolyClobTokenRef",
    "PolyDataApiPage",
    "PolyDataApiTrade",
    "PolyErrorBody",
    "PolyFeeRate",
    "PolyGammaEvent",
    "PolyGammaMarket",
    "PolyHeartbeat",
    "PolyLastTradePrice",
    "PolyLevel",
    "PolyMakerOrder",
    "PolyMarket",
    "PolyMarketResolved",
    "PolyMarketsPage",
    "PolyNegRisk",
    "PolyNewMarket",
    "PolyOpenOrder",
    "PolyOrderEvent",
    "PolyOrderRequest",
    "PolyOrderResponse",
    "PolyOrdersPage",
    "PolyPriceChange",
    "PolyPriceChangeEntry",
    "PolySignedOrder",
    "PolySignedOrderV1",
    "PolyTickSize",
    "PolyTickSizeChange",
    "PolyTime",
    "PolyTrade",
    "PolyTradeEvent",
    "PolyTradesPage",
    "PolyVersion",
    "decode",
    "decode_market",
    "decode_user",
    "encode",
]


class _W(msgspec.Struct, frozen=True, kw_only=True):
    """Base: frozen, keyword-only."""


# ---- market channel ---------------------------------------------------------------------
class PolyLevel(msgspec.Struct, frozen=True):
    price: str
    size: str


class PolyBook(_W, frozen=True, kw_only=True, tag_field="event_type", tag="book"):
    """A full book of one token (WS `book` and REST `/book`). Bids ascending, asks descending."""

    market: str
    asset_id: str
    bids: list[PolyLevel]
    asks: list[PolyLevel]
    timestamp: str = ""
    hash: str = ""
    tick_size: str | None = None
    min_order_size: str | None = None
    neg_risk: bool | None = None
    last_trade_price: str | None = None


class PolyPriceChangeEntry(_W, frozen=True, kw_only=True):
    asset_id: str
    price: str
    size: str  # the new aggregate size at the level; "0" removes it
    side: str  # "BUY" = bid, "SELL" = ask
    hash: str = ""
    best_bid: str | None = None
    best_ask: str | None = None


class PolyPriceChange(_W, frozen=True, kw_only=True, tag_field="event_type", tag="price_change"):
    market: str
    price_changes: list[PolyPriceChangeEntry]
    timestamp: str = ""


class PolyTickSizeChange(
    _W, frozen=True, kw_only=True, tag_field="event_type", tag="tick_size_change"
):
    market: str
    asset_id: str
    old_tick_size: str
    new_tick_size: str
    timestamp: str = ""


class PolyLastTradePrice(
    _W, frozen=True, kw_only=True, tag_field="event_type", tag="last_trade_price"
):
    market: str
    asset_id: str
    price: str
    side: str = ""
    size: str = ""
    fee_rate_bps: str = "0"
    timestamp: str = ""
    transaction_hash: str | None = None


class PolyBestBidAsk(_W, frozen=True, kw_only=True, tag_field="event_type", tag="best_bid_ask"):
    market: str
    asset_id: str
    best_bid: str
    best_ask: str
    spread: str = ""
    timestamp: str = ""


class PolyNewMarket(_W, frozen=True, kw_only=True, tag_field="event_type", tag="new_market"):
    market: str
    assets_ids: list[str]
    id: str = ""
    question: str = ""
    slug: str = ""
    outcomes: list[str] = []
    timestamp: str = ""
    condition_id: str = ""
    active: bool = True
    clob_token_ids: list[str] = []
    order_price_min_tick_size: str | None = None
    fee_schedule: Any = None


class PolyMarketResolved(
    _W, frozen=True, kw_only=True, tag_field="event_type", tag="market_resolved"
):
    market: str
    winning_asset_id: str
    winning_outcome: str = ""
    assets_ids: list[str] = []
    id: str = ""
    timestamp: str = ""


MarketMsg = (
    PolyBook
    | PolyPriceChange
    | PolyTickSizeChange
    | PolyLastTradePrice
    | PolyBestBidAsk
    | PolyNewMarket
    | PolyMarketResolved
)
MARKET_EVENT_TYPES = frozenset(
    (
        "book",
        "price_change",
        "tick_size_change",
        "last_trade_price",
        "best_bid_ask",
        "new_market",
        "market_resolved",
    )
)


# ---- user channel -----------------------------------------------------------------------
class PolyOrderEvent(_W, frozen=True, kw_only=True, tag_field="event_type", tag="order"):
    """`type`: PLACEMENT | UPDATE | CANCELLATION; sizes in shares."""

    id: str
    market: str
    asset_id: str
    side: str
    price: str
    original_size: str
    size_matched: str
    status: str
    type: str
    owner: str = ""
    order_owner: str = ""
    outcome: str = ""
    order_type: str = ""
    expiration: str | None = None
    associate_trades: list[str] | None = None
    created_at: str | None = None
    timestamp: str = ""
    maker_address: str = ""


class PolyTradeEvent(_W, frozen=True, kw_only=True, tag_field="event_type", tag="trade"):
    """One status of a trade; the same `id` comes again for each status change."""

    id: str
    market: str
    asset_id: str
    side: str
    size: str
    price: str
    status: str  # MATCHED | MINED | CONFIRMED | RETRYING | FAILED
    taker_order_id: str = ""
    type: str = "TRADE"
    owner: str = ""
    trade_owner: str = ""
    maker_address: str = ""
    match_time: str = ""
    matchtime: str = ""
    last_update: str = ""
    timestamp: str = ""
    fee_rate_bps: str = "0"
    bucket_index: int = 0
    transaction_hash: str | None = None
    trader_side: str = ""
    outcome: str = ""
    maker_orders: list[PolyMakerOrder] = []


UserMsg = PolyOrderEvent | PolyTradeEvent


# ---- decoders --------------------------------------------------------------------------------
_market_dec = msgspec.json.Decoder(MarketMsg | list[MarketMsg])
_user_dec = msgspec.json.Decoder(UserMsg | list[UserMsg])
_raw_list = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])


class _Kind(msgspec.Struct):
    event_type: str = ""
    type: str = ""
    bids: msgspec.Raw = msgspec.Raw()


_kind_dec = msgspec.json.Decoder(_Kind)
_single_market: dict[str, msgspec.json.Decoder[Any]] = {
    str(cls.__struct_config__.tag): msgspec.json.Decoder(cls) for cls in MarketMsg.__args__
}
_order_dec = msgspec.json.Decoder(PolyOrderEvent)
_trade_dec = msgspec.json.Decoder(PolyTradeEvent)
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
encode = msgspec.json.Encoder().encode


def _elements(frame: bytes | str) -> list[bytes | msgspec.Raw]:
    try:
        top = _raw_list.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
        raise ProtocolViolation(f"undecodable frame: {e}") from None
    return top if isinstance(top, list) else [frame]  # type: ignore[list-item]


def decode_market(frame: bytes | str) -> list[MarketMsg]:
    """One market-channel frame -> its messages; unknown `event_type`s are skipped."""
    try:
        out = _market_dec.decode(frame)
        return out if isinstance(out, list) else [out]
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        pass
    msgs: list[MarketMsg] = []
    for el in _elements(frame):
        try:
            kind = _kind_dec.decode(el)
            et = kind.event_type or ("book" if len(kind.bids) else "")
            dec = _single_market.get(et)
            if dec is None:
                continue  # an event type we do not know: skip it, not fatal
            msgs.append(dec.decode(el))
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
            raise ProtocolViolation(f"bad market message: {e}") from None
    return msgs


def decode_user(frame: bytes | str) -> list[UserMsg]:
    """One user-channel frame -> its order/trade messages; unknown kinds are skipped."""
    try:
        out = _user_dec.decode(frame)
        return out if isinstance(out, list) else [out]
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        pass
    msgs: list[UserMsg] = []
    for el in _elements(frame):
        try:
            kind = _kind_dec.decode(el)
            et = kind.event_type or (
                "trade" if kind.type == "TRADE" else "order" if kind.type else ""
            )
            if et == "order":
                msgs.append(_order_dec.decode(el))
            elif et == "trade":
                msgs.append(_trade_dec.decode(el))
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
            raise ProtocolViolation(f"bad user message: {e}") from None
    return msgs


def decode(body: bytes | str, typ: Any) -> Any:
    """Decode a REST body into `typ` with a cached decoder; ProtocolViolation on mismatch."""
    dec = _decoders.get(typ)
    if dec is None:
        dec = _decoders[typ] = msgspec.json.Decoder(typ)
    try:
        return dec.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as e:
        raise ProtocolViolation(f"cannot decode {getattr(typ, '__name__', typ)}: {e}") from None
