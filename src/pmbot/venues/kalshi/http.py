"""Async Kalshi REST client: one keep-alive aiohttp session, signed calls, budgets, safe retries.

* Every request is signed fresh (timestamp from the injected clock).
* Client-side token buckets (read/write, capacities from GET /account/limits, costs from
  GET /account/endpoint_costs) keep us under the tier; a venue 429 drains the bucket.
* 429 and 5xx are retried with capped exponential backoff + jitter only where a retry cannot
  duplicate an effect: reads, cancels, and creates (same client_order_id: a duplicate is a
  409 that we resolve by lookup). Amend/decrease/batch calls surface `RateLimited`.
* A network error on create is resolved by looking the order up by its client_order_id,
  never by a blind resubmission; if that cannot settle it the outcome is `VenueUnavailable`
  (UNKNOWN for the order manager until reconciliation).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiohttp

from pmbot.backoff import Backoff
from pmbot.clock import Clock, LiveClock
from pmbot.core.money import Price, Qty, fmt_count, fmt_price
from pmbot.core.orders import Side
from pmbot.errors import OrderRejected, RateLimited, VenueError, VenueUnavailable
from pmbot.venues.kalshi import rest
from pmbot.venues.kalshi import wire as w
from pmbot.venues.kalshi.presign import PresignedHeaders
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.urls import KalshiUrls
from pmbot.venues.lane import LaneConnectError, OrderLane

__all__ = ["KalshiHttp"]

log = logging.getLogger("pmbot.venues.kalshi.http")
T = TypeVar("T")


class KalshiHttp:
    """The Kalshi REST API as typed async methods returning wire structs."""

    def __init__(
        self,
        urls: KalshiUrls,
        signer: KalshiSigner | None,
        *,
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
        rng: random.Random | None = None,
        read_rate: float = 200.0,
        read_capacity: float = 200.0,
        write_rate: float = 100.0,
        write_capacity: float = 100.0,
        costs: rest.CostTable | None = None,
        max_retries: int = 5,
        backoff_base_s: float = 0.1,
        backoff_cap_s: float = 2.0,
        timeout_s: float = 10.0,
        new_client_order_id: Callable[[], str] | None = None,
        create_max_age_s: float | None = None,
        order_lane: bool = True,
    ) -> None:
        self.urls = urls
        self.signer = signer
        self.clock: Clock = clock or LiveClock()
        # signatures carry the exchange's wall time, whatever clock the bot trades on
        self.wall: Clock = wall_clock or LiveClock()
        self.rng = rng or random.Random()
        now = self.clock.monotonic()
        self.read_bucket = rest.TokenBucket(read_rate, read_capacity, now)
        self.write_bucket = rest.TokenBucket(write_rate, write_capacity, now)
        self.costs = costs or rest.CostTable()
        # a create is not (re)sent later than this after it was first tried (None: no limit)
        self.create_max_age_s = create_max_age_s
        self.presign: PresignedHeaders | None = None  # ready-made write signatures (optional)
        self.write_credit = 0.0  # write tokens already taken from the bucket (prepay_writes)
        self.max_retries = max_retries
        self.backoff = Backoff(backoff_base_s, backoff_cap_s, self.rng)  # jittered
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._new_coid = new_client_order_id or (lambda: str(uuid.uuid4()))
        self._used_coids: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        # signed writes go out on the order lane (one socket write each); reads on aiohttp
        self.lane: OrderLane | None = None
        self._use_lane = order_lane
        self._keeper: asyncio.Future[None] | None = None
        self._timeout_s = timeout_s
        self.calls = 0
        self.retries_429 = 0

    # ---- lifecycle --------------------------------------------------------------------
    async def __aenter__(self) -> KalshiHttp:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        if self._session is None:
            conn = aiohttp.TCPConnector(limit=32, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=conn, timeout=self.timeout)
        if self._use_lane and self.lane is None:
            self.lane = OrderLane(self.urls.rest, timeout_s=self._timeout_s)

    async def warm_writes(self, conns: int = 2) -> None:
        """Open the order lane's connections now, not on the first order, and keep as many
        open as the largest burst of writes needed (a background task, until aclose)."""
        if self.lane is None:
            await self.start()
        if self.lane is not None:
            await self.lane.warm(conns)
            if self._keeper is None:
                self._keeper = asyncio.ensure_future(self.lane.keep_warm(conns))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.wait([self._keeper])  # (our own cancellation still propagates)
            self._keeper = None
        if self.lane is not None:
            await self.lane.aclose()
            self.lane = None

    async def configure_limits(self) -> tuple[w.AccountLimits, w.EndpointCosts]:
        """Size the buckets from the account's tier and the venue's endpoint costs."""
        limits = await self.call(rest.account_limits())
        costs = await self.call(rest.endpoint_costs())
        now = self.clock.monotonic()
        self.read_bucket = rest.TokenBucket(
            limits.read.refill_rate, limits.read.bucket_capacity, now
        )
        self.write_bucket = rest.TokenBucket(
            limits.write.refill_rate, limits.write.bucket_capacity, now
        )
        self.costs = rest.CostTable.from_wire(costs, self.urls.rest_prefix)
        log.info(
            "kalshi rest limits tier=%s read=%s/s write=%s/s default_cost=%d",
            limits.usage_tier,
            limits.read.refill_rate,
            limits.write.refill_rate,
            costs.default_cost,
        )
        return limits, costs

    def prepay_writes(self, tokens: float) -> None:
        """Take up to `tokens` write tokens now (no more than the bucket holds) as a credit
        the next write requests spend instead of reserving their own.

        The order manager commits a plan and sends it a moment later, from another task;
        paying at commit keeps the budget it sees for the next plan true in between.
        """
        now = self.clock.monotonic()
        take = max(0.0, min(tokens, self.write_bucket.available(now)))
        if take:
            self.write_bucket.reserve(take, now)
            self.write_credit += take

    # ---- the one request path ---------------------------------------------------------
    async def _send_once(self, req: rest.Request) -> tuple[int, bytes]:
        if self._session is None:
            await self.start()
        assert self._session is not None
        bucket = self.write_bucket if req.write else self.read_bucket
        cost = float(self.costs.cost(req))
        if req.write and self.write_credit > 0:  # paid for when the plan was committed
            paid = min(self.write_credit, cost)
            self.write_credit -= paid
            cost -= paid
        wait = bucket.reserve(cost, self.clock.monotonic())
        if wait > 0:  # pad: the venue's bucket refills on its clock, not ours
            await self.clock.sleep(wait * 1.05 + 0.01)
        headers: dict[str, str] = {}
        if req.signed and self.signer is not None:
            ts_ms = self.wall.now_ns() // 1_000_000
            path = self.urls.signed_path(req.path)
            ready = None
            if req.write and self.presign is not None:
                ready = self.presign.take(req.method, path, ts_ms)
            headers.update(ready or self.signer.headers(ts_ms, req.method, path))
        if req.body is not None:
            headers["Content-Type"] = "application/json"
        self.calls += 1
        if req.write and self.lane is not None:
            headers["Accept"] = "application/json"
            return await self.lane.request(
                req.method, self.urls.rest_prefix + req.path, headers, req.body
            )
        async with self._session.request(
            req.method,
            self.urls.rest_url(req.path),
            data=req.body,
            headers=headers,
            allow_redirects=False,
        ) as resp:
            return resp.status, await resp.read()

    async def call(
        self,
        req: rest.Request,
        *,
        retry_429: bool | None = None,
        retry_unknown: bool | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Send, retry where safe, and decode; raises the typed venue error otherwise.

        `retry_429`: resend after a 429 (refused before processing). `retry_unknown`: resend
        after a network error or 5xx, where the first attempt may have taken effect.
        `deadline` (our monotonic clock): no retry leaves after it; the last error is raised.
        """
        may_retry = req.idempotent if retry_429 is None else retry_429
        again = req.idempotent if retry_unknown is None else retry_unknown
        attempt = 0
        while True:
            status_err: VenueError | None = None
            try:
                status, body = await self._send_once(req)
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                # a refused connection sent nothing: even a write may go again
                unsent = isinstance(e, (aiohttp.ClientConnectorError, LaneConnectError))
                if not (again or unsent) or attempt >= self.max_retries:
                    raise VenueUnavailable(
                        f"{req.method} {req.template}: network error: {type(e).__name__}: {e}"
                    ) from e
                log.warning(
                    "kalshi rest network error method=%s path=%s attempt=%d error=%s",
                    req.method,
                    req.template,
                    attempt,
                    e,
                )
            else:
                if 200 <= status < 300:
                    return rest.decode_response(req, body)
                err = status_err = rest.error_from_body(status, body, request=req)
                if (
                    status == 401
                    and err.code == "header_timestamp_expired"
                    and self.presign is not None
                    and self.presign.enabled
                ):
                    # our clock and the venue's disagree by more than the stock's age:
                    # sign every request on the spot from now on, and send this one again
                    self.presign.disable(f"venue said {err.code}")
                    continue
                if status == 429:
                    (self.write_bucket if req.write else self.read_bucket).drain(
                        self.clock.monotonic()
                    )
                    self.retries_429 += 1
                    if not may_retry or attempt >= self.max_retries:
                        raise err
                    log.warning(
                        "kalshi rest 429 method=%s path=%s attempt=%d",
                        req.method,
                        req.template,
                        attempt,
                    )
                elif status >= 500 and again and attempt < self.max_retries:
                    log.warning(
                        "kalshi rest %d method=%s path=%s attempt=%d",
                        status,
                        req.method,
                        req.template,
                        attempt,
                    )
                else:
                    if status in (401, 403):
                        log.error(
                            "kalshi rest auth failed status=%d code=%s details=%s path=%s",
                            status,
                            err.code,
                            err.details,
                            req.template,
                        )
                    raise err
            delay = self.backoff.delay(attempt)
            if deadline is not None and self.clock.monotonic() + delay > deadline:
                if status_err is not None:
                    raise status_err
                raise VenueUnavailable(f"{req.method} {req.template}: retries past the deadline")
            await self.clock.sleep(delay)
            attempt += 1

    async def _all(
        self, build: Callable[..., rest.Request], attr: str, limit: int | None, **kw: Any
    ) -> list[Any]:
        out: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.call(build(cursor=cursor, limit=limit, **kw))
            out.extend(getattr(page, attr) or ())
            cursor = rest.next_cursor(page.cursor)
            if cursor is None or cursor in seen:
                return out
            seen.add(cursor)

    # ---- exchange, series, events, markets --------------------------------------------
    async def exchange_status(self) -> w.ExchangeStatus:
        return await self.call(rest.get_exchange_status())  # type: ignore[no-any-return]

    async def exchange_schedule(self) -> w.ExchangeSchedule:
        return await self.call(rest.get_exchange_schedule())  # type: ignore[no-any-return]

    async def series(self, series_ticker: str) -> w.Series:
        return (await self.call(rest.get_series(series_ticker))).series  # type: ignore[no-any-return]

    async def list_series(self, category: str | None = None) -> list[w.Series]:
        return (await self.call(rest.list_series(category))).series or []

    async def events(
        self,
        *,
        series_ticker: str | None = None,
        status: str | None = None,
        with_nested_markets: bool | None = None,
        limit: int | None = 200,
    ) -> list[w.Event]:
        return await self._all(
            rest.list_events,
            "events",
            limit,
            series_ticker=series_ticker,
            status=status,
            with_nested_markets=with_nested_markets,
        )

    async def event(
        self, event_ticker: str, *, with_nested_markets: bool | None = None
    ) -> w.EventResponse:
        return await self.call(
            rest.get_event(event_ticker, with_nested_markets=with_nested_markets)
        )  # type: ignore[no-any-return]

    async def markets(
        self,
        *,
        event_ticker: str | None = None,
        series_ticker: str | None = None,
        status: str | None = None,
        tickers: Sequence[str] | None = None,
        limit: int | None = 1000,
    ) -> list[w.Market]:
        """Every market matching the filters, through all cursor pages."""
        return await self._all(
            rest.list_markets,
            "markets",
            limit,
            event_ticker=event_ticker,
            series_ticker=series_ticker,
            status=status,
            tickers=tickers,
        )

    async def market(self, ticker: str) -> w.Market:
        return (await self.call(rest.get_market(ticker))).market  # type: ignore[no-any-return]

    async def orderbook(self, ticker: str, depth: int | None = None) -> w.Orderbook:
        return (await self.call(rest.get_orderbook(ticker, depth))).orderbook_fp  # type: ignore[no-any-return]

    async def orderbooks(self, tickers: Sequence[str]) -> list[w.TickerOrderbook]:
        return (await self.call(rest.get_orderbooks(tickers))).orderbooks  # type: ignore[no-any-return]

    async def trades(
        self,
        *,
        ticker: str | None = None,
        limit: int | None = 1000,
        min_ts: int | None = None,
        max_ts: int | None = None,
    ) -> list[w.Trade]:
        return await self._all(
            rest.list_trades, "trades", limit, ticker=ticker, min_ts=min_ts, max_ts=max_ts
        )

    # ---- portfolio ----------------------------------------------------------------------
    async def balance(self) -> w.Balance:
        return await self.call(rest.get_balance())  # type: ignore[no-any-return]

    async def positions(
        self,
        *,
        ticker: str | None = None,
        event_ticker: str | None = None,
        limit: int | None = 1000,
    ) -> list[w.MarketPosition]:
        return await self._all(
            rest.list_positions, "market_positions", limit, ticker=ticker, event_ticker=event_ticker
        )

    async def fills(
        self,
        *,
        ticker: str | None = None,
        order_id: str | None = None,
        min_ts: int | None = None,
        limit: int | None = 1000,
    ) -> list[w.Fill]:
        return await self._all(
            rest.list_fills, "fills", limit, ticker=ticker, order_id=order_id, min_ts=min_ts
        )

    async def settlements(
        self, *, ticker: str | None = None, limit: int | None = 1000
    ) -> list[w.Settlement]:
        return await self._all(rest.list_settlements, "settlements", limit, ticker=ticker)

    async def orders(
        self,
        *,
        status: str | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts: int | None = None,
        limit: int | None = 1000,
    ) -> list[w.Order]:
        return await self._all(
            rest.list_orders,
            "orders",
            limit,
            status=status,
            ticker=ticker,
            event_ticker=event_ticker,
            min_ts=min_ts,
        )

    async def order(self, order_id: str) -> w.Order:
        return (await self.call(rest.get_order(order_id))).order  # type: ignore[no-any-return]

    async def order_by_client_id(
        self, client_order_id: str, *, ticker: str | None = None
    ) -> w.Order | None:
        """Find one of our orders by client_order_id (the venue has no direct lookup)."""
        for o in await self.orders(ticker=ticker):
            if o.client_order_id == client_order_id:
                return o
        return None

    async def queue_position(self, order_id: str) -> str:
        return (await self.call(rest.queue_position(order_id))).queue_position_fp  # type: ignore[no-any-return]

    async def queue_positions(
        self, *, market_tickers: Sequence[str] | None = None, event_ticker: str | None = None
    ) -> list[w.QueuePosition]:
        r = await self.call(
            rest.queue_positions(market_tickers=market_tickers, event_ticker=event_ticker)
        )
        return r.queue_positions or []

    # ---- V2 order writes ------------------------------------------------------------------
    def fresh_client_order_id(self) -> str:
        coid = self._new_coid()
        while coid in self._used_coids:
            coid = self._new_coid()
        return coid

    async def create_order(
        self,
        ticker: str,
        side: Side,
        price: Price,
        count: Qty,
        *,
        client_order_id: str | None = None,
        **opts: Any,
    ) -> w.CreateOrderResponse:
        """Place a V2 limit order with a fresh client_order_id (given ids must be unused)."""
        coid = client_order_id or self.fresh_client_order_id()
        if coid in self._used_coids:
            raise ValueError(f"client_order_id {coid} was already sent; ids are burned forever")
        self._used_coids.add(coid)
        spec = rest.OrderSpec(ticker, side, price, count, coid, **opts)
        req = rest.create_order(spec)
        resent = False
        # a quote is only good while fresh: nothing of this create leaves after the deadline
        age = self.create_max_age_s
        deadline = None if age is None else self.clock.monotonic() + age
        while True:
            try:
                r: w.CreateOrderResponse = await self.call(req, retry_429=True, deadline=deadline)
                log.info(
                    "kalshi order created ticker=%s side=%s price=%s count=%s order_id=%s client_order_id=%s "
                    "filled=%s remaining=%s",
                    ticker,
                    side.value,
                    fmt_price(price),
                    fmt_count(count),
                    r.order_id,
                    coid,
                    r.fill_count,
                    r.remaining_count,
                )
                return r
            except VenueUnavailable as e:
                log.warning(
                    "kalshi create outcome unknown client_order_id=%s error=%s: looking it up",
                    coid,
                    e,
                )
                found = await self._lookup_created(coid, ticker)
                if found is not None:
                    log.info(
                        "kalshi order created ticker=%s side=%s price=%s count=%s order_id=%s "
                        "client_order_id=%s filled=%s remaining=%s found=lookup",
                        ticker, side.value, fmt_price(price), fmt_count(count),
                        found.order_id, coid, found.fill_count, found.remaining_count,
                    )  # fmt: skip
                    return found
                if resent or (deadline is not None and self.clock.monotonic() > deadline):
                    raise  # outcome unknown: reconciliation settles it, the strategy requotes
                resent = True  # not there: resend the SAME id (a duplicate would be a 409)
            except OrderRejected as e:
                if e.code == "order_already_exists" and resent:
                    found = await self._lookup_created(coid, ticker)
                    if found is not None:
                        return found
                    raise VenueUnavailable(
                        f"create {coid}: exists but not visible yet", code=e.code
                    ) from e
                if resent:  # the first try may have landed: a refusal of the resend says nothing
                    raise VenueUnavailable(
                        f"create {coid}: resend refused: {e}", code=e.code
                    ) from e
                raise
            except RateLimited as e:
                if not resent:
                    self._used_coids.discard(coid)  # refused before processing: id not burned
                    raise
                # the resend was refused, but the first try's outcome is still unknown
                raise VenueUnavailable(f"create {coid}: resend rate limited", code=e.code) from e

    async def _lookup_created(self, coid: str, ticker: str) -> w.CreateOrderResponse | None:
        for attempt in range(3):
            try:
                o = await self.order_by_client_id(coid, ticker=ticker)
            except VenueError:
                o = None
            if o is not None:
                return w.CreateOrderResponse(
                    order_id=o.order_id,
                    fill_count=o.fill_count_fp,
                    remaining_count=o.remaining_count_fp,
                    client_order_id=coid,
                )
            await self.clock.sleep(self.backoff.delay(attempt))
        return None

    async def cancel_order(
        self, order_id: str, *, client_order_id: str | None = None
    ) -> w.CancelOrderResponse:
        """`client_order_id` only names the order in the log line (the venue's answer may)."""
        # a repeated cancel is harmless: 200 (it rests) or 404 (it no longer rests)
        r: w.CancelOrderResponse = await self.call(
            rest.cancel_order(order_id), retry_429=True, retry_unknown=True
        )
        log.info(
            "kalshi order canceled order_id=%s client_order_id=%s reduced_by=%s",
            order_id, r.client_order_id or client_order_id, r.reduced_by,
        )  # fmt: skip
        return r

    async def amend_order(
        self,
        order_id: str,
        *,
        ticker: str,
        side: Side,
        price: Price,
        count: Qty,
        client_order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> w.AmendOrderResponse:
        """`count` is the new total (filled + resting)."""
        r: w.AmendOrderResponse = await self.call(
            rest.amend_order(
                order_id,
                ticker=ticker,
                side=side,
                price=price,
                count=count,
                client_order_id=client_order_id,
                updated_client_order_id=updated_client_order_id,
            )
        )
        log.info(
            "kalshi order amended order_id=%s client_order_id=%s ticker=%s side=%s price=%s "
            "count=%s remaining=%s",
            order_id, updated_client_order_id or client_order_id, ticker, side.value,
            fmt_price(price), fmt_count(count), r.remaining_count,
        )  # fmt: skip
        return r

    async def decrease_order(
        self,
        order_id: str,
        *,
        reduce_by: Qty | None = None,
        reduce_to: Qty | None = None,
        client_order_id: str | None = None,
    ) -> w.DecreaseOrderResponse:
        """`client_order_id` only names the order in the log line."""
        r: w.DecreaseOrderResponse = await self.call(
            rest.decrease_order(order_id, reduce_by=reduce_by, reduce_to=reduce_to)
        )
        log.info(
            "kalshi order decreased order_id=%s client_order_id=%s reduce_by=%s reduce_to=%s",
            order_id,
            client_order_id,
            None if reduce_by is None else fmt_count(reduce_by),
            None if reduce_to is None else fmt_count(reduce_to),
        )
        return r

    async def batch_create(self, specs: Sequence[rest.OrderSpec]) -> w.BatchCreateResponse:
        for s in specs:
            if s.client_order_id in self._used_coids:
                raise ValueError(f"client_order_id {s.client_order_id} was already sent")
            self._used_coids.add(s.client_order_id)
        try:
            r: w.BatchCreateResponse = await self.call(rest.batch_create(specs))
        except RateLimited:
            for s in specs:  # the whole batch was refused before processing
                self._used_coids.discard(s.client_order_id)
            raise
        for s, item in zip(specs, r.orders, strict=False):  # one audit line per order, as create
            if item.error is None:
                log.info(
                    "kalshi order created ticker=%s side=%s price=%s count=%s order_id=%s "
                    "client_order_id=%s filled=%s remaining=%s batch=True",
                    s.ticker, s.side.value, fmt_price(s.price), fmt_count(s.count),
                    item.order_id, s.client_order_id, item.fill_count, item.remaining_count,
                )  # fmt: skip
        return r

    def order_spec(
        self, ticker: str, side: Side, price: Price, count: Qty, **opts: Any
    ) -> rest.OrderSpec:
        """An OrderSpec with a fresh client_order_id (for batch_create)."""
        return rest.OrderSpec(ticker, side, price, count, self.fresh_client_order_id(), **opts)

    async def batch_cancel(
        self, order_ids: Sequence[str], *, client_order_ids: Mapping[str, str] | None = None
    ) -> w.BatchCancelResponse:
        """`client_order_ids` (order id -> ours) only name the orders in the log lines."""
        r: w.BatchCancelResponse = await self.call(rest.batch_cancel(order_ids), retry_429=True)
        named = client_order_ids or {}
        for item in r.orders:
            if item.error is None:
                log.info(
                    "kalshi order canceled order_id=%s client_order_id=%s reduced_by=%s "
                    "batch=True",
                    item.order_id, item.client_order_id or named.get(item.order_id),
                    item.reduced_by,
                )  # fmt: skip
        return r

    # ---- order groups, account ----------------------------------------------------------
    async def create_order_group(self, contracts_limit: Qty) -> str:
        return (await self.call(rest.create_order_group(contracts_limit))).order_group_id  # type: ignore[no-any-return]

    async def order_groups(self) -> list[w.OrderGroup]:
        return (await self.call(rest.list_order_groups())).order_groups or []

    async def order_group(self, group_id: str) -> w.OrderGroupResponse:
        return await self.call(rest.get_order_group(group_id))  # type: ignore[no-any-return]

    async def reset_order_group(self, group_id: str) -> None:
        await self.call(rest.reset_order_group(group_id))

    async def trigger_order_group(self, group_id: str) -> None:
        await self.call(rest.trigger_order_group(group_id))

    async def set_order_group_limit(self, group_id: str, contracts_limit: Qty) -> None:
        await self.call(rest.set_order_group_limit(group_id, contracts_limit))

    async def delete_order_group(self, group_id: str) -> None:
        await self.call(rest.delete_order_group(group_id))

    async def account_limits(self) -> w.AccountLimits:
        return await self.call(rest.account_limits())  # type: ignore[no-any-return]

    async def endpoint_costs(self) -> w.EndpointCosts:
        return await self.call(rest.endpoint_costs())  # type: ignore[no-any-return]
