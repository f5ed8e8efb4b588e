"""The app's glue: settings -> strategy/risk objects, state -> strategy inputs, accounting.

Kept apart from app.py so the composition root stays a readable sequence of steps. Nothing
here does I/O except `Accounting.summary`, which asks the venue for its own view.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from pmbot.core.book import BinaryBook
from pmbot.core.events import Fill
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec, StrikeType
from pmbot.core.money import ONE, Micros, Qty, fmt_count, fmt_money
from pmbot.core.orders import Side
from pmbot.core.positions import Position
from pmbot.core.state import TradingState
from pmbot.dashboard import DashboardView, MarketRow
from pmbot.pricing.calendar import TradingCalendar
from pmbot.pricing.ladder import Shape
from pmbot.pricing.model import FairValueModel
from pmbot.risk.gate import RiskGate
from pmbot.risk.guards import GuardParams
from pmbot.risk.kill_switch import KillSwitch
from pmbot.risk.limits import RiskLimits
from pmbot.settings import Settings
from pmbot.strategy.baseline import BaselineStrategy
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inputs import QuoteInputs, RestingOrder
from pmbot.strategy.inventory import cash_cost
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker

if TYPE_CHECKING:
    from pmbot.app import BotApp

__all__ = [
    "Accounting",
    "IdleGC",
    "LoopStats",
    "build_engine",
    "build_inputs",
    "dashboard_view",
    "fair_model",
    "guard_params",
    "market_label",
]

S = 1_000_000_000


def _usd(x: float) -> Micros:
    return round(x * 1_000_000)


def quote_params(s: Settings) -> QuoteParams:
    st = s.strategy
    return QuoteParams(
        risk_aversion=st.risk_aversion,
        edge=round(st.edge_cents * 100),
        adverse_selection=round(st.adverse_selection_cents * 100),
        min_spread_ticks=st.min_spread_ticks,
        size=round(st.quote_size * 100),
        no_quote_band=st.no_quote_band,
        price_tolerance_ticks=st.requote_tolerance_ticks,
        min_rest_ns=round(st.min_rest_s * S),
        debounce_ns=round(st.debounce_s * S),
        fill_pause_ns=round(st.fill_pause_s * S),
    )


def risk_limits(s: Settings) -> RiskLimits:
    r = s.risk
    return RiskLimits(
        max_position=round(r.max_position_per_market * 100),
        max_event_loss=_usd(r.max_event_loss),
        max_event_cost=_usd(r.max_event_cost),
        max_account_exposure=_usd(r.max_total_exposure),
        max_daily_loss=_usd(r.max_daily_loss),
        amends_in_place=s.bot.venue != "polymarket",  # Kalshi amends the total in place
    )


def guard_params(s: Settings) -> GuardParams:
    r = s.risk
    return GuardParams(
        index_stale_ns=round(r.index_stale_s * S),
        book_stale_ns=round(r.book_stale_s * S),
        max_divergence=r.max_divergence,
        reduce_before_reference_ns=round(r.reduce_before_close_s * S),
        pull_before_reference_ns=round(r.pull_before_close_s * S),
    )


def build_engine(
    s: Settings, kill_switch: KillSwitch | None = None, *, guards: GuardParams | None = None
) -> tuple[QuoteEngine, RiskGate]:
    """The configured strategy behind the risk gate (the baseline too: nothing bypasses it).

    `guards` overrides the guard thresholds (Polymarket has no index feed to go stale)."""
    limits = risk_limits(s)
    params = quote_params(s)
    strategy = (
        BaselineStrategy(params) if s.strategy.kind == "baseline" else MarketMaker(params, limits)
    )
    gate = RiskGate(limits, guards or guard_params(s), kill_switch or KillSwitch())
    return QuoteEngine(strategy, gate), gate


def _shape(name: str) -> Shape:
    return Shape.normal() if name == "normal" else Shape.student_t(float(name[1:]))


def fair_model(s: Settings, now_ns: int, sim: Any | None) -> FairValueModel:
    """VIX x k on the NYSE calendar; on the embedded simulator its true vol with k = 1."""
    d = datetime.fromtimestamp(now_ns / S, tz=UTC).date()
    # a year ahead (~0.3 s to build): a run of 20 days outlived the old table and pricing
    # raised "past the calendar's last session" from then on
    cal = TradingCalendar.nyse(str(d - timedelta(days=10)), str(d + timedelta(days=366)))
    k = s.pricing.k
    if sim is not None and s.kalshi.env == "sim":
        k = 1.0  # the simulator's synthetic index has no volatility risk premium
    return FairValueModel(
        cal,
        k=k,
        shape=_shape(s.pricing.shape),
        prior_strength=0.5 if s.pricing.realised_blend else None,
    )


class IdleGC:
    """The cyclic garbage collector, run between decisions instead of inside them.

    CPython collects when allocations pass a threshold, i.e. in the middle of whatever
    allocates most: the quote loop's decisions. Measured on the tick-to-order benchmark: a
    young collection ~70 us, a middle one ~0.7-1.2 ms, a full one ~45 ms. With automatic
    collection off, `maybe()` (called by the quote loop after a decision's calls went out,
    before it waits for the next event) does the same collections on the same schedule
    (generation 0 past `threshold0` allocations, every 10th one also generation 1) and a
    full one every `full_every_s` of wall time. Memory is freed by reference counting as
    before; only reference cycles wait for these.
    """

    def __init__(self, threshold0: int = 700, full_every_s: float = 300.0) -> None:
        self.threshold0, self.full_every_s = threshold0, full_every_s
        self.young = 0
        self.collections = [0, 0, 0]
        self._was_enabled = False
        self._next_full = 0.0

    def start(self, now_s: float) -> None:
        self._was_enabled = gc.isenabled()
        gc.freeze()  # start-up objects never need collecting
        gc.disable()
        self._next_full = now_s + self.full_every_s

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()

    def maybe(self, now_s: float, busy: bool = False) -> None:
        """Collect what is due. `busy`: an event already waits for a decision, so only a
        backlog ten times the threshold (or a full collection a minute overdue) goes first."""
        if busy and (gc.get_count()[0] < 10 * self.threshold0 and now_s < self._next_full + 60.0):
            return
        if now_s >= self._next_full:
            self._next_full = now_s + self.full_every_s
            gc.collect(2)
            self.collections[2] += 1
        elif gc.get_count()[0] >= self.threshold0:
            self.young += 1
            gen = 1 if self.young % 10 == 0 else 0
            gc.collect(gen)
            self.collections[gen] += 1


class LoopStats:
    """How long the quote loop's decisions take (wake-up -> desired quotes), recent window."""

    def __init__(self, window: int = 4096) -> None:
        self.count = 0
        self.recent: deque[int] = deque(maxlen=window)

    def decide(self, ns: int) -> None:
        self.count += 1
        self.recent.append(ns)

    def percentile_us(self, q: float) -> float | None:
        if not self.recent:
            return None
        xs = sorted(self.recent)
        return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))] / 1e3


def sim_vix(sim: Any) -> float | None:
    cfg = getattr(sim, "config", None)
    return None if cfg is None else float(cfg.index_vol) * 100


class _EventView(NamedTuple):
    """What the strategy's inputs take from the selection alone (remade when it changes)."""

    selection: tuple[list[MarketSpec], list[MarketSpec], str]  # the app's own objects
    markets: tuple[MarketSpec, ...]
    tickers: frozenset[str]
    quotable: frozenset[str]
    reference_ts_ns: int


def _event_view(app: BotApp) -> _EventView:
    """The selection's part of the inputs, kept on the app while its selection lists are the
    same objects (the selection assigns new lists, never edits them; the view holds the
    old ones, so their identity cannot be reused)."""
    v: _EventView | None = getattr(app, "inputs_view", None)
    if (
        v is not None
        and v.selection[0] is app.event_markets
        and v.selection[1] is app.quotable
        and v.selection[2] == app.event_ticker
    ):
        return v
    markets = tuple(app.event_markets)
    v = _EventView(
        (app.event_markets, app.quotable, app.event_ticker),
        markets,
        frozenset(m.ticker for m in markets),
        frozenset(m.ticker for m in app.quotable),
        max(m.close_ts_ns for m in markets),
    )
    with contextlib.suppress(AttributeError):  # a one-off view object: nothing to keep
        app.inputs_view = v  # type: ignore[attr-defined]
    return v


_TRADING = frozenset(("active", "open", "activated"))  # market statuses that trade


def build_inputs(app: BotApp, now: int) -> QuoteInputs:
    st: TradingState = app.state
    view = _event_view(app)
    tickers = view.tickers
    resting: dict[str, list[RestingOrder]] = {}
    for o in st.live_orders():
        if o.ticker in tickers:
            price, rest, am = o.price, o.remaining, o.amending
            if am is not None:
                # an amend in flight: the venue rests either the old order or the new one
                # (its group is frozen, so this decision cannot change it): the worse of both
                price = max(price, am[0]) if o.side is Side.BID else min(price, am[0])
                rest = max(rest, am[1])
            resting.setdefault(o.ticker, []).append(
                RestingOrder(
                    o.side.value,
                    price,
                    rest,
                    o.updated_ns or o.created_ns,
                    o.order_id or "",
                )
            )
    # one pass over the event's markets: books, their freshness, status and our positions
    positions: dict[str, int] = {}
    event_cost = event_capital = 0
    fresh, books, statuses, held = st.book_fresh, st.books, st.market_status, st.positions
    # fills the venue reported whose events are late: counted as held (rarely any)
    owed = _with_owed_fills(st) if st.owing else None
    shown: dict[str, BinaryBook | None] = {}
    book_ts: dict[str, int] = {}
    resyncing: list[str] = []
    inactive: list[str] = []
    for t in tickers:
        if fresh.get(t):
            shown[t] = books.get(t)
            # the stream marks a book stale at once on a gap, a disconnect or `book_stale_s`
            # of silence (venue setting), so a fresh book is current now
            book_ts[t] = now
        else:
            shown[t] = None
            if t in books:
                resyncing.append(t)
        ms = statuses.get(t)
        if ms is not None and ms.status not in _TRADING:
            inactive.append(t)
        p = held.get(t) if owed is None else owed.get(t, held.get(t))
        if p is not None:
            positions[t] = p.qty
            event_cost += cash_cost(p.qty, p.cost - p.realized + p.fees)
            event_capital += cash_cost(p.qty, p.cost)
    exposure = sum(cash_cost(p.qty, p.cost) for p in st.held_positions().values())
    if owed is not None:
        for t, p in owed.items():
            q = st.positions.get(t)  # in `held_positions` (the sum above) when not flat
            was = cash_cost(q.qty, q.cost) if q is not None and q.qty else 0
            exposure += cash_cost(p.qty, p.cost) - was
    return QuoteInputs(
        ts_ns=now,
        event_ticker=app.event_ticker,
        markets=view.markets,
        fair=app.fair,
        books=shown,
        positions=positions,
        resting={t: tuple(v) for t, v in resting.items()},
        book_ts_ns=book_ts,
        resyncing=frozenset(resyncing),
        # the feed's own watchdog (our clock, `feed.stale_after_s`) halts too: the tick's
        # timestamp is its source's, on another clock
        index_ts_ns=(
            st.index_ts_ns
            if st.index_level is not None and not any(st.feed_stale.values())
            else None
        ),
        trading_active=st.trading_active and st.exchange_active,
        reference_ts_ns=view.reference_ts_ns,
        event_cost=event_cost,
        event_capital=event_capital,
        account_exposure=exposure,
        daily_pnl=app.acct.daily_pnl(st, app.fair, now, getattr(app, "ledger", None)),
        last_fill_ns=app.acct.last_fill_ns,
        quotable=view.quotable,
        inactive=frozenset(inactive),
    )


def _with_owed_fills(st: TradingState) -> dict[str, Position]:
    """The positions of the markets where the venue reported fills whose events have not
    arrived (an order update or a call's answer came first: the two are not sequenced), as
    they will be once they do: at the order's price, with no fee. Without them a filled
    order looks gone (or smaller) while the position has not moved, and the gate hands out
    its room again."""
    out: dict[str, Position] = {}
    for o in st.owing.values():
        n = o.owed
        if n <= 0:
            continue
        p = out.get(o.ticker)
        if p is None:
            q = st.positions.get(o.ticker)
            p = out[o.ticker] = Position(o.ticker) if q is None else dataclasses.replace(q)
        p.apply_fill(o.side.sign, o.price, n, 0)
    return out


def _trunc2(x: float | None) -> float:
    return math.floor((x or 0.0) * 100 + 1e-9) / 100


def market_label(m: MarketSpec) -> str:
    """The YES interval as a trader reads it ("7,775-7,799.99"), never rounded up."""
    if m.strike_type is StrikeType.BETWEEN:
        return f"{m.floor_strike:,.0f}-{_trunc2(m.cap_strike):,.2f}"
    if m.strike_type in (StrikeType.GREATER, StrikeType.GREATER_OR_EQUAL):
        return (
            f">{'=' if m.strike_type is StrikeType.GREATER_OR_EQUAL else ''} {m.floor_strike:,.2f}"
        )
    return f"<{'=' if m.strike_type is StrikeType.LESS_OR_EQUAL else ''} {m.cap_strike:,.2f}"


_ET = ZoneInfo("America/New_York")
_DAY_START = "day_start_pnl"  # ledger meta: "YYYY-MM-DD:<net P&L micros>"
_MARKS = "position_marks"  # ledger meta: JSON {ticker: last fair value} of open positions
_MARKS_EVERY_NS = 5 * S


@dataclass
class Accounting:
    """PnL split: spread capture (edge vs fair at each fill), inventory (the rest), fees."""

    spread_capture: Micros = 0
    last_fill_ns: dict[tuple[str, str], int] = field(default_factory=dict)
    fills: int = 0
    volume: Qty = 0
    fair_at_end: dict[str, float] = field(default_factory=dict)
    balance_start: Micros | None = None

    _seen: int = 0
    _marks: tuple[int, str] = (0, "")  # (when saved, what) — see save_marks
    _capture: dict[tuple[str, str], Micros] = field(default_factory=dict)  # per fill
    _day: tuple[str, Micros, int] = ("", 0, -1)  # (ET date, net P&L as it began, its end ns)

    def sync(self, st: TradingState, fair: EventFairValue | None) -> None:
        """Account for fills TradingState gained since the last call (stream or REST backfill)."""
        new = st.fills[self._seen :]
        self._seen = len(st.fills)
        for f in new:
            self.fills += 1
            self.volume += f.qty
            self.last_fill_ns[(f.ticker, f.side.value)] = f.ts_ns
            p = None if fair is None else fair.fair.get(f.ticker)
            if p is None:
                p = self.fair_at_end.get(f.ticker)
            if p is not None and math.isfinite(p):
                c = f.side.sign * round(p * ONE - f.price) * f.qty
                self.spread_capture += c
                self._capture[(f.trade_id, f.order_id)] = c

    def void(self, f: Fill, index: int) -> None:
        """`f` was removed from TradingState.fills at `index` (a Polymarket FAILED trade):
        take it back out if it was counted, and keep the `sync` cursor on the same fills."""
        if index >= self._seen:
            return  # never counted
        self._seen -= 1
        self.fills -= 1
        self.volume -= f.qty
        self.spread_capture -= self._capture.pop((f.trade_id, f.order_id), 0)

    def mark(self, st: TradingState, fair: EventFairValue | None) -> None:
        if fair is not None:
            self.fair_at_end.update(fair.fair)

    def save_marks(self, st: TradingState, ledger: Any, now_ns: int) -> None:
        """Keep the last fair value of every open position in the ledger (at most every 5 s,
        and only when it changed), so a restart marks positions of an event it no longer
        prices (rolled away, awaiting settlement) as before, not at cost: the day's P&L, and
        the daily loss limit reading it, must not jump across a restart."""
        at, saved = self._marks
        if ledger is None or now_ns - at < _MARKS_EVERY_NS:
            return
        last = self.fair_at_end
        marks = {t: last[t] for t in st.held_positions() if t in last}
        raw = json.dumps(marks, sort_keys=True)
        if raw != saved:
            ledger.set_meta(_MARKS, raw)
        self._marks = (now_ns, raw)

    def load_marks(self, ledger: Any) -> int:
        """Seed the marks of open positions from the ledger (after `recover`); returns how
        many. Values that are not probabilities are ignored."""
        raw = ledger.get_meta(_MARKS)
        try:
            marks = json.loads(raw) if raw else {}
        except ValueError:
            return 0
        n = 0
        for t, v in marks.items() if isinstance(marks, dict) else ():
            if isinstance(v, float | int) and 0.0 <= v <= 1.0 and t not in self.fair_at_end:
                self.fair_at_end[t] = float(v)
                n += 1
        return n

    def mtm(self, st: TradingState, fair: EventFairValue | None) -> Micros:
        """Realised plus open positions marked at fair value (before fees)."""
        now = fair.fair if fair is not None else {}
        last = self.fair_at_end  # every fair value seen this run (no copy: it only grows)
        total = st.realized_pnl()
        for t, p in st.held_positions().items():
            f = now.get(t)
            if f is None:
                f = last.get(t)
            total += p.mark(round(f * ONE)) if f is not None else 0
        return total

    def net_pnl(self, st: TradingState, fair: EventFairValue | None) -> Micros:
        return self.mtm(st, fair) - st.fees_paid()

    def daily_pnl(
        self, st: TradingState, fair: EventFairValue | None, now_ns: int, ledger: Any = None
    ) -> Micros:
        """P&L since the trading day (ET date) began: the net P&L less what it was when the
        bot first saw this day. The ledger's positions hold every earlier day too; the day's
        start is kept in the ledger's meta, so a restart within the day does not reset it."""
        net = self.net_pnl(st, fair)
        day, base, end = self._day
        if now_ns >= end or now_ns < end - 86_400 * S:
            d = datetime.fromtimestamp(now_ns / S, tz=_ET).date()
            day = d.isoformat()
            end = (
                int(datetime.combine(d + timedelta(days=1), datetime.min.time(), _ET).timestamp())
                * S
            )
            stored = None if ledger is None else ledger.get_meta(_DAY_START)
            if stored is not None and stored.split(":")[0] == day:
                base = int(stored.split(":")[1])
            else:
                base = net
                if ledger is not None:
                    ledger.set_meta(_DAY_START, f"{day}:{base}")
            self._day = (day, base, end)
        return net - base

    def split(self, st: TradingState, fair: EventFairValue | None) -> dict[str, Micros]:
        mtm = self.mtm(st, fair)
        fees = st.fees_paid()
        return {
            "spread": self.spread_capture,
            "inventory": mtm - self.spread_capture,
            "fees": -fees,
            "total": mtm - fees,
        }

    async def summary(self, app: BotApp, wall_s: float) -> dict[str, Any]:
        st = app.state
        self.sync(st, app.fair)
        split = self.split(st, app.fair)
        positions = {t: fmt_count(p.qty) for t, p in sorted(st.positions.items()) if p.qty}
        cash_paid = (
            sum(cash_cost(p.qty, p.cost - p.realized) for p in st.positions.values())
            + st.fees_paid()
        )
        out: dict[str, Any] = {
            "venue": "kalshi",
            "event": app.event_ticker,
            "stop_reason": app._stop_reason,
            "clean_shutdown": app.result.clean_shutdown,
            "wall_seconds": round(wall_s, 2),
            "fills": self.fills,
            "volume": fmt_count(self.volume),
            "pnl": {k: fmt_money(v) for k, v in split.items()},
            "realized": fmt_money(st.realized_pnl()),
            "fees": fmt_money(st.fees_paid()),
            "cash_paid": fmt_money(cash_paid),
            "positions": positions,
            "orders": dict(app.om.stats.writes) if app.om else {},
            # ours still live after the stop (the cancel-all is verified with the venue)
            "open_orders_after_shutdown": len(st.live_orders()),
            "ledger": getattr(getattr(app, "ledger", None), "path", None),
        }
        if app.om is not None:
            try:
                port = app.om.venue
                vpos = {p.ticker: fmt_count(p.qty) for p in await port.get_positions() if p.qty}
                vfills = await port.get_fills()
                out["venue_view"] = {
                    "positions": vpos,
                    "fills": len(vfills),
                    "balance": fmt_money(await port.get_balance()),
                }
            except Exception as e:  # the summary must still be written
                out["venue_view"] = {"error": str(e)}
        return out


def dashboard_view(app: BotApp) -> DashboardView:
    st = app.state
    now = app.clock.now_ns()
    rows = []
    live = st.live_orders()
    for m in app.quotable:
        b = st.books.get(m.ticker)
        ours_b = [
            (o.price, o.remaining) for o in live if o.ticker == m.ticker and o.side.value == "bid"
        ]
        ours_a = [
            (o.price, o.remaining) for o in live if o.ticker == m.ticker and o.side.value == "ask"
        ]
        rows.append(
            MarketRow(
                m.ticker,
                market_label(m),
                None if app.fair is None else app.fair.fair.get(m.ticker),
                None if b is None else b.yes_bid_price(),
                None if b is None else b.yes_ask_price(),
                max(ours_b) if ours_b else None,
                min(ours_a) if ours_a else None,
                st.position(m.ticker),
            )
        )
    d = app.decision
    quotable = {m.ticker for m in app.quotable}
    vix = st.vols.get("VIX")
    http = app.venue.http if app.venue is not None else None
    budget = ""
    if http is not None:
        # refilled to now, as metrics.py reads it (`level` is as of the last call)
        wb = http.write_bucket
        level = min(wb.capacity, wb.level + max(0.0, http.clock.monotonic() - wb.t) * wb.rate)
        budget = f"write {level:.0f}/{wb.capacity:.0f}"
    return DashboardView(
        now_ns=now,
        venue=f"kalshi-{app.s.kalshi.env}",
        event_ticker=app.event_ticker,
        index_level=st.index_level,
        index_age_s=None if st.index_level is None else (now - st.index_ts_ns) / S,
        vol_label=f"VIX {vix[1]:.1f}" if vix else f"vol {app._vix():.1f}",
        risk_state=d.risk.state.name if d is not None else "STARTING",
        risk_reason=d.risk.reason if d is not None else "",
        guards=[
            f"{t.rsplit('-', 1)[-1]}:{r}"
            for t, (stt, r) in (d.risk.market_states.items() if d else [])
            if stt.name != "ACTIVE" and t in quotable
        ][:6],
        connections={k: v for k, v in st.connections.items()},
        api_budget=budget,
        rows=rows,
        pnl=app.acct.split(st, app.fair),
        fills=app.acct.fills,
        volume=app.acct.volume,
        orders_live=len(live),
    )
