"""The composition root: build every part from settings and run the bot in one TaskGroup.

    exchange (embedded simulator or real URLs) -> KalshiVenue (REST + WS) -> TradingState
    index feed ------------------------------------------------------------> TradingState
    TradingState -> FairValueModel -> QuoteEngine (strategy + risk gate) -> OrderManager
    OrderManager -> ledger first, then signed calls through KalshiPort

Start order: exchange, venue (key check), feed (first index level), market selection, book
and private subscriptions, reconciliation (the bot refuses to quote until it is clean),
then the quoting loop. Stop order (Ctrl-C, SIGTERM, --duration, kill switch, fatal error):
quoting stops, cancel-all verified against the venue, order group deleted, summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmbot.aio import EAGER, start_now
from pmbot.app_parts import (
    Accounting,
    IdleGC,
    LoopStats,
    build_engine,
    build_inputs,
    dashboard_view,
    fair_model,
    market_label,
    sim_vix,
)
from pmbot.app_shell import RunOptions, RunResult, RunShell, Stop, require_live_for_remote
from pmbot.clock import Clock, LiveClock, ScaledClock
from pmbot.core import events as ev
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import fmt_count, fmt_money, fmt_price
from pmbot.core.state import TradingState, respecified
from pmbot.errors import AuthError, ConfigError, VenueError, VenueUnavailable
from pmbot.execution.order_manager import OrderManager, OrderManagerConfig
from pmbot.feeds.factory import build_feed
from pmbot.logs import kv
from pmbot.settings import LedgerSettings, Secrets, Settings
from pmbot.store.ledger import Ledger, embedded_sim_ledger
from pmbot.strategy.selection import select_event, select_markets
from pmbot.venues.kalshi.port import KalshiPort
from pmbot.venues.kalshi.presign import PresignedHeaders
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.urls import resolve_urls
from pmbot.venues.kalshi.venue import KalshiVenue

__all__ = ["BotApp", "RunOptions", "RunResult", "Stop"]

log = logging.getLogger("pmbot.app")
_CREATE_MAX_AGE_S = 0.25  # wall seconds
_FAIR_MAX_AGE_NS = 250_000_000  # market time
_DASHBOARD_PERIOD_S = 0.5
_MAX_SYNCS_IN_FLIGHT = 4  # decisions whose calls may be in flight at once
_PAUSE_POLL_S = 5.0  # real seconds between exchange-status reads during a trading pause
_RESELECT_NS = 30_000_000_000  # market time between re-selections of the markets to quote
# Loop turns the quote loop yields after starting a decision's send. 3.12+: the send starts
# eagerly and every call is written in the decision's step; one turn still lets the other
# tasks run before the next decision (a send ended at once may have set the wake event,
# which would not suspend). Before 3.12: one turn runs the send (the first call inline) and
# starts the others, one runs those, one more runs the task from which aiohttp writes a
# request that has a body.
_TURNS_AFTER_SEND = 1 if EAGER else 3


class BotApp(RunShell):
    """One bot run. Constructors do no I/O; `run()` does everything and returns the summary."""

    om: OrderManager | None

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        options: RunOptions | None = None,
        *,
        sim: Any | None = None,
        metrics: Any | None = None,
        recorder: Any | None = None,
    ) -> None:
        self._init_shell(options, settings.bot.burst_wait_ms)
        self._check_hint = (
            "see them with `pmbot reconcile` (same config), cancel them with `pmbot cancel-all`"
        )
        self.s = settings
        self.secrets = secrets
        self.sim = sim  # an already started KalshiSim (tests), else built when kalshi.env == sim
        self._own_sim = False
        self.state = TradingState()
        self.clock: Clock = LiveClock()
        self.venue: KalshiVenue | None = None
        self.ledger: Ledger | None = None
        self.acct = Accounting()
        self.event_ticker = ""
        self.event_markets: list[MarketSpec] = []
        self._close_ns = 0  # the selected event's close (market time)
        self.quotable: list[MarketSpec] = []
        self.all_markets: list[MarketSpec] = []
        self.fair: EventFairValue | None = None
        self.decision: Any = None
        self._wake = asyncio.Event()
        self._syncs: set[asyncio.Task[None]] = set()  # decisions whose calls are in flight
        self._send_error: BaseException | None = None
        self._replan = False
        self.loop_stats = LoopStats()
        self._gc = IdleGC()
        self._reconnect = False
        self._left: set[str] = set()  # markets of events left behind (see `_scope`)
        self._book_subs: set[str] = set()  # the markets whose books we subscribe
        self._index_seen = asyncio.Event()
        # optional observers (ops): metrics.BotMetrics, record.LiveRecorder
        self.metrics = metrics
        self.recorder = recorder

    # ---- events ---------------------------------------------------------------------------
    def sink(self, e: ev.Event) -> None:
        """Every feed and venue event lands here (one loop, no awaits)."""
        if self.recorder is not None:
            self.recorder.on_event(e)
        om = self.om
        if isinstance(e, ev.Fill):
            if om is not None:
                if om.on_fill(e):
                    log.info(
                        "fill %s",
                        kv(ticker=e.ticker, side=e.side.value, price=fmt_price(e.price),
                           count=fmt_count(e.qty), fee=fmt_money(e.fee), taker=e.is_taker,
                           trade_id=e.trade_id, order_id=e.order_id,
                           client_order_id=e.client_order_id),
                    )  # fmt: skip
            else:
                self.state.apply(e)
        elif isinstance(e, ev.OrderUpdate) and om is not None:
            o = self.state.order_by_id(e.order_id)
            before = None if o is None else (o.status, o.remaining, o.price)
            # the stream stamps on transport (wall) time; order ages are judged on market time
            om.on_order_update(dataclasses.replace(e, ts_ns=self.clock.now_ns()))
            if o is not None and before == (o.status, o.remaining, o.price):
                return  # the echo of an answer we already have: no decision to make
        elif isinstance(e, ev.BookDelta):
            st = self.state
            book, fresh = st.books.get(e.ticker), st.book_fresh
            top = None if book is None else (book.best_ticks(), fresh.get(e.ticker))
            st.apply(e)
            if top is not None and top[1] and not fresh.get(e.ticker) and self.venue is not None:
                # the book refused the delta and went stale: the stream resyncs it (it
                # cannot see the refusal in this mode; without this it stayed stale)
                self.venue.stream.book_refused(e.ticker, e.ts_ns)
            if e.client_order_id is not None:
                return  # our own order moved the book: the strategy already knows it
            if book is not None and (book.best_ticks(), fresh.get(e.ticker)) == top:
                # below the best prices: the strategy and the risk gate read a Kalshi book
                # only through its best bid and ask (and whether it is current), so this
                # decision would be the last one again (the backtester wakes the same way)
                return
        else:
            self.state.apply(e)
            if isinstance(e, ev.IndexTick):
                self._index_seen.set()
                if self._model is not None:
                    self._model.on_index(e.ts_ns, e.level)
            elif isinstance(e, ev.ConnectionState) and e.up and e.reason.startswith("re"):
                self._reconnect = True
            elif isinstance(e, ev.MarketStatus) and e.result in ("yes", "no"):
                self._settle(e)
            elif isinstance(e, ev.MarketSpecChange):
                self._respec(e)
            elif (
                isinstance(e, ev.OrderGroupUpdate)
                and om is not None
                and om.venue_tripped_group(e.group_id, e.event_type)
            ):
                # fills over the group's limit: the exchange cancelled the group's orders
                self._on_risk("order_group_updates: triggered", f"order_group_id={e.group_id}")
        if not self._waiting_ns:
            self._waiting_ns = time.perf_counter_ns()
        self._wake.set()

    _model: Any = None

    def _on_risk(self, code: str, detail: str) -> None:
        """The venue refused us for a money reason (e.g. insufficient balance): halt, ask a human."""
        log.critical("venue risk reject %s", kv(code=code, detail=detail))
        gate = getattr(self, "_gate", None)
        if gate is not None:
            gate.kill_switch.trip(self.clock.now_ns(), f"venue: {code}")
        self._wake.set()

    def _on_paused(self) -> None:
        """The venue refused an order for its trading pause: halt quoting (the gate's
        `trading_paused` pulls the quotes; cancels are still taken) and ask the venue for its
        status until it trades again. Before, every decision was refused all pause long."""
        if self.state.trading_active:
            log.warning("venue trading paused: quoting halted until it resumes")
            self.sink(ev.ExchangeStatus(self.clock.now_ns(), self.state.exchange_active, False))
        self._watch_pause()

    def _watch_pause(self) -> None:
        """Poll the exchange status while the venue does not trade (a pause seen on an
        order's refusal, or already underway at start-up)."""
        if self._pause_poll is None or self._pause_poll.done():
            self._pause_poll = start_now(self._poll_pause(), name="pause-poll")

    def _venue_trades(self) -> bool:
        return self.state.trading_active and self.state.exchange_active

    async def _poll_pause(self) -> None:
        while not self._venue_trades() and self.venue is not None:
            await asyncio.sleep(_PAUSE_POLL_S)
            try:
                await self.venue.exchange_status()  # its ExchangeStatus reaches the sink
            except VenueError as e:
                log.warning("exchange status unavailable %s", kv(error=e))
        log.info("venue trading resumed")

    _pause_poll: asyncio.Task[None] | None = None

    def _respec(self, e: ev.MarketSpecChange) -> None:
        """The venue changed a market's grid or close time: every list of specs follows
        (new lists, so the strategy's cached view of the event is rebuilt)."""
        if not any(m.ticker == e.ticker for m in self.all_markets):
            return

        def swap(ms: list[MarketSpec]) -> list[MarketSpec]:
            return [respecified(m, e) if m.ticker == e.ticker else m for m in ms]

        self.all_markets = swap(self.all_markets)
        if any(m.ticker == e.ticker for m in self.event_markets):
            self.event_markets = swap(self.event_markets)
            self.quotable = swap(self.quotable)
            self._close_ns = max(m.close_ts_ns for m in self.event_markets)
        spec = next(m for m in self.all_markets if m.ticker == e.ticker)
        log.info(
            "market terms changed %s",
            kv(
                ticker=e.ticker,
                grid=""
                if e.grid is None
                else ",".join(
                    f"{fmt_price(r.start)}-{fmt_price(r.end)}/{fmt_price(r.step)}"
                    for r in spec.grid.ranges
                ),
                close=""
                if e.close_ts_ns is None
                else datetime.fromtimestamp(spec.close_ts_ns / 1e9, tz=UTC).isoformat(),
            ),
        )

    def _settle(self, e: ev.MarketStatus) -> None:
        """A determined market pays $1 per winning contract: close our position at once."""
        pos = self.state.positions.get(e.ticker)
        if pos is None or pos.qty == 0 or self.ledger is None:
            return
        pnl = self.state.settle_position(e.ticker, e.result == "yes") or 0
        self.ledger.add_settlement(e.ticker, e.result == "yes", pnl, e.ts_ns, pos)
        log.info("settled %s", kv(ticker=e.ticker, result=e.result, pnl=fmt_money(pnl)))

    # ---- setup ----------------------------------------------------------------------------
    async def _start_exchange(
        self, stack: contextlib.AsyncExitStack
    ) -> tuple[str, str, KalshiSigner | None]:
        ks = self.s.kalshi
        if ks.env == "sim" and not ks.rest_url:
            if self.sim is None:
                from pmbot.sim.kalshi_server import KalshiSim, SimConfig

                start_ns = _sim_start_ns(self.s.sim.start)
                self.sim = KalshiSim(
                    SimConfig(seed=self.s.sim.seed, speed=self.s.sim.speed, start_ns=start_ns)
                )
                await self.sim.start(self.s.sim.host, self.s.sim.port)
                self._own_sim = True
                stack.push_async_callback(self.sim.stop)
            self.clock = self.sim.clock
            log.info(
                "embedded simulator %s",
                kv(
                    rest=self.sim.rest_url,
                    ws=self.sim.ws_url,
                    speed=self.s.sim.speed,
                    seed=self.s.sim.seed,
                ),
            )
            return (
                self.sim.rest_url,
                self.sim.ws_url,
                KalshiSigner.from_pem(self.sim.key_id, self.sim.private_key_pem),
            )
        if ks.env == "sim" and ks.rest_url:
            require_live_for_remote(
                {"kalshi.rest_url": ks.rest_url, "kalshi.ws_url": ks.ws_url}, self.s.bot.live
            )
            await self._sync_sim_clock(ks.rest_url)
        if ks.env in ("demo", "prod") and not self.s.bot.live:
            raise ConfigError(
                "bot.live",
                f"kalshi.env={ks.env} trades real orders: set bot.live = true "
                "(or PMBOT__BOT__LIVE=true) to confirm",
            )
        urls = resolve_urls(ks.env, ks.rest_url, ks.ws_url, legacy_hosts=ks.legacy_hosts)
        key_id = self.secrets.kalshi_key_id(ks.key_file_dir)
        path = self.secrets.kalshi_private_key_path(ks.key_file_dir)
        if not key_id or not path:
            raise ConfigError(
                "credentials",
                "Kalshi key id / private key not set (PMBOT_KALSHI_KEY_ID and "
                "PMBOT_KALSHI_PRIVATE_KEY_PATH, or kalshi.key_file_dir)",
            )
        return urls.rest, urls.ws, KalshiSigner.from_file(key_id, path)

    async def _sync_sim_clock(self, rest_url: str) -> None:
        """An external simulator: run on its market clock (it may be accelerated)."""
        import aiohttp

        base = rest_url.split("/trade-api")[0]
        try:
            async with aiohttp.ClientSession() as http, http.get(f"{base}/sim/clock") as r:
                body = await r.json()
            self.clock = ScaledClock(int(body["ts_ms"]) * 1_000_000, float(body["speed"]))
            self._sim_vol = float(body.get("index_vol") or 0) or None
            log.info("simulator clock %s", kv(speed=body["speed"], sim_ts_ms=body["ts_ms"]))
        except (aiohttp.ClientError, KeyError, ValueError, TypeError) as e:
            log.warning("simulator clock unavailable, using wall time %s", kv(error=e))

    _sim_vol: float | None = None
    _last_load: float = 0.0

    def _ledger_path(self) -> str:
        if self._own_sim:
            return embedded_sim_ledger(self.s.ledger.path, LedgerSettings().path, "")
        return self.s.ledger.path

    async def _select(self) -> None:
        """Pick the event for the next reference time and the markets near the index."""
        now = self.clock.now_ns()
        level = self.state.index_level
        assert level is not None
        pull_ns = int(self.s.risk.pull_before_close_s * 1e9)
        ev_t = select_event(self.all_markets, now, pull_ns)
        if ev_t is None and time.monotonic() - self._last_load >= 5.0:
            self._last_load = time.monotonic()  # real-time throttle: also right on a fast sim
            self.all_markets = await self._load_markets()
            ev_t = select_event(self.all_markets, now, pull_ns)
        if ev_t != self.event_ticker and self.event_markets and self.om is not None:
            # leaving an event: pull its quotes before anything else; an order of it still
            # in flight or of unknown outcome is pulled by a later decision (`_scope`)
            left = [m.ticker for m in self.event_markets]
            self._left.update(left)
            await self.om.sync([], tickers=left)
        if ev_t is None:
            if self.event_ticker:
                log.info(
                    "no open event to quote: waiting for the next one %s",
                    kv(last=self.event_ticker),
                )
            self.event_ticker, self.event_markets, self.quotable = "", [], []
            return
        markets = [m for m in self.all_markets if m.event_ticker == ev_t]
        quotable = select_markets(
            markets, ev_t, level, self.s.markets.band_points, self.s.markets.max_markets
        )
        changed = ev_t != self.event_ticker or {m.ticker for m in quotable} != {
            m.ticker for m in self.quotable
        }
        if not changed:
            return
        assert self.venue is not None
        if ev_t != self.event_ticker:
            log.info("quoting event %s", kv(event=ev_t, markets=len(markets), level=f"{level:.2f}"))
            for m in markets:
                self.state.add_market(m)
        held = {
            t for t, p in self.state.positions.items() if p.qty and t in {m.ticker for m in markets}
        }
        subs = {m.ticker for m in quotable} | held
        self.event_ticker, self.event_markets, self.quotable = ev_t, markets, quotable
        self._close_ns = max(m.close_ts_ns for m in markets)
        drop = self._book_subs - subs
        if drop:  # markets out of the band and left events: their books are not read
            await self.venue.unsubscribe_books(sorted(drop))
        self._book_subs = subs
        await self.venue.subscribe_books(sorted(subs))
        log.info(
            "selected markets %s",
            kv(
                event=ev_t, quotable=",".join(sorted(m.ticker.rsplit("-", 1)[-1] for m in quotable))
            ),
        )

    async def _load_markets(self) -> list[MarketSpec]:
        assert self.venue is not None
        out: list[MarketSpec] = []
        for series in self.s.markets.series:
            out += await self.venue.load_markets(series, status="open")
        return out

    # ---- loops ----------------------------------------------------------------------------
    async def _quote_loop(self) -> None:
        """Decide on every wake-up; each decision's calls go out as their own task.

        The loop never waits for the venue's answers: a decision made while earlier calls are
        in flight plans around them (the planner freezes every (market, side) with a call in
        flight, so nothing is doubled) and the finished call wakes the loop to re-plan what
        was frozen. Work the write budget cannot pay for right now is deferred, not queued:
        the loop wakes when the budget refills and plans it afresh from the state of then.
        """
        try:
            await self._decide()
        finally:
            # the sends run outside the TaskGroup (they start eagerly): they end with the loop
            if self._pause_poll is not None:
                self._pause_poll.cancel()
            for t in list(self._syncs):
                t.cancel()
            if self._syncs:
                await asyncio.wait(list(self._syncs))

    async def _decide(self) -> None:
        assert self.om is not None
        om, state = self.om, self.state
        engine, gate = build_engine(self.s)
        self._gate = gate
        wake_at: int | None = None
        last_select = self.clock.now_ns()  # run() selected before the first decision
        pull_ns = int(self.s.risk.pull_before_close_s * 1e9)
        stats = self.loop_stats
        while True:
            if self.clock.now_ns() - last_select > _RESELECT_NS:
                # the periodic re-selection runs between decisions, not in a tick's path
                last_select = self.clock.now_ns()
                await self._select()
            # the calls are out: collect now, unless an event already waits for a decision
            self._gc.maybe(time.monotonic(), busy=self._wake.is_set())
            timeout = 0.5
            if wake_at is not None:
                timeout = max(0.0, min(timeout, (wake_at - self.clock.now_ns()) / 1e9))
            timeout /= max(self._speed(), 1.0)
            budget_wait = om.budget_wait_s()
            if budget_wait is not None:
                timeout = min(timeout, budget_wait)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the TaskGroup's
            # cancel when the event fires at the same moment, and the stop then never ends
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            self._wake.clear()
            self._waiting_ns = 0
            if self._send_error is not None:
                raise self._send_error
            t0 = time.perf_counter_ns()
            state.take_changes()
            now = self.clock.now_ns()
            if self._reconnect:
                self._reconnect = False
                await om.on_reconnect()
            if self.event_markets and now >= self._close_ns - pull_ns:
                last_select = now  # the event closes: pull its quotes, roll to the next
                await self._select()
            if self.state.index_level is None or not self.event_markets:
                continue
            self.fair = self._fair_value(now)
            self.acct.sync(self.state, self.fair)
            inp = build_inputs(self, now)
            self.decision = d = engine.step(inp)
            if d.risk.cancel_all:
                log.critical("kill switch: %s", d.risk.reason.removeprefix("kill_switch:"))
                self._stop_reason = f"kill switch: {d.risk.reason.removeprefix('kill_switch:')}"
                raise Stop(self._stop_reason)
            wake_at = d.wake_at_ns
            # planned and committed in the same step as the decision (no await in between:
            # the plan never goes out on a state older than the one it was made from)
            p = om.prepare(d.quotes, tickers=self._scope())
            if p is not None and p.frozen:
                self._replan = True  # a market waited on an answer: plan again when it comes
            stats.decide(time.perf_counter_ns() - t0)
            if p:
                task = start_now(self._send(p), name="send")
                self._syncs.add(task)
                task.add_done_callback(self._send_done)
                # the calls are written now, not after the next decision (a set wake event
                # does not suspend: back-to-back events would starve them)
                for _ in range(_TURNS_AFTER_SEND):
                    await asyncio.sleep(0)
            self.acct.mark(self.state, self.fair)
            self.acct.save_marks(self.state, self.ledger, now)
            while len(self._syncs) >= _MAX_SYNCS_IN_FLIGHT:  # a slow venue: let one finish
                await asyncio.wait(self._syncs, return_when=asyncio.FIRST_COMPLETED)

    def _scope(self) -> list[str]:
        """The markets a decision plans for: the event's, and any market of an event left
        behind where we still have a live order (it was in flight, or its outcome unknown,
        when that event's quotes were pulled): nothing is desired there, so it is cancelled."""
        scope = [m.ticker for m in self.event_markets]
        if self._left:
            stray = {o.ticker for o in self.state.live_orders() if o.ticker in self._left}
            if stray:
                return scope + sorted(stray - set(scope))
            self._left.clear()
        return scope

    async def _send(self, p: Any) -> None:
        """One decision's calls; their answers wake the loop if a later plan had to leave a
        market alone while they were in flight."""
        om = self.om
        assert om is not None
        failed = False
        try:
            await om.send(p)
        except AuthError:
            raise
        except VenueError as e:
            log.warning("sync failed %s", kv(error=e))
            failed = True
        # else the answers changed nothing a decision has not seen
        if self._replan or failed or om.stats.requote:
            self._replan = om.stats.requote = False  # (a post-only create crossed: requote)
            self._wake.set()

    def _send_done(self, task: asyncio.Task[None]) -> None:
        """A send ended: an error it did not handle (auth, a bug) ends the run through the
        quote loop, which raises it in the TaskGroup."""
        self._syncs.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None:
            self._send_error = self._send_error or e
            self._wake.set()

    def _start_presign(
        self, tg: asyncio.TaskGroup, port: Any, signer: KalshiSigner, executor: Executor
    ) -> None:
        """Ready-made signatures for creating and for amending/cancelling our resting orders
        (venues/kalshi/presign.py), signed in a worker thread."""
        assert self.venue is not None
        pool = PresignedHeaders(signer)
        self.venue.http.presign = pool
        live = self.state.live_orders

        def wanted() -> list[tuple[str, str]]:
            return list(port.presign_paths(o.order_id for o in live() if o.order_id))

        tg.create_task(pool.run(wanted, LiveClock(), executor), name="presign")

    def _fair_value(self, now: int) -> EventFairValue:
        """The event's fair values, recomputed on every index or volatility change, on a new
        market set, and at least every `_FAIR_MAX_AGE_NS` of market time; a wake-up for a
        book, fill or answer alone reuses them (the pricer reads no book)."""
        level = self.state.index_level
        assert level is not None
        key = (
            self.event_ticker,
            id(self.event_markets),
            len(self.event_markets),
            level,
            self._vix(),
        )
        if (
            self.fair is not None
            and key == self._fair_key
            and 0 <= now - self._fair_ns < _FAIR_MAX_AGE_NS
        ):
            return self.fair
        self._fair_key, self._fair_ns = key, now
        fair: EventFairValue = self._model.fair_value(
            self.event_ticker, self.event_markets, now, level, key[4]
        )
        return fair

    _fair_key: tuple[object, ...] = ()
    _fair_ns = 0

    def _vix(self) -> float:
        v = self.state.vols.get("VIX")
        if v is not None:
            return v[1]
        if self._sim_vol:
            return self._sim_vol * 100
        return sim_vix(self.sim) or self.s.pricing.vix

    async def _dashboard_loop(self) -> None:
        from rich.console import Console
        from rich.live import Live

        from pmbot.dashboard import render

        # drawn on the loop itself, twice a second: a frame costs ~7 ms of CPU, and rich's own
        # refresh thread would take the GIL from the quote loop at random moments instead
        console = Console(stderr=False)
        try:
            with Live(console=console, auto_refresh=False, transient=False) as live:
                while True:
                    live.update(render(dashboard_view(self)), refresh=True)
                    await asyncio.sleep(_DASHBOARD_PERIOD_S)
        except (BrokenPipeError, SystemExit):
            # stdout's reader is gone (`pmbot run | tee` and Ctrl-C): rich raises SystemExit,
            # which a task passes straight out of the event loop: no shutdown, no cancel-all
            log.warning("dashboard: stdout closed, no more frames")

    def _final_frame(self) -> None:
        """One last frame after the stop: the one left on screen was drawn before the
        cancel-all and still listed every order and the P&L of that moment."""
        from rich.console import Console

        from pmbot.dashboard import render

        with contextlib.suppress(BrokenPipeError, SystemExit, OSError):
            Console(stderr=False).print(render(dashboard_view(self)))

    # ---- run ------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        t0 = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            self._install_signals(stack)
            rest_url, ws_url, signer = await self._start_exchange(stack)
            venue = self.venue = KalshiVenue(
                resolve_urls("sim" if self.sim is not None else "custom", rest_url, ws_url),
                signer,
                self.sink,
                clock=self.clock,
                transport_clock=LiveClock(),
                # a quote is only good while fresh: a create refused (429) or lost (5xx) is
                # not sent again after this; the order manager and the strategy take over
                http_opts={
                    "create_max_age_s": _CREATE_MAX_AGE_S,
                    "order_lane": self.s.kalshi.order_lane,
                },
                yield_to=self._decision_overdue,
                # no frame and no ping this long: reconnect, every book stale until resynced
                silence_timeout_s=self.s.risk.book_stale_s,
            )
            stack.push_async_callback(venue.aclose)
            await venue.start()
            lpath = self._ledger_path()
            Path(lpath).parent.mkdir(parents=True, exist_ok=True)
            self.ledger = Ledger(lpath).open(exclusive=True)
            stack.callback(self.ledger.close)
            rec = self.ledger.recover(self.state)
            self.acct.load_marks(self.ledger)
            log.info(
                "ledger %s",
                kv(path=self.ledger.path if hasattr(self.ledger, "path") else "", recovered=rec),
            )
            port: Any = KalshiPort(venue)
            if self.metrics is not None:
                port = self.metrics.wrap_port(port)
            om = self.om = OrderManager(
                port,
                self.state,
                self.ledger,
                self.clock,
                config=OrderManagerConfig(
                    reconcile_interval_s=self.s.bot.reconcile_interval_s,
                    cancel_all_timeout_s=self.s.bot.shutdown_timeout_s,
                    order_group_limit=int(self.s.risk.order_group_contracts * 100),
                ),
                on_risk=self._on_risk,
                on_paused=self._on_paused,
            )
            self._model = fair_model(self.s, self.clock.now_ns(), self.sim or self._sim_vol)
            on_sim = self.s.kalshi.env == "sim"
            sim_base = rest_url.split("/trade-api")[0] if on_sim else None
            feed = build_feed(self.s.feed, self.clock, sim_base_url=sim_base)
            for obs in (self.metrics, self.recorder):
                if obs is not None:
                    await obs.attach(self)
                    stack.push_async_callback(obs.aclose)

            async def start(tg: asyncio.TaskGroup) -> None:
                self._tg = tg
                tg.create_task(venue.run(), name="venue-ws")
                tg.create_task(feed.run(self.sink), name="feed")
                try:
                    async with asyncio.timeout(30):
                        await self._index_seen.wait()
                except TimeoutError:
                    raise VenueUnavailable("no index level from the feed within 30 s") from None
                self.all_markets = await self._load_markets()
                await venue.subscribe_private()
                await self._select()
                rep = await om.start()
                log.info("reconciled %s", kv(ok=rep.ok, summary=rep.summary()))
                if not self._venue_trades():  # started inside a pause: nothing will be refused
                    log.warning("venue not trading at start: quoting waits until it resumes")
                    self._watch_pause()
                self._gc.start(time.monotonic())  # collections between decisions only
                stack.callback(self._gc.stop)
                if signer is not None and self.s.kalshi.presign:
                    executor = ThreadPoolExecutor(
                        1, thread_name_prefix="presign", initializer=_background_thread
                    )
                    stack.callback(executor.shutdown, wait=False, cancel_futures=True)
                    self._start_presign(tg, port, signer, executor)
                tg.create_task(self._quote_loop(), name="quote")
                tg.create_task(om.run_periodic(), name="reconcile")
                if self.opts.dashboard:
                    tg.create_task(self._dashboard_loop(), name="dashboard")

            await self._supervise(start)
            self.result.summary = await self.acct.summary(self, time.monotonic() - t0)
            if self.opts.dashboard:
                self._final_frame()
        if self.opts.summary_json:
            import json

            Path(self.opts.summary_json).write_text(json.dumps(self.result.summary, indent=2))
        return self.result


def _background_thread() -> None:
    """Lower this thread's CPU priority (Linux: per thread), so the scheduler prefers the
    event loop's thread when both want a core; elsewhere, nothing."""
    import os
    import threading

    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _sim_start_ns(start: str | None) -> int | None:
    """The simulated start: configured, or now if the NYSE session is open, else the next open."""
    if start:
        return int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1e9)
    from pmbot.sim.index import is_trading_day, session_bounds_ns

    now = time.time_ns()
    d = datetime.now(UTC).date()
    from datetime import timedelta

    for i in range(10):
        day = d + timedelta(days=i)
        if not is_trading_day(day):
            continue
        o, c = session_bounds_ns(day)
        if now < c - 3_600_000_000_000:
            return max(now, o + 300_000_000_000) if now >= o else o + 300_000_000_000
    return None


__all__ += ["market_label"]
