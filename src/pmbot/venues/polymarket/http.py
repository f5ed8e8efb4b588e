"""Our async Polymarket CLOB V2 REST client (aiohttp): the shell around rest.py and signing.py.

Credentials by L1 (create, else derive), L2 HMAC on every trading call over the exact body
bytes sent, orders signed locally, batches of <= 15, cancels, paginated open orders and
trades, book / tick-size / neg-risk reads (cached; `forget_tick` on tick_size_change), the
heartbeat kill switch, and the per-signer token buckets enforced on our side so the venue's
429s stay rare. Every failure is a typed error from rest.check.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

import aiohttp

from pmbot.clock import Clock, LiveClock
from pmbot.core.money import Price, Qty
from pmbot.errors import AuthError, OrderRejected, RateLimited, VenueError, VenueUnavailable
from pmbot.venues.polymarket import rest
from pmbot.venues.polymarket import wire as w
from pmbot.venues.polymarket.convert import MarketInfo
from pmbot.venues.polymarket.rest import Req
from pmbot.venues.polymarket.signing import (
    ApiCreds,
    BuiltOrder,
    OrderSigner,
    l2_headers,
    order_body,
)
from pmbot.venues.polymarket.urls import Endpoints

__all__ = ["PolyHttp", "TokenBucket"]

log = logging.getLogger("pmbot.venues.polymarket")


class TokenBucket:
    """Refills `rate` tokens/s up to `burst`; `wait` says how long until `cost` is there."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.level, self.at = rate, burst, burst, now

    def wait(self, cost: float, now: float) -> float:
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if cost > self.burst:
            raise RateLimited(
                f"cost {cost} exceeds the bucket's burst {self.burst}", code="over_burst"
            )
        if self.level >= cost:
            self.level -= cost
            return 0.0
        return (cost - self.level) / self.rate

    def debit(self, cost: float, now: float) -> None:
        """Take `cost` after the fact, as the venue does for cancel-all (may go negative)."""
        self.level = min(self.burst, self.level + (now - self.at) * self.rate) - cost
        self.at = now


class PolyHttp:
    def __init__(
        self,
        endpoints: Endpoints,
        signer: OrderSigner,
        *,
        creds: ApiCreds | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        order_rate: tuple[float, float] = (40, 60),
        cancel_rate: tuple[float, float] = (80, 120),
        max_wait: float = 2.0,
        timeout: float = 10.0,
        nonce: int = 0,
    ) -> None:
        self.ep = endpoints
        self.signer = signer
        self.creds = creds
        self.clock = clock or LiveClock()
        self.rng = rng or random.Random()
        self.nonce = nonce
        now = self.clock.monotonic()
        self.buckets = {
            "order": TokenBucket(*order_rate, now),
            "cancel": TokenBucket(*cancel_rate, now),
        }
        self.max_wait = max_wait
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._ticks: dict[str, str] = {}
        self._neg_risk: dict[str, bool] = {}
        self.heartbeat_id = ""

    async def __aenter__(self) -> PolyHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    # ---- transport -------------------------------------------------------------------------
    async def call(self, req: Req, base: str | None = None) -> bytes:
        if req.bucket is not None:
            b = self.buckets[req.bucket]
            while (wait := b.wait(req.cost, self.clock.monotonic())) > 0:
                if wait > self.max_wait:
                    raise RateLimited(
                        f"{req.bucket} bucket short for {wait:.2f}s", code="client_bucket"
                    )
                await self.clock.sleep(wait)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        ts = self.clock.now_ns() // 1_000_000_000
        if req.auth == 1:
            headers.update(self.signer.l1_headers(ts, self.nonce))
        elif req.auth == 2:
            if self.creds is None:
                raise AuthError(
                    "no API credentials: call create_or_derive_creds first", code="no_creds"
                )
            headers.update(
                l2_headers(self.signer.address, self.creds, ts, req.method, req.path, req.body)
            )
        url = (base or self.ep.clob) + req.path
        try:
            async with self.session.request(
                req.method, url, params=req.query, data=req.body, headers=headers
            ) as r:
                body = await r.read()
                return rest.check(r.status, r.headers, body)
        except VenueError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            raise VenueUnavailable(
                f"{req.method} {req.path}: {type(e).__name__}: {e}", code="network"
            ) from None

    async def _get(self, req: Req, typ: Any, base: str | None = None) -> Any:
        return w.decode(await self.call(req, base), typ)

    # ---- credentials -------------------------------------------------------------------------
    async def create_or_derive_creds(self) -> ApiCreds:
        """Create the API key for (address, nonce), or derive it when it already exists."""
        try:
            c = await self._get(Req.create_key(), w.PolyApiCreds)
        except VenueUnavailable:
            raise
        except VenueError:  # 400 "Could not create api key": it exists, derive it
            c = await self._get(Req.derive_key(), w.PolyApiCreds)
        self.creds = ApiCreds(c.apiKey, c.secret, c.passphrase)
        return self.creds

    # ---- market data ---------------------------------------------------------------------------
    async def book(self, token_id: str) -> w.PolyBook:
        return await self._get(Req.public("/book", token_id=token_id), w.PolyBook)  # type: ignore[no-any-return]

    async def tick_size(self, token_id: str) -> str:
        t = self._ticks.get(token_id)
        if t is None:
            r = await self._get(Req.public("/tick-size", token_id=token_id), w.PolyTickSize)
            t = self._ticks[token_id] = _tick_str(r.minimum_tick_size)
        return t

    def cached_tick(self, token_id: str) -> str | None:
        """The tick size last learnt for a token (a tick_size_change replaces it)."""
        return self._ticks.get(token_id)

    def forget_tick(self, token_id: str, new_tick: str | None = None) -> None:
        """Drop (or replace) a cached tick size: the venue changes ticks near 0.04 / 0.96."""
        if new_tick is None:
            self._ticks.pop(token_id, None)
        else:
            self._ticks[token_id] = new_tick

    async def neg_risk(self, token_id: str) -> bool:
        v = self._neg_risk.get(token_id)
        if v is None:
            v = self._neg_risk[token_id] = (
                await self._get(Req.public("/neg-risk", token_id=token_id), w.PolyNegRisk)
            ).neg_risk
        return v

    async def market_info(self, condition_id: str) -> MarketInfo:
        """The CLOB's compact market record -> MarketInfo (first token YES, as Gamma orders them)."""
        r = await self._get(Req.public(f"/clob-markets/{condition_id}"), w.PolyClobMarketInfo)
        toks = [t for t in r.t if t is not None]
        if len(toks) != 2:
            raise VenueError(f"market {condition_id} is not binary", code="not_binary")
        tick = _tick_str(r.mts)
        fee = int(r.tbf)
        for tk in toks:
            self._ticks[tk.t] = tick
            self._neg_risk[tk.t] = r.nr
        return MarketInfo(r.c, toks[0].t, toks[1].t, tick, r.nr, _tick_str(r.mos), fee)

    async def gamma_markets(self, **query: str) -> list[w.PolyGammaMarket]:
        out: list[w.PolyGammaMarket] = await self._get(
            Req.public("/markets", **query), list[w.PolyGammaMarket], base=self.ep.gamma
        )
        return out

    # ---- orders --------------------------------------------------------------------------------
    def limit_order(
        self,
        m: MarketInfo,
        *,
        token_id: str,
        side: str,
        price: Price,
        size: Qty,
        expiration: int = 0,
        market: bool = False,
    ) -> BuiltOrder:
        """Sign an order locally (tick from the market's cached value); `market`: FOK/FAK
        amounts (`OrderSigner.limit`)."""
        tick = self._ticks.get(token_id, m.tick)
        try:
            return self.signer.limit(
                token_id=token_id,
                side=0 if side == "BUY" else 1,
                price=price,
                size=size,
                tick=tick,
                salt=self.rng.getrandbits(53),
                timestamp_ms=self.clock.now_ns() // 1_000_000,
                neg_risk=m.neg_risk,
                expiration=expiration,
                market=market,
            )
        except ValueError as e:  # refused before it costs a request
            raise OrderRejected(
                str(e), code="invalid_tick" if "tick" in str(e) else "invalid_order"
            ) from None

    def _owner(self) -> str:
        if self.creds is None:
            raise AuthError("no API credentials", code="no_creds")
        return self.creds.api_key

    async def post_order(
        self, order: BuiltOrder, order_type: str = "GTC", *, post_only: bool = False
    ) -> w.PolyOrderResponse:
        body = order_body(order, self._owner(), order_type, post_only=post_only)
        r = await self._get(Req.post_order(body), w.PolyOrderResponse)
        return rest.order_result(r)

    async def post_orders(
        self, orders: Sequence[tuple[BuiltOrder, str, bool]]
    ) -> list[w.PolyOrderResponse | OrderRejected]:
        """Post in batches of <= 15; one result per order, rejected ones as OrderRejected values."""
        out: list[w.PolyOrderResponse | OrderRejected] = []
        owner = self._owner()
        for i in range(0, len(orders), rest.MAX_BATCH):
            chunk = orders[i : i + rest.MAX_BATCH]
            bodies = [order_body(o, owner, t, post_only=p) for o, t, p in chunk]
            for r in await self._get(Req.post_orders(bodies), list[w.PolyOrderResponse]):
                try:
                    out.append(rest.order_result(r))
                except OrderRejected as e:
                    out.append(e)
        return out

    async def cancel(self, order_id: str) -> w.PolyCancelResponse:
        return await self._get(Req.cancel(order_id), w.PolyCancelResponse)  # type: ignore[no-any-return]

    async def cancel_orders(self, ids: Sequence[str]) -> w.PolyCancelResponse:
        canceled: list[str] = []
        refused: dict[str, str] = {}
        # chunks the venue takes (1000 ids) and our own cancel bucket can pay at once (its
        # burst: a larger call was refused here before a byte was sent)
        n = max(1, min(rest.MAX_CANCEL, int(self.buckets["cancel"].burst)))
        for i in range(0, len(ids), n):
            r = await self._get(Req.cancel_orders(ids[i : i + n]), w.PolyCancelResponse)
            canceled += r.canceled or []
            refused.update(r.not_canceled or {})
        return w.PolyCancelResponse(canceled=canceled, not_canceled=refused)

    async def cancel_all(self) -> w.PolyCancelResponse:
        return self._debit_cancelled(await self._get(Req.cancel_all(), w.PolyCancelResponse))

    async def cancel_market(self, market: str = "", asset_id: str = "") -> w.PolyCancelResponse:
        r = await self._get(Req.cancel_market(market, asset_id), w.PolyCancelResponse)
        return self._debit_cancelled(r)

    def _debit_cancelled(self, r: w.PolyCancelResponse) -> w.PolyCancelResponse:
        """Cancel-all / cancel-market-orders cost 1 up front plus the number cancelled after
        the fact (§3.10): our bucket follows the venue's, so later cancels are paced, not 429."""
        self.buckets["cancel"].debit(len(r.canceled or ()), self.clock.monotonic())
        return r

    async def open_orders(self, **filters: str) -> list[w.PolyOpenOrder]:
        out: list[w.PolyOpenOrder] = []
        cursor = rest.FIRST_CURSOR
        while cursor != rest.END_CURSOR:
            page = await self._get(Req.open_orders(cursor, **filters), w.PolyOrdersPage)
            out += page.data
            cursor = page.next_cursor
        return out

    async def order(self, order_id: str) -> w.PolyOpenOrder:
        """One order by id (its EIP-712 hash, known before sending: an UNKNOWN post outcome
        is settled by asking for it; NotFound means it never arrived)."""
        o: w.PolyOpenOrder = await self._get(Req.order(order_id), w.PolyOpenOrder)
        return o

    async def trades(self, **filters: str) -> list[w.PolyTrade]:
        out: list[w.PolyTrade] = []
        cursor = rest.FIRST_CURSOR
        while cursor != rest.END_CURSOR:
            page = await self._get(Req.trades(cursor, **filters), w.PolyTradesPage)
            out += page.data
            cursor = page.next_cursor
        return out

    async def balance(
        self, asset_type: str = "COLLATERAL", token_id: str = "", *, update: bool = False
    ) -> int:
        """Micro-units held (`update`: after the venue refreshed its cached chain balance;
        its reply body is not documented, so the balance is read by a second call)."""
        st = int(self.signer.signature_type)
        if update:
            await self.call(Req.balance(asset_type, token_id, st, update=True))
        r = await self._get(Req.balance(asset_type, token_id, st), w.PolyBalanceAllowance)
        return int(r.balance)

    # ---- heartbeat -----------------------------------------------------------------------------
    async def heartbeat(self) -> str:
        """Send one heartbeat; once started, missing ~10 s cancels all our orders (doc §3.9)."""
        try:
            r = await self._get(Req.heartbeat(self.heartbeat_id), w.PolyHeartbeat)
        except OrderRejected as e:
            if e.code != "invalid_heartbeat":
                raise
            # out of step (a reply we never got moved the chain on): the 400 names the id
            # the venue expects, and a chain that has expired expects "" (a new one)
            self.heartbeat_id = e.details or ""
            r = await self._get(Req.heartbeat(self.heartbeat_id), w.PolyHeartbeat)
        self.heartbeat_id = r.heartbeat_id
        return self.heartbeat_id

    async def run_heartbeat(self, interval: float = 5.0) -> None:
        """Keep the kill switch fed on its own task; errors are logged, never fatal."""
        while True:
            try:
                await self.heartbeat()
            except VenueError as e:
                log.warning("heartbeat failed: %s", e)
            await self.clock.sleep(interval)


def _tick_str(d: Any) -> str:
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s
