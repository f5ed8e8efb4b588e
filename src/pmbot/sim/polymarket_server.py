"""A Polymarket CLOB V2 simulator on loopback: REST, WebSocket and enough of Gamma.

The official py-clob-client-v2, unmodified, and our own connector both run against it.
It verifies L1 ClobAuth signatures, L2 HMAC (with a timestamp window) and V2 order
signatures, matches the YES/NO pair on one unified book (sim/polymarket_engine.py),
charges taker fees, walks each trade MATCHED -> MINED -> CONFIRMED (or RETRYING -> FAILED,
reversing its transfers), honours the heartbeat kill switch and per-signer token buckets,
and injects faults (`faults`, `restart`, `hub.drop_all`, `hub.frozen`, `set_tick`).
Order routes live in polymarket_trading.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pmbot.clock import Clock, LiveClock
from pmbot.sim.polymarket_accounts import Accounts
from pmbot.sim.polymarket_auth import AuthFail, KeyRecord, derive_key, verify_hmac, verify_l1
from pmbot.sim.polymarket_engine import Book, MatchError, PolyEngine
from pmbot.sim.polymarket_hub import Hub
from pmbot.sim.polymarket_marketdata import MarketDataRoutes, _err, _json
from pmbot.sim.polymarket_views import (
    SimMarket,
    Trade,
    book_json,
)
from pmbot.venues.polymarket.signing import tick_units
from pmbot.venues.polymarket.urls import POLYGON

__all__ = ["Faults", "PolySim", "SimMarket"]

log = logging.getLogger("pmbot.sim.polymarket")


@dataclass(slots=True)
class Faults:
    """Switches tests flip; counters count down as they fire."""

    fail_trades: int = 0  # the next N trades go MATCHED -> RETRYING -> FAILED
    fail_owner: str | None = None  # only trades with this API key on either side fail
    http_5xx: int = 0  # the next N trading calls answer 500
    too_early_until: float = 0.0  # 425 until this monotonic time (engine restart)
    post_only_until: float = 0.0  # then post-only mode until this time
    cancel_only: bool = False
    hold_book: asyncio.Event | None = None  # GET /book replies wait for this once made
    books_held: int = 0  # how many replies have been held so far


class PolySim(MarketDataRoutes):
    """The simulator. `await start()` binds 127.0.0.1 on an ephemeral port; `aclose()` stops."""

    def __init__(
        self,
        markets: Iterable[SimMarket],
        *,
        clock: Clock | None = None,
        chain_id: int = POLYGON,
        mined_delay: float = 0.02,
        confirmed_delay: float = 0.02,
        page_size: int = 100,
        ts_window: int = 300,
        heartbeat_timeout: float = 15.0,
        wallet_owners: dict[str, str] | None = None,
        order_rate: tuple[float, float] = (40, 60),
        cancel_rate: tuple[float, float] = (80, 120),
        accounts: Accounts | None = None,
        auto_tick: bool = False,
    ) -> None:
        self.clock = clock or LiveClock()
        self.chain_id = chain_id
        self.mined_delay, self.confirmed_delay = mined_delay, confirmed_delay
        self.page_size, self.ts_window, self.heartbeat_timeout = (
            page_size,
            ts_window,
            heartbeat_timeout,
        )
        self.wallet_owners = {k.lower(): v.lower() for k, v in (wallet_owners or {}).items()}
        # (api key, signature type) -> the funder its accepted orders named: whose balance
        # GET /balance-allowance reports for that signature type
        self.funders: dict[tuple[str, int], str] = {}
        self.order_rate, self.cancel_rate = order_rate, cancel_rate
        self.auto_tick = auto_tick
        self.base_tick: dict[str, str] = {}
        self.accounts = accounts or Accounts()
        self.engine = PolyEngine()
        self.markets: dict[str, SimMarket] = {}
        for m in markets:
            self.add_market(m)
        self.keys: dict[str, KeyRecord] = {}  # api key -> record
        self.trades: dict[str, Trade] = {}
        self.last_trade: dict[str, str] = {}
        self.bbo_sent: dict[str, tuple[str, str, str, str]] = {}  # market -> bests sent
        self.faults = Faults()
        self.heartbeats: dict[str, tuple[str, float]] = {}  # api key -> (expected id, deadline)
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.hub = Hub(self._snapshot, self._ws_auth)
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.url = ""
        from pmbot.sim import polymarket_trading as trading

        self._trading = trading.Trading(self)
        self.app = self._build_app()

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        self.url = f"http://{host}:{sock.getsockname()[1]}"
        self.spawn(self._housekeeping())
        return self.url

    async def aclose(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.hub.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()

    def spawn(self, coro: Any) -> None:
        t = asyncio.ensure_future(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}"

    def now_ms(self) -> int:
        return self.clock.now_ns() // 1_000_000

    # ---- markets and faults --------------------------------------------------------------------
    def add_market(self, m: SimMarket) -> None:
        self.markets[m.condition_id] = m
        self.engine.add_market(
            Book(
                m.condition_id,
                m.yes_token,
                m.no_token,
                tick_units(m.tick),
                int(float(m.min_size) * 1_000_000),
                m.neg_risk,
                m.fee_rate_bps,
            )
        )

    def restart(self, too_early_s: float = 1.0, post_only_s: float = 120.0) -> None:
        """An engine restart: 425 for a while, then post-only mode (doc §3.3)."""
        now = self.clock.monotonic()
        self.faults.too_early_until = now + too_early_s
        self.faults.post_only_until = now + too_early_s + post_only_s

    async def maybe_retick(self, cid: str) -> None:
        """With `auto_tick`, a 0.01 market trades on 0.001 while its book sits beyond
        0.96 or 0.04, and goes back once it is inside again (doc §4.1 tick_size_change)."""
        m = self.markets[cid]
        base = self.base_tick.setdefault(cid, m.tick)
        if not self.auto_tick or base != "0.01":
            return
        book = self.engine.books[cid]
        bb, ba = book.best(True), book.best(False)
        extreme = (bb is not None and bb > 9600) or (ba is not None and ba < 400)
        want = "0.001" if extreme else base
        if want != m.tick:
            await self.set_tick(cid, want)

    async def set_tick(self, cid: str, tick: str) -> None:
        m = self.markets[cid]
        old, m.tick = m.tick, tick
        self.engine.books[cid].tick = tick_units(tick)
        ts = str(self.now_ms())
        await self.hub.market(
            [
                {
                    "event_type": "tick_size_change",
                    "market": cid,
                    "asset_id": a,
                    "old_tick_size": old,
                    "new_tick_size": tick,
                    "timestamp": ts,
                }
                for a in (m.yes_token, m.no_token)
            ]
        )

    def _snapshot(self, asset: str) -> dict[str, Any] | None:
        try:
            book, is_yes = self.engine.token(asset)
        except MatchError:
            return None
        return book_json(
            book,
            is_yes,
            self.now_ms(),
            self.markets[book.cid],
            self.last_trade.get(asset, ""),
            ws=True,
        )

    def _ws_auth(self, auth: dict[str, Any]) -> str | None:
        rec = self.keys.get(str(auth.get("apiKey", "")))
        if rec and auth.get("secret") == rec.secret and auth.get("passphrase") == rec.passphrase:
            return rec.api_key
        return None

    async def _housekeeping(self) -> None:
        """Expire GTD orders and fire the heartbeat kill switch."""
        while True:
            await self.clock.sleep(0.25)
            now_s = self.clock.now_ns() // 1_000_000_000
            for o in self.engine.expired(now_s):
                await self._trading.cancel_ids(o.owner, [o.id], status="CANCELED")
            mono = self.clock.monotonic()
            for key, (_, deadline) in list(self.heartbeats.items()):
                if mono > deadline:
                    del self.heartbeats[key]
                    log.info("heartbeat expired api_key=%s: cancelling all", key)
                    await self._trading.cancel_ids(key, [o.id for o in self.engine.live(key)])

    # ---- auth ----------------------------------------------------------------------------------
    def now_s(self) -> int:
        return self.clock.now_ns() // 1_000_000_000

    async def l2(self, request: web.Request) -> tuple[KeyRecord, bytes]:
        body = await request.read()
        rec = verify_hmac(
            request.headers,
            request.method,
            request.path,
            body,
            self.keys,
            self.now_s(),
            self.ts_window,
        )
        return rec, body

    def take(self, signer: str, bucket: str, cost: int) -> float:
        """Debit a per-signer token bucket; seconds to wait when it is short (0 = taken)."""
        rate, burst = self.order_rate if bucket == "order" else self.cancel_rate
        now = self.clock.monotonic()
        level, at = self.buckets.get((signer, bucket), (burst, now))
        level = min(burst, level + (now - at) * rate)
        if level < cost:
            self.buckets[(signer, bucket)] = (level, now)
            return (cost - level) / rate
        self.buckets[(signer, bucket)] = (level - cost, now)
        return 0.0

    def debit(self, signer: str, bucket: str, cost: int) -> None:
        """Debit after the fact (cancel-all / cancel-market-orders: the number cancelled);
        the level may go negative (protocol §3.10)."""
        rate, burst = self.order_rate if bucket == "order" else self.cancel_rate
        now = self.clock.monotonic()
        level, at = self.buckets.get((signer, bucket), (burst, now))
        self.buckets[(signer, bucket)] = (min(burst, level + (now - at) * rate) - cost, now)

    # ---- app -----------------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors])
        r = app.router
        r.add_get("/ok", self._ok)
        r.add_get("/time", self._time)
        r.add_get("/version", self._version)
        r.add_post("/auth/api-key", self._create_key)
        r.add_get("/auth/derive-api-key", self._derive_key)
        r.add_get("/auth/api-keys", self._api_keys)
        r.add_delete("/auth/api-key", self._delete_key)
        r.add_get("/auth/ban-status/closed-only", self._closed_only)
        self.public_routes(r)
        r.add_get("/ws/market", self.hub.handle_market)
        r.add_get("/ws/user", self.hub.handle_user)
        self._trading.routes(r)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except AuthFail as e:
            return _err(e.text, e.status)
        except MatchError as e:
            return _err(e.text, 400 if e.text == "Invalid token id" else 404)

    async def _ok(self, _: web.Request) -> web.Response:
        return _json("OK")

    async def _time(self, _: web.Request) -> web.Response:
        return _json(self.now_s())

    async def _version(self, _: web.Request) -> web.Response:
        return _json({"version": 2})

    async def _issue(self, request: web.Request, create: bool) -> web.Response:
        addr, nonce = verify_l1(request.headers, self.chain_id, self.now_s(), self.ts_window)
        rec = derive_key(addr, nonce)
        exists = rec.api_key in self.keys
        if create and exists:
            return _err("Could not create api key")
        if not create and not exists:
            return _err("Could not derive api key!")
        self.keys[rec.api_key] = rec
        return _json({"apiKey": rec.api_key, "secret": rec.secret, "passphrase": rec.passphrase})

    async def _create_key(self, request: web.Request) -> web.Response:
        return await self._issue(request, True)

    async def _derive_key(self, request: web.Request) -> web.Response:
        return await self._issue(request, False)

    async def _api_keys(self, request: web.Request) -> web.Response:
        rec, _ = await self.l2(request)
        return _json({"apiKeys": [k for k, r in self.keys.items() if r.address == rec.address]})

    async def _delete_key(self, request: web.Request) -> web.Response:
        rec, _ = await self.l2(request)
        self.keys.pop(rec.api_key, None)
        return _json("OK")

    async def _closed_only(self, request: web.Request) -> web.Response:
        await self.l2(request)
        return _json({"closed_only": False})
