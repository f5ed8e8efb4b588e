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

from decimal import Decimal
from typing import Any

import msgspec

from pmbot.errors import ProtocolViolation

__all__ = [
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


class PolyBook(_W, tag_field="event_type", tag="book"):
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


class PolyPriceChangeEntry(_W):
    asset_id: str
    price: str
    size: str  # the new aggregate size at the level; "0" removes it
    side: str  # "BUY" = bid, "SELL" = ask
    hash: str = ""
    best_bid: str | None = None
    best_ask: str | None = None


class PolyPriceChange(_W, tag_field="event_type", tag="price_change"):
    market: str
    price_changes: list[PolyPriceChangeEntry]
    timestamp: str = ""


class PolyTickSizeChange(_W, tag_field="event_type", tag="tick_size_change"):
    market: str
    asset_id: str
    old_tick_size: str
    new_tick_size: str
    timestamp: str = ""


class PolyLastTradePrice(_W, tag_field="event_type", tag="last_trade_price"):
    market: str
    asset_id: str
    price: str
    side: str = ""
    size: str = ""
    fee_rate_bps: str = "0"
    timestamp: str = ""
    transaction_hash: str | None = None


class PolyBestBidAsk(_W, tag_field="event_type", tag="best_bid_ask"):
    market: str
    asset_id: str
    best_bid: str
    best_ask: str
    spread: str = ""
    timestamp: str = ""


class PolyNewMarket(_W, tag_field="event_type", tag="new_market"):
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


class PolyMarketResolved(_W, tag_field="event_type", tag="market_resolved"):
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
class PolyOrderEvent(_W, tag_field="event_type", tag="order"):
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


class PolyMakerOrder(_W):
    order_id: str
    matched_amount: str
    price: str
    asset_id: str = ""
    owner: str = ""
    maker_address: str = ""
    outcome: str = ""
    side: str = ""
    fee_rate_bps: str = "0"


class PolyTradeEvent(_W, tag_field="event_type", tag="trade"):
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


# ---- REST: auth, misc ---------------------------------------------------------------------
class PolyApiCreds(_W):
    apiKey: str
    secret: str
    passphrase: str


class PolyErrorBody(_W):
    error: str | None = None
    error_msg: str | None = None
    errorMsg: str | None = None
    code: str | None = None
    heartbeat_id: str | None = None
    retry_after_seconds: int | None = None


class PolyVersion(_W):
    version: int


PolyTime = int


class PolyHeartbeat(_W):
    heartbeat_id: str = ""
    status: str | None = None


class PolyTickSize(_W):
    minimum_tick_size: Decimal


class PolyNegRisk(_W):
    neg_risk: bool


class PolyFeeRate(_W):
    base_fee: int | str = 0


class PolyBalanceAllowance(_W):
    balance: str
    allowance: str | None = None
    allowances: dict[str, str] | None = None


# ---- REST: orders ---------------------------------------------------------------------------
class PolySignedOrder(_W):
    """A CLOB V2 signed order as sent (11 signed fields + unsigned `expiration` + signature)."""

    salt: int
    maker: str
    signer: str
    tokenId: str
    makerAmount: str
    takerAmount: str
    side: str
    expiration: str
    signatureType: int
    timestamp: str
    metadata: str
    builder: str
    signature: str


class PolySignedOrderV1(_W):
    """The legacy (pre-2026-04-28) 12-field order; production answers order_version_mismatch."""

    salt: int
    maker: str
    signer: str
    taker: str
    tokenId: str
    makerAmount: str
    takerAmount: str
    expiration: str
    nonce: str
    feeRateBps: str
    side: str
    signatureType: int
    signature: str


class PolyOrderRequest(_W):
    order: PolySignedOrder
    owner: str
    orderType: str = "GTC"
    deferExec: bool = False
    postOnly: bool = False


class PolyOrderResponse(_W):
    success: bool = False
    errorMsg: str | None = None
    orderID: str | None = None
    status: str | None = None
    makingAmount: str | None = None
    takingAmount: str | None = None
    transactionsHashes: list[str] | None = None
    tradeIDs: list[str] | None = None


class PolyCancelResponse(_W):
    canceled: list[str] | None = None
    not_canceled: dict[str, str] | None = None


class PolyOpenOrder(_W):
    id: str
    status: str
    market: str
    asset_id: str
    side: str
    original_size: str
    size_matched: str
    price: str
    owner: str = ""
    maker_address: str = ""
    outcome: str = ""
    order_type: str = ""
    expiration: str | None = None
    associate_trades: list[str] | None = None
    created_at: int | str | None = None


class PolyOrdersPage(_W):
    data: list[PolyOpenOrder]
    next_cursor: str
    limit: int | None = None
    count: int | None = None


class PolyTrade(_W):
    id: str
    market: str
    asset_id: str
    side: str
    size: str
    price: str
    status: str
    taker_order_id: str = ""
    fee_rate_bps: str = "0"
    match_time: str = ""
    last_update: str = ""
    outcome: str = ""
    bucket_index: int = 0
    owner: str = ""
    maker_address: str = ""
    transaction_hash: str | None = None
    trader_side: str = ""
    maker_orders: list[PolyMakerOrder] = []


class PolyTradesPage(_W):
    data: list[PolyTrade]
    next_cursor: str
    limit: int | None = None
    count: int | None = None


# ---- REST: markets -------------------------------------------------------------------------
class PolyMarketToken(_W):
    token_id: str
    outcome: str
    price: Decimal | None = None
    winner: bool = False


class PolyMarket(_W):
    condition_id: str
    tokens: list[PolyMarketToken]
    question_id: str = ""
    question: str = ""
    minimum_order_size: Decimal = Decimal(5)
    minimum_tick_size: Decimal = Decimal("0.01")
    neg_risk: bool = False
    accepting_orders: bool = True
    active: bool = True
    closed: bool = False
    maker_base_fee: int = 0
    taker_base_fee: int = 0
    seconds_delay: int = 0
    market_slug: str = ""
    rewards: Any = None


class PolyMarketsPage(_W):
    data: list[PolyMarket]
    next_cursor: str
    limit: int | None = None
    count: int | None = None


class PolyClobTokenRef(_W):
    t: str
    o: str = ""


class PolyClobMarketInfo(_W):
    """`/clob-markets/{cid}`: the compact form the V2 SDK reads before market orders."""

    c: str
    t: list[PolyClobTokenRef | None]
    mts: Decimal
    mos: Decimal = Decimal(5)
    nr: bool = False
    fd: dict[str, Any] | None = None
    mbf: int = 0
    tbf: int = 0
    ao: bool = True


PolyClobMarketToken = PolyClobTokenRef


class PolyGammaMarket(_W):
    """Gamma market; `clobTokenIds`/`outcomes` are JSON arrays encoded inside strings."""

    id: str
    conditionId: str
    clobTokenIds: str = "[]"
    outcomes: str = "[]"
    question: str = ""
    slug: str = ""
    active: bool = True
    closed: bool = False
    acceptingOrders: bool = True
    enableOrderBook: bool = True
    orderPriceMinTickSize: Decimal | None = None
    orderMinSize: Decimal | None = None
    negRisk: bool = False
    outcomePrices: str | None = None
    endDate: str | None = None
    feesEnabled: bool = False


class PolyGammaEvent(_W):
    id: str
    slug: str = ""
    title: str = ""
    negRisk: bool = False
    markets: list[PolyGammaMarket] = []


class PolyDataApiTrade(_W):
    """Data API v2 trade (snake_case; JSON numbers)."""

    side: str
    token_id: str
    condition_id: str
    size: Decimal
    price: Decimal
    timestamp: int
    proxy_wallet: str = ""
    outcome: str = ""
    transaction_hash: str = ""


class PolyDataApiPage(_W):
    data: list[PolyDataApiTrade]
    pagination: dict[str, Any] | None = None


# ---- decoders --------------------------------------------------------------------------------
_market_dec = msgspec.json.Decoder(MarketMsg | list[MarketMsg])  # type: ignore[arg-type]
_user_dec = msgspec.json.Decoder(UserMsg | list[UserMsg])  # type: ignore[arg-type]
_raw_list = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])


class _Kind(msgspec.Struct):
    event_type: str = ""
    type: str = ""
    bids: msgspec.Raw = msgspec.Raw()


_kind_dec = msgspec.json.Decoder(_Kind)
_single_market: dict[str, msgspec.json.Decoder[Any]] = {
    cls.__struct_config__.tag: msgspec.json.Decoder(cls)  # type: ignore[misc]
    for cls in MarketMsg.__args__  # type: ignore[attr-defined]
}
_order_dec = msgspec.json.Decoder(PolyOrderEvent)
_trade_dec = msgspec.json.Decoder(PolyTradeEvent)
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
encode = msgspec.json.Encoder().encode


def _elements(frame: bytes | str) -> list[bytes | msgspec.Raw]:
    try:
        top = _raw_list.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ProtocolViolation(f"undecodable frame: {e}") from None
    return top if isinstance(top, list) else [frame]  # type: ignore[list-item]


def decode_market(frame: bytes | str) -> list[MarketMsg]:
    """One market-channel frame -> its messages; unknown `event_type`s are skipped."""
    try:
        out = _market_dec.decode(frame)
        return out if isinstance(out, list) else [out]
    except (msgspec.DecodeError, msgspec.ValidationError):
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
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ProtocolViolation(f"bad market message: {e}") from None
    return msgs


def decode_user(frame: bytes | str) -> list[UserMsg]:
    """One user-channel frame -> its order/trade messages; unknown kinds are skipped."""
    try:
        out = _user_dec.decode(frame)
        return out if isinstance(out, list) else [out]
    except (msgspec.DecodeError, msgspec.ValidationError):
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
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ProtocolViolation(f"bad user message: {e}") from None
    return msgs


def decode(body: bytes | str, typ: Any) -> Any:
    """Decode a REST body into `typ` with a cached decoder; ProtocolViolation on mismatch."""
    dec = _decoders.get(typ)
    if dec is None:
        dec = _decoders[typ] = msgspec.json.Decoder(typ)
    try:
        return dec.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise ProtocolViolation(f"cannot decode {getattr(typ, '__name__', typ)}: {e}") from None
