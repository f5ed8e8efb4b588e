"""Pure Kalshi REST: request descriptions for every endpoint the bot uses, error parsing, costs.

Nothing here does I/O: `http.py` sends what these builders describe, signs it, and hands the
status and body back to `raise_for_error` / `wire.decode`. Paths are resource paths relative
to the REST base (`/portfolio/balance`); the signer prefixes the base path (`/trade-api/v2`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from pmbot.core.money import Price, Qty, fmt_count, fmt_price
from pmbot.core.orders import Side
from pmbot.errors import (
    AuthError,
    NotFound,
    OrderRejected,
    ProtocolViolation,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from pmbot.venues.kalshi import wire as w

__all__ = [
    "CostTable",
    "OrderSpec",
    "Request",
    "TokenBucket",
    "account_limits",
    "amend_order",
    "batch_cancel",
    "batch_create",
    "cancel_order",
    "create_order",
    "create_order_group",
    "decrease_order",
    "delete_order_group",
    "endpoint_costs",
    "error_from_body",
    "get_balance",
    "get_event",
    "get_exchange_schedule",
    "get_exchange_status",
    "get_market",
    "get_order",
    "get_order_group",
    "get_orderbook",
    "get_orderbooks",
    "get_series",
    "get_user_data_timestamp",
    "list_events",
    "list_fills",
    "list_markets",
    "list_order_groups",
    "list_orders",
    "list_positions",
    "list_series",
    "list_settlements",
    "list_trades",
    "next_cursor",
    "queue_position",
    "queue_positions",
    "reset_order_group",
    "set_order_group_limit",
    "trigger_order_group",
]

_enc = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Request:
    """One REST call: `path` has the query; `template` names the endpoint for costs and logs."""

    method: str
    path: str
    template: str
    response: type[Any] | None
    body: bytes | None = None
    signed: bool = True
    write: bool = False  # spends the write bucket; never retried blindly
    items: int = 1  # batches cost the endpoint's cost per item, all at once

    @property
    def idempotent(self) -> bool:
        # a cancel may go again: the worst a repeat gets is not_found for an order already gone
        return self.method in ("GET", "PUT", "DELETE")


def _q(path: str, params: Iterable[tuple[str, Any]]) -> str:
    items = [(k, _qv(v)) for k, v in params if v is not None and v != ""]
    return f"{path}?{urlencode(items)}" if items else path


def _qv(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _seg(s: str) -> str:
    return quote(s, safe="")


def _get(
    path: str,
    template: str,
    response: type[Any],
    params: Iterable[tuple[str, Any]] = (),
    signed: bool = True,
) -> Request:
    return Request("GET", _q(path, params), template, response, signed=signed)


def _write(
    method: str,
    path: str,
    template: str,
    response: type[Any] | None,
    body: Any = None,
    items: int = 1,
) -> Request:
    return Request(
        method,
        path,
        template,
        response,
        None if body is None else _enc.encode(body),
        True,
        True,
        max(1, items),
    )


def next_cursor(cursor: str | None) -> str | None:
    """The next page's cursor, or None at the end ("" or null ends a walk)."""
    return cursor or None


# ---- exchange / series / events / markets (public reads) ---------------------------------
def get_exchange_status() -> Request:
    return _get("/exchange/status", "/exchange/status", w.ExchangeStatus)


def get_exchange_schedule() -> Request:
    return _get("/exchange/schedule", "/exchange/schedule", w.ExchangeSchedule)


def get_user_data_timestamp() -> Request:
    return _get(
        "/exchange/user_data_timestamp", "/exchange/user_data_timestamp", w.UserDataTimestamp
    )


def get_series(series_ticker: str) -> Request:
    return _get(f"/series/{_seg(series_ticker)}", "/series/:series_ticker", w.SeriesResponse)


def list_series(category: str | None = None) -> Request:
    return _get("/series", "/series", w.SeriesListResponse, [("category", category)])


def list_events(
    *,
    series_ticker: str | None = None,
    status: str | None = None,
    with_nested_markets: bool | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Request:
    return _get(
        "/events",
        "/events",
        w.EventsPage,
        [
            ("series_ticker", series_ticker),
            ("status", status),
            ("with_nested_markets", with_nested_markets),
            ("cursor", cursor),
            ("limit", limit),
        ],
    )


def get_event(event_ticker: str, *, with_nested_markets: bool | None = None) -> Request:
    return _get(
        f"/events/{_seg(event_ticker)}",
        "/events/:event_ticker",
        w.EventResponse,
        [("with_nested_markets", with_nested_markets)],
    )


def list_markets(
    *,
    event_ticker: str | None = None,
    series_ticker: str | None = None,
    status: str | None = None,
    tickers: Sequence[str] | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Request:
    return _get(
        "/markets",
        "/markets",
        w.MarketsPage,
        [
            ("event_ticker", event_ticker),
            ("series_ticker", series_ticker),
            ("status", status),
            ("tickers", ",".join(tickers) if tickers else None),
            ("cursor", cursor),
            ("limit", limit),
        ],
    )


def get_market(ticker: str) -> Request:
    return _get(f"/markets/{_seg(ticker)}", "/markets/:ticker", w.MarketResponse)


def get_orderbook(ticker: str, depth: int | None = None) -> Request:
    # signed although docs call it public: the spec marks it secured
    return _get(
        f"/markets/{_seg(ticker)}/orderbook",
        "/markets/:ticker/orderbook",
        w.OrderbookResponse,
        [("depth", depth)],
    )


def get_orderbooks(tickers: Sequence[str]) -> Request:
    return _get(
        "/markets/orderbooks",
        "/markets/orderbooks",
        w.OrderbooksResponse,
        [("tickers", t) for t in tickers],
    )


def list_trades(
    *,
    ticker: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    min_ts: int | None = None,
    max_ts: int | None = None,
) -> Request:
    return _get(
        "/markets/trades",
        "/markets/trades",
        w.TradesPage,
        [
            ("ticker", ticker),
            ("cursor", cursor),
            ("limit", limit),
            ("min_ts", min_ts),
            ("max_ts", max_ts),
        ],
    )


# ---- portfolio reads ---------------------------------------------------------------------
def get_balance() -> Request:
    return _get("/portfolio/balance", "/portfolio/balance", w.Balance)


def list_positions(
    *,
    ticker: str | None = None,
    event_ticker: str | None = None,
    count_filter: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Request:
    return _get(
        "/portfolio/positions",
        "/portfolio/positions",
        w.PositionsPage,
        [
            ("ticker", ticker),
            ("event_ticker", event_ticker),
            ("count_filter", count_filter),
            ("cursor", cursor),
            ("limit", limit),
        ],
    )


def list_fills(
    *,
    ticker: str | None = None,
    order_id: str | None = None,
    min_ts: int | None = None,
    max_ts: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Request:
    return _get(
        "/portfolio/fills",
        "/portfolio/fills",
        w.FillsPage,
        [
            ("ticker", ticker),
            ("order_id", order_id),
            ("min_ts", min_ts),
            ("max_ts", max_ts),
            ("cursor", cursor),
            ("limit", limit),
        ],
    )


def list_settlements(
    *,
    ticker: str | None = None,
    event_ticker: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Request:
    return _get(
        "/portfolio/settlements",
        "/portfolio/settlements",
        w.SettlementsPage,
        [("ticker", ticker), ("event_ticker", event_ticker), ("cursor", cursor), ("limit", limit)],
    )


def list_orders(
    *,
    status: str | None = None,
    ticker: str | None = None,
    event_ticker: str | None = None,
    min_ts: int | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Request:
    return _get(
        "/portfolio/orders",
        "/portfolio/orders",
        w.OrdersPage,
        [
            ("status", status),
            ("ticker", ticker),
            ("event_ticker", event_ticker),
            ("min_ts", min_ts),
            ("cursor", cursor),
            ("limit", limit),
        ],
    )


def get_order(order_id: str) -> Request:
    return _get(
        f"/portfolio/orders/{_seg(order_id)}", "/portfolio/orders/:order_id", w.OrderResponse
    )


def queue_position(order_id: str) -> Request:
    return _get(
        f"/portfolio/orders/{_seg(order_id)}/queue_position",
        "/portfolio/orders/:order_id/queue_position",
        w.QueuePositionResponse,
    )


def queue_positions(
    *, market_tickers: Sequence[str] | None = None, event_ticker: str | None = None
) -> Request:
    return _get(
        "/portfolio/orders/queue_positions",
        "/portfolio/orders/queue_positions",
        w.QueuePositionsResponse,
        [
            ("market_tickers", ",".join(market_tickers) if market_tickers else None),
            ("event_ticker", event_ticker),
        ],
    )


# ---- V2 order writes (YES-leg bid/ask, dollar strings) ------------------------------------
@dataclass(frozen=True, slots=True)
class OrderSpec:
    """What a V2 create needs; `client_order_id` is chosen fresh by the caller (the shell)."""

    ticker: str
    side: Side
    price: Price
    count: Qty
    client_order_id: str
    time_in_force: str = "good_till_canceled"
    post_only: bool = False
    reduce_only: bool = False
    self_trade_prevention_type: str = "taker_at_cross"
    expiration_time: int | None = None
    order_group_id: str | None = None
    cancel_order_on_pause: bool | None = None
    subaccount: int | None = None

    def body(self) -> dict[str, Any]:
        b: dict[str, Any] = {
            "ticker": self.ticker,
            "side": self.side.value,
            "price": fmt_price(self.price),
            "count": fmt_count(self.count),
            "time_in_force": self.time_in_force,
            "self_trade_prevention_type": self.self_trade_prevention_type,
            "client_order_id": self.client_order_id,
        }
        if self.post_only:
            b["post_only"] = True
        if self.reduce_only:
            b["reduce_only"] = True
        for k in ("expiration_time", "order_group_id", "cancel_order_on_pause", "subaccount"):
            v = getattr(self, k)
            if v is not None:
                b[k] = v
        return b


_ORDERS = "/portfolio/events/orders"


# the write paths a quoting bot uses all the time (for ready-made signatures, presign.py)
WRITE_PATHS: tuple[tuple[str, str], ...] = (
    ("POST", _ORDERS),
    ("POST", f"{_ORDERS}/batched"),
    ("DELETE", f"{_ORDERS}/batched"),
)


def order_write_paths(order_id: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(method, resource path) of amending and of cancelling one resting order."""
    base = f"{_ORDERS}/{_seg(order_id)}"
    return ("POST", f"{base}/amend"), ("DELETE", base)


def create_order(spec: OrderSpec) -> Request:
    return _write("POST", _ORDERS, _ORDERS, w.CreateOrderResponse, spec.body())


def cancel_order(order_id: str) -> Request:
    return _write(
        "DELETE", f"{_ORDERS}/{_seg(order_id)}", f"{_ORDERS}/:order_id", w.CancelOrderResponse
    )


def amend_order(
    order_id: str,
    *,
    ticker: str,
    side: Side,
    price: Price,
    count: Qty,
    client_order_id: str | None = None,
    updated_client_order_id: str | None = None,
) -> Request:
    """`count` is the new TOTAL (already filled + desired resting), as Kalshi defines it."""
    body: dict[str, Any] = {
        "ticker": ticker,
        "side": side.value,
        "price": fmt_price(price),
        "count": fmt_count(count),
    }
    if client_order_id:
        body["client_order_id"] = client_order_id
    if updated_client_order_id:
        body["updated_client_order_id"] = updated_client_order_id
    return _write(
        "POST",
        f"{_ORDERS}/{_seg(order_id)}/amend",
        f"{_ORDERS}/:order_id/amend",
        w.AmendOrderResponse,
        body,
    )


def decrease_order(
    order_id: str, *, reduce_by: Qty | None = None, reduce_to: Qty | None = None
) -> Request:
    if (reduce_by is None) == (reduce_to is None):
        raise ValueError("decrease needs exactly one of reduce_by / reduce_to")
    body = (
        {"reduce_by": fmt_count(reduce_by)}
        if reduce_by is not None
        else {"reduce_to": fmt_count(reduce_to or 0)}
    )
    return _write(
        "POST",
        f"{_ORDERS}/{_seg(order_id)}/decrease",
        f"{_ORDERS}/:order_id/decrease",
        w.DecreaseOrderResponse,
        body,
    )


def batch_create(specs: Sequence[OrderSpec]) -> Request:
    return _write(
        "POST",
        f"{_ORDERS}/batched",
        f"{_ORDERS}/batched",
        w.BatchCreateResponse,
        {"orders": [s.body() for s in specs]},
        len(specs),
    )


def batch_cancel(order_ids: Sequence[str]) -> Request:
    """DELETE with a JSON body."""
    return _write(
        "DELETE",
        f"{_ORDERS}/batched",
        f"{_ORDERS}/batched",
        w.BatchCancelResponse,
        {"orders": [{"order_id": i} for i in order_ids]},
        len(order_ids),
    )


# ---- order groups ------------------------------------------------------------------------
_OG = "/portfolio/order_groups"


def create_order_group(contracts_limit: Qty) -> Request:
    return _write(
        "POST",
        f"{_OG}/create",
        f"{_OG}/create",
        w.CreateOrderGroupResponse,
        {"contracts_limit_fp": fmt_count(contracts_limit)},
    )


def list_order_groups() -> Request:
    return _get(_OG, _OG, w.OrderGroupsResponse)


def get_order_group(group_id: str) -> Request:
    return _get(f"{_OG}/{_seg(group_id)}", f"{_OG}/:order_group_id", w.OrderGroupResponse)


def reset_order_group(group_id: str) -> Request:
    return _write("PUT", f"{_OG}/{_seg(group_id)}/reset", f"{_OG}/:order_group_id/reset", None, {})


def trigger_order_group(group_id: str) -> Request:
    return _write(
        "PUT", f"{_OG}/{_seg(group_id)}/trigger", f"{_OG}/:order_group_id/trigger", None, {}
    )


def set_order_group_limit(group_id: str, contracts_limit: Qty) -> Request:
    return _write(
        "PUT",
        f"{_OG}/{_seg(group_id)}/limit",
        f"{_OG}/:order_group_id/limit",
        None,
        {"contracts_limit_fp": fmt_count(contracts_limit)},
    )


def delete_order_group(group_id: str) -> Request:
    return _write("DELETE", f"{_OG}/{_seg(group_id)}", f"{_OG}/:order_group_id", None)


# ---- account -----------------------------------------------------------------------------
def account_limits() -> Request:
    return _get("/account/limits", "/account/limits", w.AccountLimits)


def endpoint_costs() -> Request:
    return _get("/account/endpoint_costs", "/account/endpoint_costs", w.EndpointCosts)


# ---- errors ------------------------------------------------------------------------------
_ERR_DECODER = msgspec.json.Decoder(w.ErrorBody)


def error_from_body(status: int, body: bytes, *, request: Request | None = None) -> VenueError:
    """The typed exception for a non-2xx reply, from any of the venue's error shapes."""
    code = message = details = None
    try:
        e = _ERR_DECODER.decode(body) if body else None
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
        e = None
        message = body[:200].decode("utf-8", "replace") if body else None
    if e is not None:
        if isinstance(e.error, w.ErrorDetail):  # nested (most 4xx)
            code, message, details = e.error.code or None, e.error.message or None, e.error.details
        elif isinstance(e.error, str):  # 429 {"error": "too many requests"}
            message = e.error
        elif e.code is not None or e.message is not None:  # flat
            code, message, details = e.code, e.message, e.details
        elif e.msg is not None:  # bare {"msg": ...}
            message = e.msg
    where = f"{request.method} {request.template}" if request else "kalshi"
    text = f"{where}: {message or 'HTTP ' + str(status)}"
    kw = {"status": status, "code": code, "details": details}
    if status in (401, 403):
        return AuthError(text, **kw)
    if status == 429:
        return RateLimited(text, **kw)
    if status == 404:
        return NotFound(text, **kw)
    if status >= 500:
        return VenueUnavailable(text, **kw)
    if request is not None and request.write:
        err: VenueError = OrderRejected(text, **kw)
        norm = normalized_reject_code(code, details)
        if norm != code:
            err.raw_code = code  # type: ignore[attr-defined]  # the server's own code, kept
            err.code = norm
        return err
    return VenueError(text, **kw)


def normalized_reject_code(code: str | None, details: str | None) -> str | None:
    """Kalshi reject codes -> the order manager's vocabulary (ports.py); others unchanged.

    Post-only crosses arrive as `invalid_order` with details `post only cross`; closed markets
    as `market_closed` (simulator) or a MARKET_INACTIVE-style code/details (docs, unrecorded);
    the trading pause (Thursday maintenance) as `trading_is_paused` (simulator; unrecorded).
    """
    d = (details or "").lower()
    if code == "invalid_order" and "post only cross" in d:
        return "post_only_cross"
    if code and code.lower() in ("market_inactive", "market_closed"):
        return "market_closed"
    if code == "trading_is_paused":
        return "trading_paused"
    if "market_inactive" in d:
        return "market_closed"
    return code


def decode_response(req: Request, body: bytes) -> Any:
    """Decode a 2xx body as the request's response type (None when it has none)."""
    if req.response is None:
        return None
    return w.decode(req.response, body, what=f"{req.method} {req.template}")


# ---- rate limits -------------------------------------------------------------------------
class TokenBucket:
    """A refilling bucket; `reserve` returns how long to wait before the call may go (pure)."""

    __slots__ = ("capacity", "level", "rate", "t")

    def __init__(self, rate: float, capacity: float, now: float = 0.0) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("token bucket needs a positive rate and capacity")
        self.rate, self.capacity, self.level, self.t = rate, capacity, capacity, now

    def reserve(self, cost: float, now: float) -> float:
        """Take `cost` tokens (going into debt if needed) and return seconds to wait."""
        if now > self.t:
            self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
            self.t = now
        self.level -= min(cost, self.capacity)
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def available(self, now: float) -> float:
        """Tokens that could be spent at `now` without waiting (a peek: takes nothing)."""
        return min(self.capacity, self.level + max(0.0, now - self.t) * self.rate)

    def wait_for(self, tokens: float, now: float) -> float:
        """Seconds from `now` until `tokens` (at most a full bucket) are available."""
        short = min(tokens, self.capacity) - self.available(now)
        return max(0.0, short / self.rate)

    def drain(self, now: float) -> None:
        """Empty the bucket (after the venue said 429: our view was too generous)."""
        self.reserve(0, now)
        self.level = min(self.level, 0.0)


class CostTable:
    """Token cost per endpoint, from GET /account/endpoint_costs (templates like ':order_id')."""

    def __init__(
        self, default_cost: int = 10, costs: dict[tuple[str, str], int] | None = None
    ) -> None:
        self.default_cost = default_cost
        self.costs = costs or {}

    @classmethod
    def from_wire(cls, ec: w.EndpointCosts, prefix: str = "/trade-api/v2") -> CostTable:
        costs = {}
        for c in ec.endpoint_costs:
            p = c.path[len(prefix) :] if c.path.startswith(prefix) else c.path
            costs[(c.method.upper(), p)] = c.cost
        return cls(ec.default_cost, costs)

    def cost(self, req: Request) -> int:
        """Tokens the request spends: the endpoint's cost, per item for batches."""
        return self.costs.get((req.method, req.template), self.default_cost) * req.items


def check_status(status: int, body: bytes, req: Request) -> None:
    if not 200 <= status < 300:
        raise error_from_body(status, body, request=req)


__all__ += ["check_status", "decode_response", "normalized_reject_code"]
_ = ProtocolViolation  # re-exported for callers matching on decode errors
