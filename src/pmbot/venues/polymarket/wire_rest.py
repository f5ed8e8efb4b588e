"""Polymarket CLOB V2 REST bodies (split from wire.py to keep modules small; wire re-exports
every name here, import them from `pmbot.venues.polymarket.wire`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "PolyApiCreds",
    "PolyBalanceAllowance",
    "PolyCancelResponse",
    "PolyClobMarketInfo",
    "PolyClobTokenRef",
    "PolyDataApiPage",
    "PolyDataApiTrade",
    "PolyErrorBody",
    "PolyFeeRate",
    "PolyGammaEvent",
    "PolyGammaMarket",
    "PolyHeartbeat",
    "PolyMakerOrder",
    "PolyMarket",
    "PolyMarketToken",
    "PolyMarketsPage",
    "PolyNegRisk",
    "PolyOpenOrder",
    "PolyOrderRequest",
    "PolyOrderResponse",
    "PolyOrdersPage",
    "PolySignedOrder",
    "PolySignedOrderV1",
    "PolyTickSize",
    "PolyTime",
    "PolyTrade",
    "PolyTradesPage",
    "PolyVersion",
]


class _W(msgspec.Struct, frozen=True, kw_only=True):
    """Base: frozen, keyword-only."""


class PolyMakerOrder(_W, frozen=True, kw_only=True):
    order_id: str
    matched_amount: str
    price: str
    asset_id: str = ""
    owner: str = ""
    maker_address: str = ""
    outcome: str = ""
    side: str = ""
    fee_rate_bps: str = "0"


# ---- REST: auth, misc ---------------------------------------------------------------------
class PolyApiCreds(_W, frozen=True, kw_only=True):
    apiKey: str
    secret: str
    passphrase: str


class PolyErrorBody(_W, frozen=True, kw_only=True):
    error: str | None = None
    error_msg: str | None = None
    errorMsg: str | None = None
    code: str | None = None
    heartbeat_id: str | None = None
    retry_after_seconds: int | None = None


class PolyVersion(_W, frozen=True, kw_only=True):
    version: int


PolyTime = int


class PolyHeartbeat(_W, frozen=True, kw_only=True):
    heartbeat_id: str = ""
    status: str | None = None


class PolyTickSize(_W, frozen=True, kw_only=True):
    minimum_tick_size: Decimal


class PolyNegRisk(_W, frozen=True, kw_only=True):
    neg_risk: bool


class PolyFeeRate(_W, frozen=True, kw_only=True):
    base_fee: int | str = 0


class PolyBalanceAllowance(_W, frozen=True, kw_only=True):
    balance: str
    allowance: str | None = None
    allowances: dict[str, str] | None = None


# ---- REST: orders ---------------------------------------------------------------------------
class PolySignedOrder(_W, frozen=True, kw_only=True):
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


class PolySignedOrderV1(_W, frozen=True, kw_only=True):
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


class PolyOrderRequest(_W, frozen=True, kw_only=True):
    order: PolySignedOrder
    owner: str
    orderType: str = "GTC"
    deferExec: bool = False
    postOnly: bool = False


class PolyOrderResponse(_W, frozen=True, kw_only=True):
    success: bool = False
    errorMsg: str | None = None
    orderID: str | None = None
    status: str | None = None
    makingAmount: str | None = None
    takingAmount: str | None = None
    transactionsHashes: list[str] | None = None
    tradeIDs: list[str] | None = None


class PolyCancelResponse(_W, frozen=True, kw_only=True):
    canceled: list[str] | None = None
    not_canceled: dict[str, str] | None = None


class PolyOpenOrder(_W, frozen=True, kw_only=True):
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


class PolyOrdersPage(_W, frozen=True, kw_only=True):
    data: list[PolyOpenOrder]
    next_cursor: str
    limit: int | None = None
    count: int | None = None


class PolyTrade(_W, frozen=True, kw_only=True):
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


class PolyTradesPage(_W, frozen=True, kw_only=True):
    data: list[PolyTrade]
    next_cursor: str
    limit: int | None = None
    count: int | None = None


# ---- REST: markets -------------------------------------------------------------------------
class PolyMarketToken(_W, frozen=True, kw_only=True):
    token_id: str
    outcome: str
    price: Decimal | None = None
    winner: bool = False


class PolyMarket(_W, frozen=True, kw_only=True):
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


class PolyMarketsPage(_W, frozen=True, kw_only=True):
    data: list[PolyMarket]
    next_cursor: str
    limit: int | None = None
    count: int | None = None


class PolyClobTokenRef(_W, frozen=True, kw_only=True):
    t: str
    o: str = ""


class PolyClobMarketInfo(_W, frozen=True, kw_only=True):
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


class PolyGammaMarket(_W, frozen=True, kw_only=True):
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


class PolyGammaEvent(_W, frozen=True, kw_only=True):
    id: str
    slug: str = ""
    title: str = ""
    negRisk: bool = False
    markets: list[PolyGammaMarket] = []


class PolyDataApiTrade(_W, frozen=True, kw_only=True):
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


class PolyDataApiPage(_W, frozen=True, kw_only=True):
    data: list[PolyDataApiTrade]
    pagination: dict[str, Any] | None = None
