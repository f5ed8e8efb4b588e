"""The Kalshi simulator: exchange core + markets calendar + index + flow + REST + WebSocket.

`KalshiSim` owns simulated time. With a live or scaled clock a driver task advances it every
few milliseconds; with a `ManualClock` tests call `await sim.step(seconds)`, which processes
every 1 s step (index, lifecycle, expiries, flow) and flushes the WebSocket queues, so tests
never sleep. Every REST request and WS command first catches the simulation up to the clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from pmbot.clock import Clock, LiveClock, ManualClock, ScaledClock
from pmbot.core.money import PriceGrid, parse_money
from pmbot.sim.exchange import Exchange
from pmbot.sim.faults import Faults
from pmbot.sim.flow import Flow, FlowConfig
from pmbot.sim.index import (
    IndexPath,
    ReplayIndex,
    SyntheticIndex,
    et_date,
    et_ns,
    session_bounds_ns,
)
from pmbot.sim.kalshi_auth import ApiKey, Authenticator, RateLimiter, generate_key
from pmbot.sim.kalshi_hub import Hub
from pmbot.sim.kalshi_wire import dumps_rest
from pmbot.sim.markets import build_day

__all__ = ["KalshiSim", "SimConfig"]

log = logging.getLogger("pmbot.sim")
STEP_NS = 1_000_000_000


@dataclass(slots=True)
class SimConfig:
    seed: int = 0
    speed: float = 1.0
    start_ns: int | None = None  # simulated start time (default: now)
    balance: str = "10000.0000"  # dollars for the member account
    tier: str = "basic"
    rate_limits: bool = True
    flow: FlowConfig | None = field(default_factory=FlowConfig)
    index_level: float = 7650.0
    index_vol: float = 0.16
    index_csv: str | None = None
    inx_buckets: int = 14
    inxu_strikes: int = 20
    ping_interval_s: float = 10.0
    faults: Faults | None = None  # initial fault switches (tests flip `sim.faults` at run time)
    maintenance: bool = True  # Thursday 03:00-05:00 ET trading pause, as on the real exchange
    max_steps_per_tick: int = (
        600  # live/scaled clock: cap work per driver tick (sim time lags, never skips)
    )


class KalshiSim:
    def __init__(
        self, config: SimConfig | None = None, clock: Clock | None = None, key: ApiKey | None = None
    ) -> None:
        self.config = cfg = config or SimConfig()
        if clock is None:
            start = cfg.start_ns if cfg.start_ns is not None else LiveClock().now_ns()
            clock = (
                LiveClock()
                if cfg.speed == 1.0 and cfg.start_ns is None
                else ScaledClock(start, cfg.speed)
            )
        self.clock = clock
        self.manual = isinstance(clock, ManualClock)
        now = clock.now_ns()
        self.exchange = Exchange(seed=cfg.seed)
        self.index: IndexPath = (
            ReplayIndex(cfg.index_csv, cfg.index_vol)
            if cfg.index_csv
            else SyntheticIndex(
                cfg.seed, et_date(now) - timedelta(days=7), cfg.index_level, cfg.index_vol
            )
        )
        self.faults = cfg.faults or Faults()
        self.key = key or generate_key("member")
        self.auth = Authenticator([self.key])
        self.limiter = RateLimiter(cfg.tier, cfg.rate_limits)
        self.exchange.ledger.open(self.key.user, parse_money(cfg.balance))
        self.flow = (
            Flow(self.exchange, self.index, cfg.flow, random.Random(cfg.seed)) if cfg.flow else None
        )
        self.hub = Hub(self)
        self.sim_ns = now - now % STEP_NS
        self._days: set[Any] = set()
        self._next_ping = now + int(cfg.ping_interval_s * 1e9)
        self.rest_url = self.ws_url = ""
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._driver: asyncio.Task[None] | None = None
        self._host, self._port = "127.0.0.1", 0
        self._ensure_days(now)
        self.exchange.tick(now, self.index.level_at)
        self.exchange.drain()  # creation-time lifecycle before anyone listens

    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def private_key_pem(self) -> bytes:
        return self.key.private_pem

    # -- accounts -----------------------------------------------------------------------
    def add_key(self, user: str) -> ApiKey:
        """Another member with its own key and balance (multi-account tests)."""
        k = generate_key(user)
        self.auth.add(k)
        self.exchange.ledger.open(user, parse_money(self.config.balance))
        return k

    # -- time -----------------------------------------------------------------------------
    def now_ns(self) -> int:
        return self.clock.now_ns()

    def _ensure_days(self, ts_ns: int) -> None:
        """Create each trading day's events at 16:00 ET the day before (or now, if later)."""
        d = et_date(ts_ns)
        for day in (d, d + timedelta(days=1), d + timedelta(days=2), d + timedelta(days=3)):
            if day in self._days:
                continue
            create_at = et_ns(day - timedelta(days=1), 16, 0)
            if day == d or ts_ns >= create_at:
                if ts_ns >= session_bounds_ns(day)[1] + 3_600_000_000_000:
                    self._days.add(day)
                    continue
                self._days.add(day)
                evs, mks = build_day(
                    day,
                    self.index.level_at(ts_ns),
                    ts_ns,
                    seed=self.config.seed,
                    inx_buckets=self.config.inx_buckets,
                    inxu_strikes=self.config.inxu_strikes,
                )
                self.exchange.add_markets(evs, mks)

    def catch_up(self) -> None:
        limit = None if self.manual else self.config.max_steps_per_tick
        self.advance_to(self.clock.now_ns(), max_steps=limit)

    def in_maintenance(self, ts_ns: int) -> bool:
        if not self.config.maintenance:
            return False
        d = et_date(ts_ns)
        return d.weekday() == 3 and et_ns(d, 3, 0) <= ts_ns < et_ns(d, 5, 0)

    def _sync_pause(self, ts_ns: int) -> None:
        want = self.faults.trading_paused or self.in_maintenance(ts_ns)
        if want != self.exchange.trading_paused:
            self.exchange.set_paused(want, ts_ns)

    def advance_to(self, ts_ns: int, max_steps: int | None = None) -> None:
        """Process every whole simulated second up to ts_ns, then the remainder."""
        x = self.exchange
        self._sync_pause(self.sim_ns)
        n = 0
        while self.sim_ns + STEP_NS <= ts_ns:
            if max_steps is not None and n >= max_steps:
                return  # behind the clock: the driver continues on its next tick
            n += 1
            self.sim_ns += STEP_NS
            t = self.sim_ns
            self._sync_pause(t)
            self._ensure_days(t)
            x.tick(t, self.index.level_at)
            if self.flow is not None:
                self.flow.step(t, STEP_NS / 1e9)
            self.hub.dispatch(x.drain(), t)
            if self.manual and t >= self._next_ping:
                self._next_ping = t + int(self.config.ping_interval_s * 1e9)
                self.hub.ping_all()
        self.hub.release_delayed(ts_ns)
        self.hub.dispatch(x.drain(), ts_ns)

    async def step(self, seconds: float) -> None:
        """Advance a manual clock, process, and let every queued frame reach its socket."""
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("step() needs a ManualClock")
        self.clock.advance(seconds)
        self.catch_up()
        await self.hub.flush()

    async def run_until(self, pred: Any, max_s: float, step_s: float = 1.0) -> bool:
        """Step simulated time until pred() is true (checked after each step); False on timeout."""
        waited = 0.0
        while not pred():
            if waited >= max_s:
                return False
            await self.step(step_s)
            waited += step_s
        return True

    def set_price_levels(self, ticker: str, structure: str, grid: PriceGrid) -> None:
        """Change a market's valid prices now (`price_level_structure_updated` goes out)."""
        self.exchange.set_price_levels(ticker, structure, grid, self.clock.now_ns())
        self.hub.dispatch(self.exchange.drain(), self.clock.now_ns())

    def set_close(self, ticker: str, close_ns: int) -> None:
        """Move a market's close time now (`close_date_updated` goes out)."""
        self.exchange.set_close(ticker, close_ns, self.clock.now_ns())
        self.hub.dispatch(self.exchange.drain(), self.clock.now_ns())

    def set_paused(self, paused: bool) -> None:
        self.faults.trading_paused = paused
        self.exchange.set_paused(paused, self.clock.now_ns())
        self.hub.dispatch(self.exchange.drain(), self.clock.now_ns())

    # -- serving --------------------------------------------------------------------------
    def rest_body(self, obj: Any) -> bytes:
        return dumps_rest(obj)

    def build_app(self) -> web.Application:
        from pmbot.sim.kalshi_rest import add_routes
        from pmbot.sim.kalshi_ws import ws_handler

        app = web.Application(middlewares=[self._middleware()])

        async def ws(request: web.Request) -> web.StreamResponse:
            return await ws_handler(self, request)

        app.router.add_get("/trade-api/ws/v2", ws)
        add_routes(self, app)
        return app

    def _middleware(self) -> Any:
        from pmbot.sim.kalshi_rest import middleware

        return middleware(self)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, str]:
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        assert server is not None
        sock = server.sockets[0]  # type: ignore[attr-defined]
        self._host, self._port = host, sock.getsockname()[1]
        self.rest_url = f"http://{host}:{self._port}/trade-api/v2"
        self.ws_url = f"ws://{host}:{self._port}/trade-api/ws/v2"
        if not self.manual:
            self._driver = asyncio.create_task(self._drive())
        return self.rest_url, self.ws_url

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self.config.ping_interval_s
        while True:
            await asyncio.sleep(0.02)
            try:
                self.catch_up()
            except Exception:  # keep serving; a bug in one step must not kill the exchange
                log.exception("sim step failed")
            if loop.time() >= next_ping:
                next_ping = loop.time() + self.config.ping_interval_s
                self.hub.ping_all()

    async def stop(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            await asyncio.gather(self._driver, return_exceptions=True)
            self._driver = None
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        """Fault: the exchange restarts; every connection drops, state survives, same port."""
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        await self._site.start()

    async def __aenter__(self) -> KalshiSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
