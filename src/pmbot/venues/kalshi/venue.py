"""The Kalshi venue adapter: REST + WebSocket composed, speaking pmbot's domain types.

Constructors do no I/O. `start()` opens the HTTP session, checks the key (balance), sizes the
rate buckets, and reports exchange status; `run()` keeps the WebSocket alive (put it in the
app's TaskGroup); `aclose()` ends both. Every stream frame reaches `sink` (normally
`TradingState.apply`) as a typed event; REST results come back as domain types too.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any

from pmbot.backoff import Backoff
from pmbot.clock import Clock, LiveClock
from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.core.market import FeeSchedule, MarketSpec
from pmbot.core.money import Micros, Price, Qty, parse_money
from pmbot.core.orders import Side
from pmbot.errors import AuthError, ProtocolViolation, VenueError
from pmbot.settings import KalshiSettings, Secrets
from pmbot.venues.kalshi import convert, rest
from pmbot.venues.kalshi import wire as w
from pmbot.venues.kalshi.http import KalshiHttp
from pmbot.venues.kalshi.signing import KalshiSigner, signer_from_env
from pmbot.venues.kalshi.stream import (
    BOOK,
    FILL,
    LIFECYCLE,
    ORDER_GROUPS,
    POSITIONS,
    USER_ORDERS,
    KalshiStream,
)
from pmbot.venues.kalshi.urls import KalshiUrls, resolve_urls
from pmbot.venues.kalshi.ws import KalshiWs

__all__ = ["KalshiVenue"]

log = logging.getLogger("pmbot.venues.kalshi")


class KalshiVenue:
    """Kalshi for the bot: market discovery, books, orders, fills, positions, health."""

    name = "kalshi"

    def __init__(
        self,
        urls: KalshiUrls,
        signer: KalshiSigner | None,
        sink: Callable[[ev.Event], None],
        *,
        clock: Clock | None = None,
        transport_clock: Clock | None = None,
        wall_clock: Clock | None = None,
        rng: random.Random | None = None,
        use_yes_price: bool = True,
        books: MutableMapping[str, BinaryBook] | None = None,
        on_book_change: Callable[[str, int], None] | None = None,
        on_market_data: Callable[[w.TickerFrame | w.TradeFrame], None] | None = None,
        silence_timeout_s: float = 30.0,
        resync_timeout_s: float = 5.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        configure_limits: bool = True,
        http_opts: Mapping[str, Any] | None = None,
        yield_to: Callable[[], bool] | None = None,
    ) -> None:
        self.urls = urls
        self.clock: Clock = clock or LiveClock()
        # signing timestamps, rate buckets, backoff and silence run on real time even when
        # the market runs on a simulated clock (an accelerated simulator)
        transport: Clock = transport_clock or self.clock
        self.rng = rng or random.Random()
        self.sink = sink
        self.configure_limits = configure_limits
        self._loaded: dict[tuple[str, str | None, str | None], int] = {}  # last count logged
        self.http = KalshiHttp(
            urls,
            signer,
            clock=transport,
            wall_clock=wall_clock,
            rng=self.rng,
            **dict(http_opts or {}),
        )
        self.stream = KalshiStream(
            sink,
            use_yes_price=use_yes_price,
            resync_timeout_s=resync_timeout_s,
            silence_timeout_s=silence_timeout_s,
            books=books,
            on_book_change=on_book_change,
            on_market_data=on_market_data,
        )
        self.ws = KalshiWs(
            urls,
            signer,
            self.stream,
            clock=transport,
            wall_clock=wall_clock,
            backoff=Backoff(backoff_base_s, backoff_cap_s, self.rng),
            yield_to=yield_to,
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        sink: Callable[[ev.Event], None],
        *,
        env: str | None = None,
        rest_url: str | None = None,
        ws_url: str | None = None,
        **kw: Any,
    ) -> KalshiVenue:
        """Build from an injected environment (key id + key file/PEM) and URL selection."""
        return cls(resolve_urls(env, rest_url, ws_url), signer_from_env(environ), sink, **kw)

    @classmethod
    def from_settings(
        cls,
        ks: KalshiSettings,
        secrets: Secrets,
        sink: Callable[[ev.Event], None],
        *,
        sim_urls: tuple[str, str] | None = None,
        **kw: Any,
    ) -> KalshiVenue:
        """Build from `settings.kalshi` + `Secrets` (+ the embedded simulator's URLs for env=sim)."""
        rest_url = ks.rest_url or (sim_urls[0] if sim_urls else None)
        ws_url = ks.ws_url or (sim_urls[1] if sim_urls else None)
        urls = resolve_urls(ks.env, rest_url, ws_url, legacy_hosts=ks.legacy_hosts)
        key_id = secrets.kalshi_key_id(ks.key_file_dir)
        path = secrets.kalshi_private_key_path(ks.key_file_dir)
        if not key_id or not path:
            raise AuthError(
                "Kalshi key id / private key path not configured (PMBOT_KALSHI_KEY_ID, "
                "PMBOT_KALSHI_PRIVATE_KEY_PATH or kalshi.key_file_dir)"
            )
        return cls(urls, KalshiSigner.from_file(key_id, path), sink, **kw)

    # ---- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        await self.http.start()
        if self.http.signer is not None:
            bal = await self.http.balance()
            log.info(
                "kalshi auth ok env=%s key_id=%s… balance_dollars=%s",
                self.urls.name,
                self.http.signer.key_id[:8],
                bal.balance_dollars or bal.balance / 100,
            )
            if self.configure_limits:
                try:
                    await self.http.configure_limits()
                except VenueError as e:
                    log.warning("kalshi limits unavailable, using defaults error=%s", e)
            await self.http.warm_writes()  # the first order pays no TCP/TLS handshake
        await self.exchange_status()

    async def run(self) -> None:
        """Keep the WebSocket connected until aclose() (raises AuthError on a refused key)."""
        await self.ws.run()

    async def aclose(self) -> None:
        await self.ws.aclose()
        await self.http.aclose()

    async def __aenter__(self) -> KalshiVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _now(self) -> int:
        return self.clock.now_ns()

    # ---- health -----------------------------------------------------------------------
    async def exchange_status(self) -> ev.ExchangeStatus:
        e = convert.exchange_status(await self.http.exchange_status(), self._now())
        self.sink(e)
        return e

    # ---- markets ----------------------------------------------------------------------
    async def load_markets(
        self, series_ticker: str, *, status: str | None = "open", event_ticker: str | None = None
    ) -> list[MarketSpec]:
        """The series' markets as MarketSpecs (all pages), each with its fee schedule: the
        series' rule unless its event overrides it (`fee_type_override`,
        `fee_multiplier_override`)."""
        series = await self.http.series(series_ticker)
        markets = await self.http.markets(
            series_ticker=series_ticker, status=status, event_ticker=event_ticker
        )
        fees = await self.event_fees(series, {m.event_ticker for m in markets}, status)
        specs = []
        for m in markets:
            try:
                specs.append(convert.market_spec(m, fees[m.event_ticker], series_ticker))
            except ProtocolViolation as e:
                log.warning("kalshi market skipped ticker=%s error=%s", m.ticker, e)
        # logged when the answer changes: an idle night polls every few seconds for nothing
        key = (series_ticker, status, event_ticker)
        if self._loaded.get(key) != len(specs):
            self._loaded[key] = len(specs)
            log.info(
                "kalshi markets loaded series=%s status=%s count=%d",
                series_ticker,
                status,
                len(specs),
            )
        return specs

    async def event_fees(
        self, series: w.Series, event_tickers: set[str], status: str | None = "open"
    ) -> dict[str, FeeSchedule]:
        """The fee schedule of each event: the series' rule, or the event's override (one
        more read: the event itself, or the series' events of that status)."""
        base = convert.fee_schedule(series)
        out = dict.fromkeys(event_tickers, base)
        if not event_tickers:
            return out
        if len(event_tickers) == 1:
            events = [(await self.http.event(next(iter(event_tickers)))).event]
        else:
            events = await self.http.events(series_ticker=series.ticker, status=status)
        for e in events:
            if e.event_ticker in out and (
                e.fee_type_override is not None or e.fee_multiplier_override is not None
            ):
                out[e.event_ticker] = convert.fee_schedule(series, e)
        return out

    async def book_snapshot(self, ticker: str, *, emit: bool = False) -> ev.BookSnapshot:
        """A REST book (NO leg at NO-leg prices); `emit` also sends it to the sink."""
        snap = convert.rest_book_snapshot(ticker, await self.http.orderbook(ticker), self._now())
        if emit:
            self.sink(snap)
        return snap

    async def subscribe_books(self, tickers: Iterable[str]) -> None:
        await self.ws.want(BOOK, list(tickers))

    async def unsubscribe_books(self, tickers: Iterable[str] | None = None) -> None:
        await self.ws.unwant(BOOK, None if tickers is None else list(tickers))

    async def subscribe_private(self, tickers: Iterable[str] | None = None) -> None:
        """Fills, order updates, positions (optionally for some markets), market lifecycle
        and order-group changes."""
        t = None if tickers is None else list(tickers)
        for ch in (FILL, USER_ORDERS, POSITIONS):
            await self.ws.want(ch, t)
        await self.ws.want(LIFECYCLE)
        await self.ws.want(ORDER_GROUPS)

    # ---- orders ----------------------------------------------------------------------------
    async def place(
        self,
        ticker: str,
        side: Side,
        price: Price,
        qty: Qty,
        *,
        client_order_id: str | None = None,
        **opts: Any,
    ) -> ev.OrderUpdate:
        """Create a V2 limit order; the update's status is resting, executed or canceled."""
        r = await self.http.create_order(
            ticker, side, price, qty, client_order_id=client_order_id, **opts
        )
        return convert.order_update_from_create(
            r, ticker=ticker, side=side, price=price, initial=qty, ts_ns=self._now()
        )

    async def place_many(
        self, orders: Sequence[tuple[str, Side, Price, Qty]], **opts: Any
    ) -> list[ev.OrderUpdate | VenueError]:
        """Batch create; each item is an OrderUpdate or the typed error for that order."""
        specs = [self.http.order_spec(t, s, p, q, **opts) for t, s, p, q in orders]
        r = await self.http.batch_create(specs)
        out: list[ev.OrderUpdate | VenueError] = []
        now = self._now()
        for spec, item in zip(specs, r.orders, strict=False):
            if item.error is not None or not item.order_id:
                e = item.error
                out.append(
                    _item_error(
                        e or w.ErrorDetail(code="unknown", message="no order id"),
                        spec.client_order_id,
                    )
                )
                continue
            cr = w.CreateOrderResponse(
                order_id=item.order_id,
                fill_count=item.fill_count or "0.00",
                remaining_count=item.remaining_count or "0.00",
                client_order_id=item.client_order_id or spec.client_order_id,
            )
            out.append(
                convert.order_update_from_create(
                    cr,
                    ticker=spec.ticker,
                    side=spec.side,
                    price=spec.price,
                    initial=spec.count,
                    ts_ns=now,
                )
            )
        return out

    async def cancel(self, order_id: str) -> Qty:
        """Cancel; returns the contracts taken off the book. NotFound if not resting."""
        r = await self.http.cancel_order(order_id)
        return convert._count(r.reduced_by, "cancel.reduced_by")

    async def cancel_many(self, order_ids: Sequence[str]) -> dict[str, Qty | VenueError]:
        r = await self.http.batch_cancel(order_ids)
        out: dict[str, Qty | VenueError] = {}
        for item in r.orders:
            if item.error is not None:
                out[item.order_id] = _item_error(item.error, item.order_id)
            else:
                out[item.order_id] = convert._count(
                    item.reduced_by or "0", "batch_cancel.reduced_by"
                )
        return out

    async def amend(
        self,
        order_id: str,
        *,
        ticker: str,
        side: Side,
        price: Price,
        total: Qty,
        client_order_id: str | None = None,
    ) -> w.AmendOrderResponse:
        """Move price/size; `total` = already filled + desired resting (Kalshi's definition)."""
        return await self.http.amend_order(
            order_id,
            ticker=ticker,
            side=side,
            price=price,
            count=total,
            client_order_id=client_order_id,
        )

    async def decrease(self, order_id: str, *, by: Qty | None = None, to: Qty | None = None) -> Qty:
        """Shrink a resting order keeping its queue priority; returns the remaining size."""
        r = await self.http.decrease_order(order_id, reduce_by=by, reduce_to=to)
        return convert._count(r.remaining_count, "decrease.remaining_count")

    # ---- reads for reconciliation -----------------------------------------------------------
    async def order(self, order_id: str) -> ev.OrderUpdate:
        return convert.order_update(await self.http.order(order_id), self._now())

    async def orders(
        self, *, status: str | None = "resting", ticker: str | None = None
    ) -> list[ev.OrderUpdate]:
        now = self._now()
        return [
            convert.order_update(o, now)
            for o in await self.http.orders(status=status, ticker=ticker)
        ]

    async def fills(self, *, ticker: str | None = None, min_ts: int | None = None) -> list[ev.Fill]:
        now = self._now()
        return [
            convert.fill_event(f, now) for f in await self.http.fills(ticker=ticker, min_ts=min_ts)
        ]

    async def positions(self, *, ticker: str | None = None) -> list[ev.PositionSnapshot]:
        now = self._now()
        return [convert.position_snapshot(p, now) for p in await self.http.positions(ticker=ticker)]

    async def balance(self) -> Micros:
        b = await self.http.balance()
        return parse_money(b.balance_dollars) if b.balance_dollars else b.balance * 10_000


def _item_error(e: w.ErrorDetail, ident: str) -> VenueError:
    import msgspec

    body = msgspec.json.encode({"error": e})
    status = {"order_already_exists": 409, "not_found": 404}.get(e.code, 400)
    err = rest.error_from_body(
        status, body, request=rest.Request("POST", "", "batch item", None, write=True)
    )
    err.message = f"{ident}: {err.message}"
    return err
