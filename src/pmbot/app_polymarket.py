"""The Polymarket composition root: the same bot (strategy, risk gate, order manager,
ledger) quoting binary markets on Polymarket CLOB V2.

    exchange (embedded PolySim + house flow, or real URLs) -> PolymarketVenue (REST + WS)
    -> TradingState; per market: fair value (pricing/binary.py) -> QuoteEngine (strategy +
    risk gate); all markets -> OrderManager -> ledger first, then PolymarketPort

What differs from the Kalshi run (app.py): no index feed (each market is its own one-market
event; the fair value is an external probability or the book's micro-price net of our
orders), no amend (the port says so; the planner sends cancel + create), no order group
(the heartbeat kill switch is the exchange-side safety: the venue cancels everything
~10 s after our last heartbeat), and fills go through the trade lifecycle: provisional
at MATCHED, final at CONFIRMED, rolled back in state and ledger when FAILED.
Stop (Ctrl-C, SIGTERM, --duration, kill switch, fatal error): quoting stops, cancel-all
verified against the venue's open orders, summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmbot.app_parts import Accounting, build_engine, build_inputs, guard_params
from pmbot.app_polymarket_parts import (
    dashboard_loop,
    house_tasks,
    market_ids,
    start_embedded_sim,
    summary,
    wallet,
)
from pmbot.app_shell import RunOptions, RunResult, RunShell, Stop, require_live_for_remote
from pmbot.clock import Clock, LiveClock
from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import ONE, PriceGrid, PriceRange, Qty, fmt_count, fmt_money, fmt_price
from pmbot.core.orders import Side
from pmbot.core.state import TradingState
from pmbot.errors import AuthError, ConfigError, VenueError
from pmbot.execution.order_manager import OrderManager, OrderManagerConfig
from pmbot.execution.reconcile import ReconcileConfig
from pmbot.logs import kv
from pmbot.pricing.binary import binary_fair, binary_spec, fair_probability
from pmbot.risk.kill_switch import KillSwitch
from pmbot.settings import LedgerSettings, Secrets, Settings
from pmbot.store.ledger import Ledger, embedded_sim_ledger
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inputs import DesiredQuote
from pmbot.venues.polymarket.convert import MarketInfo, grid_for
from pmbot.venues.polymarket.inventory import fit_quotes, min_size_qty
from pmbot.venues.polymarket.port import PolymarketPort
from pmbot.venues.polymarket.signing import tick_units
from pmbot.venues.polymarket.urls import Endpoints
from pmbot.venues.polymarket.venue import PolymarketVenue

__all__ = ["PolyBotApp", "run_polymarket"]

log = logging.getLogger("pmbot.app")
S = 1_000_000_000
_YEAR_NS = 365 * 86_400 * S


@dataclass(slots=True)
class _EventView:
    """What app_parts.build_inputs / Accounting read, for one one-market event."""

    state: TradingState
    acct: Accounting
    event_ticker: str
    event_markets: list[MarketSpec]
    quotable: list[MarketSpec]
    fair: EventFairValue | None
    ledger: Ledger | None = None  # where the trading day's starting P&L is kept


class PolyBotApp(RunShell):
    """One bot run on Polymarket. Constructors do no I/O; `run()` does everything."""

    om: OrderManager | None
    _check_hint = "check the open orders on Polymarket"

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        options: RunOptions | None = None,
        *,
        sim_kw: dict[str, Any] | None = None,
    ) -> None:
        self._init_shell(options, settings.bot.burst_wait_ms)
        self.s = settings
        self.ps = settings.polymarket
        self.secrets = secrets
        self.sim_kw = sim_kw or {}
        self.sim: Any = None  # the embedded PolySim
        self.house: Any = None
        self.state = TradingState()
        self.clock: Clock = LiveClock()
        self.venue: PolymarketVenue | None = None
        self.port: PolymarketPort | None = None
        self.ledger: Ledger | None = None
        self.acct = Accounting()
        self.markets: list[MarketSpec] = []
        self.infos: dict[str, MarketInfo] = {}
        self.fairs: dict[str, EventFairValue] = {}
        self.engines: dict[str, QuoteEngine] = {}
        self.kill_switch = KillSwitch()
        self.decisions: dict[str, Any] = {}
        self.voided: list[ev.FillVoided] = []
        self.confirmed = 0
        self._reconnect = False  # the user channel came back: reconcile before quoting
        self.quote_passes = 0
        self._wake = asyncio.Event()
        self.ledger_path = ""
        self.pusd_start: int | None = None  # the wallet's pUSD when the run began (micros)

    # ---- the Accounting / dashboard view of the whole run --------------------------------
    @property
    def event_ticker(self) -> str:
        return ",".join(m.ticker[:10] for m in self.markets)

    @property
    def fair(self) -> EventFairValue | None:
        return None

    # ---- events ---------------------------------------------------------------------------
    def sink(self, events: list[ev.Event]) -> None:
        """Every venue event lands here (one loop, no awaits)."""
        om, port = self.om, self.port
        for e in events:
            if (
                port is not None
                and isinstance(e, (ev.Fill, ev.OrderUpdate))
                and e.client_order_id is None
            ):
                coid = port.client_order_id(e.order_id)
                if coid is not None:
                    e = dataclasses.replace(e, client_order_id=coid)
            if om is None:
                self.state.apply(e)
            elif isinstance(e, ev.Fill):
                if om.on_fill(e):
                    self.acct.sync(self.state, self.fairs.get(e.ticker))
                    log.info(
                        "fill %s",
                        kv(
                            ticker=e.ticker,
                            side=e.side.value,
                            price=fmt_price(e.price),
                            count=fmt_count(e.qty),
                            fee=fmt_money(e.fee),
                            trade_id=e.trade_id,
                            order_id=e.order_id,
                            client_order_id=e.client_order_id,
                            provisional=e.provisional,
                        ),
                    )
            elif isinstance(e, ev.FillVoided):
                key = (e.trade_id, e.order_id)
                i = next(
                    (i for i, x in enumerate(self.state.fills) if (x.trade_id, x.order_id) == key),
                    None,
                )
                f = None if i is None else self.state.fills[i]
                if om.on_fill_voided(e) and f is not None and i is not None:
                    self.voided.append(e)
                    self.acct.void(f, i)
            elif isinstance(e, ev.FillConfirmed):
                if om.on_fill_confirmed(e):
                    self.confirmed += 1
            elif isinstance(e, ev.OrderUpdate):
                om.on_order_update(e)
            else:
                self.state.apply(e)
                if (
                    isinstance(e, ev.ConnectionState)
                    and e.up
                    and e.channel == "user"
                    and e.reason == "reconnected"
                ):
                    self._reconnect = True  # the quote loop reconciles before it quotes
        if not self._waiting_ns:
            self._waiting_ns = time.perf_counter_ns()
        self._wake.set()

    def _on_signed(self, client_order_id: str, order_id: str) -> None:
        """The order's venue id (its hash) is known before it is sent: ledger and state
        learn it now, so a lost answer (timeout, crash) never hides a live order."""
        assert self.ledger is not None
        self.ledger.set_order_id(client_order_id, order_id)
        o = self.state.orders.get(client_order_id)
        if o is not None and not o.order_id:
            o.order_id = order_id
            self.state.order_ids[order_id] = client_order_id

    def _resting_sells(self, ticker: str, side: Side) -> Qty:
        """What our live SELL orders on this market and side still reserve (an order the
        port cannot tell counts: it may be a SELL)."""
        port = self.port
        assert port is not None
        live = sum(
            o.remaining
            for o in self.state.live_orders(ticker)
            if o.side is side and o.order_id and port.is_sell(o.order_id) is not False
        )
        return live + self._owed_sells(ticker, side)

    def _owed_sells(self, ticker: str, side: Side) -> Qty:
        """Shares our SELLs sold by the venue's word (order update, answer) whose fill events
        have not reached the stream yet: the venue holds them back from new SELLs already."""
        port = self.port
        assert port is not None
        return sum(
            o.owed
            for o in self.state.owing.values()
            if o.ticker == ticker and o.side is side and port.is_sell(o.order_id) is not False
        )

    def _fit(self, desired: list[DesiredQuote]) -> list[DesiredQuote]:
        """The gate's quotes as the venue takes them: none under the market's minimum size,
        held tokens sold rather than pairs bought (venues/polymarket/inventory.py)."""
        port = self.port
        assert port is not None
        held = {
            (t, side): max(0, port.sellable(t, side) - self._owed_sells(t, side))
            for t in self.infos
            for side in (Side.BID, Side.ASK)
        }
        least = {t: min_size_qty(m.min_size) for t, m in self.infos.items()}
        return fit_quotes(
            desired, self.state.live_orders(), held=held, is_sell=port.is_sell, min_size=least
        )

    async def _refresh_holdings(self) -> None:
        """Read the tokens our mined BUY fills added, so they can be sold soon (the periodic
        reconciliation reads every balance, but only every `reconcile_interval_s`)."""
        assert self.port is not None
        while True:
            await self.clock.sleep(0.5)
            try:
                if await self.port.refresh_holdings():
                    self._wake.set()
            except VenueError as e:
                log.warning("token balance read failed %s", kv(error=e))

    def _on_risk(self, code: str, detail: str) -> None:
        """The venue refused us for a money reason (insufficient balance): halt everything."""
        log.critical("venue risk reject %s", kv(code=code, detail=detail))
        self.kill_switch.trip(self.clock.now_ns(), f"venue: {code}")
        self._wake.set()

    # ---- setup ----------------------------------------------------------------------------
    async def _start_exchange(self, stack: contextlib.AsyncExitStack) -> Endpoints:
        ps = self.ps
        if ps.env == "sim" and not ps.clob_url:
            self.sim, self.house = await start_embedded_sim(self.s, stack, **self.sim_kw)
            self.clock = self.sim.clock
            log.info("embedded polymarket simulator %s", kv(url=self.sim.url, seed=self.s.sim.seed))
            return Endpoints.local(self.sim.url)
        if ps.env == "prod" and not self.s.bot.live:
            raise ConfigError(
                "bot.live",
                "polymarket.env=prod trades real orders: set bot.live = true "
                "(or PMBOT__BOT__LIVE=true) to confirm",
            )
        if ps.env == "sim":
            require_live_for_remote(
                {"polymarket.clob_url": ps.clob_url, "polymarket.ws_url": ps.ws_url},
                self.s.bot.live,
            )
        ep = Endpoints.local(ps.clob_url or "") if ps.env == "sim" else Endpoints()
        return Endpoints(
            clob=ps.clob_url or ep.clob,
            ws=ps.ws_url or ep.ws,
            gamma=ps.gamma_url or ep.gamma,
            chain_id=ep.chain_id,
        )

    def _add_markets(self, infos: list[MarketInfo]) -> None:
        far = self.clock.now_ns() + _YEAR_NS  # no reference time: Polymarket closes on resolution
        for m in infos:
            t = tick_units(m.tick)
            spec = binary_spec(
                m.condition_id, PriceGrid([PriceRange(0, ONE, t)]), far, series="polymarket"
            )
            self.infos[m.condition_id] = m
            self.markets.append(spec)
            self.state.add_market(spec)
            # the book lives on the finest grid the market can switch to (tick_size_change)
            self.state.books[m.condition_id] = BinaryBook(grid_for(t), m.condition_id)
            guards = dataclasses.replace(guard_params(self.s), index_stale_ns=None)
            # one kill switch for the account: any market's trip (daily loss, a venue money
            # reject) stops every market
            self.engines[m.condition_id] = build_engine(self.s, self.kill_switch, guards=guards)[0]

    def _ledger_path(self) -> str:
        """The configured path when the user chose one (`--ledger`, `ledger.path`); the
        default path gets a `-polymarket` suffix, so it never mixes with a Kalshi ledger."""
        path, default = self.s.ledger.path, LedgerSettings().path
        if self.sim is not None:
            return embedded_sim_ledger(path, default, "poly-")
        if path != default:
            return path
        p = Path(path)
        return str(p.with_name(f"{p.stem}-polymarket{p.suffix}"))

    def _follow_ticks(self) -> None:
        """Quote on each market's current tick: a tick_size_change (the venue's 0.01 <->
        0.001 near the extremes) reaches the order signer's tick cache; the strategy's grid
        follows it here (on the old, finer grid every quote was refused as off-tick)."""
        http = None if self.venue is None else self.venue.http
        if http is None:
            return
        for i, spec in enumerate(self.markets):
            info = self.infos.get(spec.ticker)
            tick = None if info is None else http.cached_tick(info.yes_token)
            if tick is None:
                continue
            t = tick_units(tick)
            if spec.grid.ranges[0].step != t or len(spec.grid.ranges) != 1:
                new = dataclasses.replace(spec, grid=PriceGrid([PriceRange(0, ONE, t)]))
                self.markets[i] = new
                self.state.markets[spec.ticker] = new
                log.info("tick size changed %s", kv(ticker=spec.ticker, tick=tick))

    # ---- quoting --------------------------------------------------------------------------
    def _fair(self, spec: MarketSpec, now: int) -> EventFairValue | None:
        t = spec.ticker
        own_b: dict[int, int] = {}
        own_a: dict[int, int] = {}
        for o in self.state.live_orders(t):
            d = own_b if o.side.value == "bid" else own_a
            d[o.price] = d.get(o.price, 0) + o.remaining
        book = self.state.books.get(t) if self.state.book_fresh.get(t) else None
        p = fair_probability(
            self.ps.fair_value,
            book,
            external=self.ps.external_probability,
            own_bids=own_b,
            own_asks=own_a,
        )
        return None if p is None else binary_fair(t, p, now)

    async def _quote_loop(self) -> None:
        assert self.om is not None
        om = self.om
        tickers = [m.ticker for m in self.markets]
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the TaskGroup's
            # cancel when the event fires at the same moment, and the stop then hangs
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    await self._wake.wait()
            self._wake.clear()
            self._waiting_ns = 0
            self.state.take_changes()
            self._follow_ticks()
            if self._reconnect:
                self._reconnect = False
                await om.on_reconnect()  # never raises but AuthError: a failure is retried
            now = self.clock.now_ns()
            desired: list[DesiredQuote] = []
            for spec in self.markets:
                fair = self._fair(spec, now)
                if fair is not None:
                    self.fairs[spec.ticker] = fair
                view = _EventView(
                    self.state, self.acct, spec.ticker, [spec], [spec], fair, self.ledger
                )
                d = self.engines[spec.ticker].step(build_inputs(view, now))  # type: ignore[arg-type]
                self.decisions[spec.ticker] = d
                if d.risk.cancel_all:
                    self._stop_reason = f"kill switch: {d.risk.reason.removeprefix('kill_switch:')}"
                    log.critical("kill switch: %s", d.risk.reason)
                    raise Stop(self._stop_reason)
                desired += d.quotes
                if fair is not None:
                    self.acct.mark(self.state, fair)
            self.acct.sync(self.state, None)  # fills REST backfill booked (marked at fair)
            self.quote_passes += 1
            try:
                await om.sync(self._fit(desired), tickers=tickers)
            except AuthError:
                raise
            except VenueError as e:
                log.warning("sync failed %s", kv(error=e))

    # ---- run ------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        if self.ps.fair_value == "external" and self.ps.external_probability is None:
            raise ConfigError(
                "polymarket.external_probability", 'required when fair_value = "external"'
            )
        t0 = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            self._install_signals(stack)
            ep = await self._start_exchange(stack)
            signer, creds = wallet(self.secrets, self.ps.env)
            venue = self.venue = PolymarketVenue(
                ep,
                signer,
                [],
                self.sink,
                clock=self.clock,
                creds=creds,
                heartbeat=self.ps.heartbeat_s,
                reconcile_every=self.ps.book_reconcile_s,
                yield_to=self._decision_overdue,
                # no frame and no PONG this long: reconnect, every book stale until resynced
                silence_s=self.s.risk.book_stale_s,
            )
            stack.push_async_callback(venue.close_session)
            venue.condition_ids = await market_ids(self.ps, venue.http, self.sim)
            infos = await venue.connect()
            self._add_markets(infos)
            self.port = PolymarketPort(venue)
            lpath = self.ledger_path = self._ledger_path()
            Path(lpath).parent.mkdir(parents=True, exist_ok=True)
            self.ledger = Ledger(lpath).open(exclusive=True)
            stack.callback(self.ledger.close)
            self.ledger.start_run(f"poly-{os.getpid()}-{t0:.0f}", self.clock.now_ns(), "polymarket")
            rec = self.ledger.recover(self.state)
            if venue.user_feed is not None:  # what became of fills an earlier run booked
                venue.user_feed.stream.adopt_pending(self.ledger.provisional_fills())
            for o in self.ledger.live_orders():
                if o.order_id:
                    self.port.learn(o.order_id, o.client_order_id, o.ticker)
            self.port.on_signed = self._on_signed
            self.port.resting_sells = self._resting_sells
            self.pusd_start = await self.port.get_balance()
            log.info("ledger %s", kv(path=lpath, recovered=rec))
            self.om = OrderManager(
                self.port,
                self.state,
                self.ledger,
                self.clock,
                config=OrderManagerConfig(
                    amend_reprice=False,
                    reconcile=ReconcileConfig(
                        unknown_orders="adopt" if self.s.bot.adopt_unknown_orders else "cancel",
                        position_tolerance=1,  # fills finer than 0.01 share: see stream.UserStream
                    ),
                    reconcile_interval_s=self.s.bot.reconcile_interval_s,
                    cancel_all_timeout_s=self.s.bot.shutdown_timeout_s,
                    order_group_limit=None,  # no order groups: the heartbeat kill switch instead
                ),
                on_risk=self._on_risk,
            )
            om = self.om

            async def start(tg: asyncio.TaskGroup) -> None:
                tg.create_task(venue.run(), name="venue")
                if self.house is not None:
                    for coro in house_tasks(self):
                        tg.create_task(coro, name="house")
                rep = await om.start()
                log.info("reconciled %s", kv(ok=rep.ok, summary=rep.summary()))
                tg.create_task(self._quote_loop(), name="quote")
                tg.create_task(om.run_periodic(), name="reconcile")
                tg.create_task(self._refresh_holdings(), name="holdings")
                if self.opts.dashboard:
                    tg.create_task(dashboard_loop(self), name="dashboard")

            await self._supervise(start)
            self.result.summary = await summary(self, time.monotonic() - t0)
            await venue.aclose()
        if self.opts.summary_json:
            Path(self.opts.summary_json).write_text(json.dumps(self.result.summary, indent=2))
        return self.result


def run_polymarket(settings: Settings, args: Any) -> int:
    """`pmbot run --venue polymarket` (commands/run.py dispatches here)."""
    dashboard = settings.bot.dashboard and not getattr(args, "no_dashboard", False)
    app = PolyBotApp(
        settings,
        Secrets(os.environ),
        RunOptions(
            duration_s=getattr(args, "duration", None),
            summary_json=getattr(args, "summary_json", None),
            dashboard=dashboard,
        ),
    )
    result = asyncio.run(app.run())
    if dashboard:
        print()  # the dashboard's last frame ends without a newline
    print(json.dumps(result.summary, indent=2))
    return 0 if result.clean_shutdown else 1
