"""Event-driven backtest: replay a tape through the live strategy, risk gate and planner.

Time is a `ManualClock` set to each event's time; nothing opens a socket or reads the wall
clock, and the only randomness (sampled latencies) comes from `random.Random(seed)`, so the
same tape, quoter and config give byte-identical results.

Ordering. Tape rows run in (ts, kind) order; internal events (our orders reaching the
exchange, acknowledgements, strategy wake-ups, markout marks, settlements) sit in a heap
and run strictly before a tape row only when earlier: at equal times the market moves first.

Latency. Anything that should wake the strategy (an index print, a change of the best
levels of one of its books, one of our fills, the strategy's own wake-up time) schedules a
decision at that time, after every tape row of the same time, coalesced to at most one per
`requote_min_ns` per event. A decision at t uses the state at t, which the live bot would
have seen `md_latency` later: its actions leave at t + md_latency and reach the exchange
`entry_latency` after that (FIFO: an action never overtakes an earlier one); the
acknowledgement comes back one more entry delay later, and until then the planner
(`execution.planner`) treats the order as in flight. (For a fill-triggered decision this is
optimistic by one md_latency: the fill itself reaches the bot md_latency late.)
Our fills update positions at once (the private fill feed is assumed no slower than the
book feed).

Fills. `matching.Shadow` keeps our orders in the pure matching engine behind the recorded
crowd (its docstring spells the queue model out). Fees: `MarketSpec.fees` (Kalshi formula,
maker or taker per fill). Settlement at each event's reference time: the tape's recorded
settlement value or else the last index print at or before it; YES pays $1 per contract.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmbot.backtest.fair import FairModel
from pmbot.backtest.journal import Journal
from pmbot.backtest.latency import latency_from_config
from pmbot.backtest.matching import NO_ASK, OurFill, Shadow
from pmbot.backtest.orderflow import ACK, ARRIVE, WAKE, OrderFlow
from pmbot.backtest.quoting import LiveQuote, Quoter
from pmbot.backtest.tape import CLEAR, DELTA, INDEX, TRADE, Tape
from pmbot.clock import ManualClock
from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.money import ONE
from pmbot.core.orders import LiveOrder, OrderStatus
from pmbot.core.positions import Position
from pmbot.errors import BookError
from pmbot.execution.planner import PlannerConfig

__all__ = ["RunConfig", "Runner", "run"]

_S = 1_000_000_000
MARK, SETTLE = 3, 4


@dataclass(frozen=True)
class RunConfig:
    entry_latency: Any = 25.0  # ms, or {"rtts_ms": [...]} / {"rtt_file": path}
    md_latency: Any = 10.0
    cancel_model: str = "prorata"
    requote_min_ns: int = 100_000_000
    requote_on_book: bool = True
    sample_ns: int = 10 * _S
    horizons_s: tuple[int, ...] = (1, 10, 60, 300)
    vol: float = 0.16  # the index's annualised vol: VIX = 100 * vol, k = 1 (unless vix is set)
    vix: float | None = None
    k: float | None = None
    shape: str = "t6"
    realised_blend: bool = True
    # market selection as `pmbot run` does it (strategy.selection.select_markets, redone every
    # 30 s): quote only markets within `select_band` points of the index, at most `select_max`
    select_band: float | None = None
    select_max: int = 12
    # quote only inside [quote_start_ns, quote_stop_ns): before, no decisions; from the stop
    # on, the desired set is empty (everything is cancelled), as a bot that starts late or
    # shuts down early would do
    quote_start_ns: int | None = None
    quote_stop_ns: int | None = None
    # the strategy sees the books with our own resting orders in them, as the live venue
    # shows them (the queue model never does: recorded books are the market without us)
    own_in_books: bool = True
    # the venue's write rate limit: (tokens refilled per second, bucket capacity) in
    # simulated time, and each write's cost; None: unlimited. Kalshi basic tier: (100, 100),
    # a create costs 10 per order in a batch, a batched cancel 2 per order. Calls wait for
    # their tokens (the live client paces itself) and batches fit the bucket, as
    # `venues.kalshi.port` sizes them.
    rate_limit: tuple[float, float] | None = None
    write_costs: dict[str, int] = field(
        default_factory=lambda: {"create": 10, "cancel": 2, "amend": 10, "decrease": 10}
    )
    seed: int = 0
    amend_reprice: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Runner(OrderFlow):
    def __init__(self, tape: Tape, quoter: Quoter, cfg: RunConfig | None = None,
                 fair: FairModel | None = None) -> None:  # fmt: skip
        self.tape, self.quoter = tape, quoter
        self.cfg = cfg = cfg or RunConfig()
        self.rng = random.Random(cfg.seed)
        self.entry = latency_from_config(cfg.entry_latency, self.rng)
        self.md = latency_from_config(cfg.md_latency, self.rng)
        mk = tape.markets
        self.books = [BinaryBook(m.grid, m.ticker) for m in mk]
        self.shadow = Shadow(mk, self.books, cfg.cancel_model)
        self.pos = [Position(m.ticker) for m in mk]
        self.clock = ManualClock(int(tape.ts[0]) if len(tape) else 0)
        t0 = int(tape.ts[0]) if len(tape) else 0
        t1 = int(tape.ts[-1]) if len(tape) else 0
        self.fairm = fair or FairModel(mk, cfg.vol, cfg.shape, t0, t1, vix=cfg.vix, k=cfg.k,
                                       realised_blend=cfg.realised_blend)  # fmt: skip
        ev = tape.events()
        self.ev_names = sorted(ev)
        self.ev_mkts = [ev[e] for e in self.ev_names]
        self.ev_of = [0] * len(mk)
        for e, ms in enumerate(self.ev_mkts):
            for m in ms:
                self.ev_of[m] = e
        self.ev_tickers = [frozenset(mk[m].ticker for m in ms) for ms in self.ev_mkts]
        self.ev_mt = [[(m, mk[m].ticker) for m in ms] for ms in self.ev_mkts]  # (mkt, ticker)
        self.ev_specs = [tuple(mk[m] for m in ms) for ms in self.ev_mkts]
        # the books mutate in place, so one mapping per event serves every decision
        self.ev_books = [{mk[m].ticker: self.books[m] for m in ms} for ms in self.ev_mkts]
        self.ref = [self.fairm.ref_ns[e] for e in self.ev_names]
        self.active = [True] * len(mk)
        self.ev_open = [True] * len(self.ev_names)
        self.ev_fair: list[EventFairValue | None] = [None] * len(self.ev_names)
        self.ev_fair_key = [-1] * len(self.ev_names)
        self.fair_now = [math.nan] * len(mk)
        self.wake_at: list[int | None] = [None] * len(self.ev_names)
        self.last_dec = [-(10**18)] * len(self.ev_names)
        self.last_fill: dict[tuple[str, str], int] = {}
        self.quotable: list[frozenset[str] | None] = [None] * len(self.ev_names)
        self.last_select = [-(10**18)] * len(self.ev_names)
        self.level: float | None = None
        self.level_ts: int | None = None
        self.n_index = 0
        self.heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self._coid = 0
        self._lq_memo: dict[tuple[Any, ...], LiveQuote] = {}
        self.orders: dict[str, LiveOrder] = {}  # client_order_id -> our view
        self.eng_of: dict[str, str] = {}  # client_order_id -> engine order id
        self.coid_of: dict[str, str] = {}  # engine order id -> client_order_id
        self.in_flight: set[str] = set()
        self.last_arrival = 0
        if cfg.rate_limit is not None:
            cap = cfg.rate_limit[1]
            self.planner_cfg = PlannerConfig(
                max(1, min(20, int(cap // cfg.write_costs["create"]))),
                max(1, min(100, int(cap // cfg.write_costs["cancel"]))),
                cfg.amend_reprice,
            )
        else:
            self.planner_cfg = PlannerConfig(amend_reprice=cfg.amend_reprice)
        self.j = Journal(tuple(m.ticker for m in mk), tuple(self.ev_names), cfg.horizons_s)
        self.next_sample = t0
        self._tokens = float(cfg.rate_limit[1]) if cfg.rate_limit else 0.0
        self._tokens_t = t0
        self.cash = 0  # Micros: - what we paid + what we received, fees excluded
        self.fees = 0
        self.j.max_abs_inventory = [0] * len(mk)
        self.abs_total = 0  # sum of |q| over markets
        self.pnl_peak: int | None = None
        # bumped whenever a position (or a market's activity) changes: fills, settlement;
        # what a decision derives from positions alone is kept until it moves
        self.pos_ver = 0
        self._held_ver = -1
        self._held: list[tuple[int, int]] = []  # (market, qty) of the nonzero positions
        self._ev_pos: list[tuple[int, dict[str, int], int, frozenset[str]] | None] = [None] * len(
            self.ev_names
        )
        self._expo: tuple[int, int] = (-1, 0)
        for e, r in enumerate(self.ref):  # settle only what the tape covers or records
            if self.ev_names[e] in tape.settlements or t1 >= r:
                self._push(r, SETTLE, e)

    # ---- scheduling -------------------------------------------------------------------------
    def _push(self, t: int, kind: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (t, self._seq, kind, payload))

    def _wake(self, e: int, t: int) -> None:
        if self.wake_at[e] is not None or not self.ev_open[e]:
            return
        w = max(t, self.last_dec[e] + self.cfg.requote_min_ns)
        self.wake_at[e] = w
        self._push(w, WAKE, e)

    # ---- main loop --------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> Journal:
        tp = self.tape
        ts_l, kind_l, mkt_l = tp.ts.tolist(), tp.kind.tolist(), tp.mkt.tolist()
        side_l, price_l, qty_l = tp.side.tolist(), tp.price.tolist(), tp.qty.tolist()
        books, shadow, active, ev_of = self.books, self.shadow, self.active, self.ev_of
        bid_lv, ask_lv, bid_max, ask_min = (
            shadow.bid_lv,
            shadow.ask_lv,
            shadow.bid_max,
            shadow.ask_min,
        )
        heap, on_book = self.heap, self.cfg.requote_on_book
        n = len(ts_l)
        step = max(1, n // 200)
        # markets whose book a snapshot replaced at `snap_t`: the shadow resyncs its levels
        # once every row of that time is in (the snapshot's own levels follow its CLEAR as
        # DELTA rows), so an unchanged level keeps our queue place, a smaller one goes through
        # the cancel model and a larger one queues behind us
        snap: list[int] = []
        snap_t = -1
        for i in range(n):
            t = ts_l[i]
            if snap and t != snap_t:
                self._resync(snap_t, snap)
            while heap and heap[0][0] < t:
                self._internal(heapq.heappop(heap))
            k = kind_l[i]
            if k == DELTA:
                m = mkt_l[i]
                if not active[m]:
                    continue
                b = books[m]
                by, bn = b._by, b._bn
                is_yes, p, d = side_l[i], price_l[i], qty_l[i]
                try:
                    b.apply_delta(is_yes == 1, p, d)
                except BookError:
                    continue  # an inconsistent recorded delta: the next snapshot repairs it
                if is_yes:
                    hit = p in bid_lv[m] or (d > 0 and p >= ask_min[m])
                else:
                    yp = ONE - p
                    hit = yp in ask_lv[m] or (d > 0 and yp <= bid_max[m])
                if hit and not (snap and m in snap):
                    f = shadow.on_delta(t, m, is_yes == 1, p, d)
                    if f:
                        self._fills(t, f)
                if on_book and (b._by != by or b._bn != bn):
                    self._wake(ev_of[m], t)
            elif k == TRADE:
                m = mkt_l[i]
                if not active[m]:
                    continue
                p = price_l[i]
                if side_l[i]:
                    if ask_min[m] <= p:
                        f = shadow.on_trade(t, m, True, p, qty_l[i])
                        if f:
                            self._fills(t, f)
                elif bid_max[m] >= p:
                    f = shadow.on_trade(t, m, False, p, qty_l[i])
                    if f:
                        self._fills(t, f)
            elif k == INDEX:
                self.level = lv = qty_l[i] / 10_000
                self.level_ts = t
                self.fairm.on_index(t, lv)
                self.n_index += 1
                if t >= self.next_sample:
                    self._sample(t)
                for e in range(len(self.ev_open)):
                    if self.ev_open[e] and t < self.ref[e]:
                        self._wake(e, t)
            elif k == CLEAR:
                m = mkt_l[i]
                books[m].clear()
                if snap_t != t:
                    snap.clear()
                    snap_t = t
                if m not in snap:
                    snap.append(m)
            if progress is not None and i % step == 0:
                progress(i, n)
        if snap:
            self._resync(snap_t, snap)
        while heap:
            self._internal(heapq.heappop(heap))
        self.j.events_processed = n
        self.j.final_cash, self.j.final_fees = self.cash, self.fees
        self._sample(self.clock.now_ns(), final=True)
        if progress is not None:
            progress(n, n)
        return self.j

    def _resync(self, t: int, markets: list[int]) -> None:
        """The snapshots of time t are complete: our queues meet the new displayed sizes."""
        for m in markets:
            self.shadow.on_clear(t, m)
        markets.clear()

    # ---- internal events --------------------------------------------------------------------
    def _internal(self, item: tuple[int, int, int, Any]) -> None:
        t, _, kind, x = item
        self.clock.set(max(t, self.clock.now_ns()))
        if kind == WAKE:
            self.wake_at[x] = None
            self._decide(x, t)
        elif kind == ARRIVE:
            self._arrive(t, x)
        elif kind == ACK:
            self._ack(x)
        elif kind == MARK:
            fi, h, m = x
            self.j.marks[fi][h] = (self._fair_mark(m, t), self._mid_mark(m))
        elif kind == SETTLE:
            self._settle(x, t)

    def _fair_of(self, e: int, t: int) -> EventFairValue | None:
        if self.level is None:
            return None
        if self.ev_fair_key[e] != self.n_index:
            f = self.fairm.fair(self.ev_names[e], t, self.level)
            self.ev_fair[e], self.ev_fair_key[e] = f, self.n_index
            fv, fair_now = f.fair, self.fair_now
            for m, tk in self.ev_mt[e]:
                fair_now[m] = fv.get(tk, math.nan)
        return self.ev_fair[e]

    def _fair_mark(self, m: int, t: int) -> float:
        if not self.active[m]:
            return self.fair_now[m]  # set to the payoff at settlement
        self._fair_of(self.ev_of[m], t)
        return self.fair_now[m]

    def _mid_mark(self, m: int) -> float:
        if not self.active[m]:
            return self.fair_now[m]
        mid = self.books[m].mid()
        return math.nan if mid is None else mid

    # ---- fills, marks, settlement -------------------------------------------------------------
    def _fills(self, t: int, fills: list[OurFill]) -> None:
        mk = self.tape.markets
        for f in fills:
            m = f.mkt
            fee = mk[m].fees.fee(f.qty, f.price, maker=not f.taker)
            q0 = self.pos[m].qty
            self.pos[m].apply_fill(f.sign, f.price, f.qty, fee)
            self.pos_ver += 1
            q1 = abs(self.pos[m].qty)
            self.abs_total += q1 - abs(q0)
            if q1 > self.j.max_abs_inventory[m]:
                self.j.max_abs_inventory[m] = q1
            if self.abs_total > self.j.max_abs_total:
                self.j.max_abs_total = self.abs_total
            self.cash -= f.sign * f.price * f.qty
            self.fees += fee
            coid = self.coid_of.get(f.order_id)
            o = self.orders.get(coid) if coid else None
            wait = 0
            if o is not None:
                o.filled += f.qty
                # the engine's order is the truth: an amend that reached the exchange but is
                # not acknowledged yet may have changed its size (our view learns it at the ack)
                eo = self.shadow.order(f.order_id)
                done = eo is None or eo.status != "resting" or eo.remaining <= 0
                o.remaining = 0 if done else eo.remaining  # type: ignore[union-attr]
                wait = t - o.created_ns
                if done and o.status is OrderStatus.RESTING:
                    self.orders.pop(coid, None)  # type: ignore[arg-type]
            fair = self._fair_mark(m, t)
            mid = self._mid_mark(m)
            self.last_fill[(mk[m].ticker, "bid" if f.sign > 0 else "ask")] = t
            self.j.fills.append((t, m, f.sign, f.price, f.qty, fee, int(f.taker), fair, mid, wait))
            fi = len(self.j.marks)
            self.j.marks.append([(math.nan, math.nan)] * len(self.cfg.horizons_s))
            for h, hs in enumerate(self.cfg.horizons_s):
                self._push(t + hs * _S, MARK, (fi, h, m))
            self._wake(self.ev_of[m], t)
        if fills:
            self._drawdown(self._pnl_fair())

    def _drawdown(self, pnl: int) -> None:
        """Fold one fair-marked PnL into the running peak and the largest fall from it."""
        peak = self.pnl_peak
        if peak is None or pnl > peak:
            self.pnl_peak = pnl
        elif peak - pnl > self.j.max_drawdown:
            self.j.max_drawdown = peak - pnl

    def _settle(self, e: int, t: int) -> None:
        name = self.ev_names[e]
        value = self.tape.settlements.get(name, self.level)
        self._fair_of(e, t)
        self.ev_open[e] = False
        mk = self.tape.markets
        for coid, o in list(self.orders.items()):
            if o.ticker in self.ev_tickers[e]:
                eid = self.eng_of.get(coid)
                if eid:
                    self.shadow.cancel(t, eid)
                self.orders.pop(coid, None)
        if value is None:
            return
        self.j.settlements.append((name, float(value), t))
        for m in self.ev_mkts[e]:
            won = mk[m].yes_wins(float(value))
            q = self.pos[m].qty
            before = self.fair_now[m]
            self.cash += q * (ONE if won else 0)
            self.abs_total -= abs(q)
            self.pos[m].settle(won)
            self.j.settled.append((m, q, before, ONE if won else 0))
            self.active[m] = False
            self.fair_now[m] = 1.0 if won else 0.0
        self.pos_ver += 1
        self._drawdown(self._pnl_fair())

    def _pnl_fair(self) -> int:
        if self._held_ver != self.pos_ver:
            self._held = [(m, p.qty) for m, p in enumerate(self.pos) if p.qty]
            self._held_ver = self.pos_ver
        v = self.cash - self.fees
        fair_now = self.fair_now
        for m, q in self._held:
            f = fair_now[m]
            v += round(q * f * ONE) if f == f else 0
        return v

    def _sample(self, t: int, final: bool = False) -> None:
        self.next_sample = t + self.cfg.sample_ns
        pf = self.cash - self.fees
        pm = pf
        inv = []
        qs = []
        for m, p in enumerate(self.pos):
            q = p.qty
            inv.append(q)
            f = self.fair_now[m]
            b = self.books[m]
            mid = b.mid()
            if q:
                pf += round(q * f * ONE) if f == f else 0
                pm += round(q * (mid if mid is not None else (f if f == f else 0.0)) * ONE)
            bb, ba = b.yes_bid_price(), b.yes_ask_price()
            ob, oa = self.shadow.bid_max[m], self.shadow.ask_min[m]
            qs.append((f, (bb or 0) / ONE if bb is not None else math.nan,
                       ba / ONE if ba is not None else math.nan,
                       ob / ONE if ob >= 0 else math.nan, oa / ONE if oa != NO_ASK else math.nan))  # fmt: skip
        self.j.samples.append((t, pf, pm, self.fees, self.cash))
        self._drawdown(pf)
        self.j.inventory.append(tuple(inv))
        self.j.quotes.append(tuple(qs))


def run(tape: Tape, quoter: Quoter, cfg: RunConfig | None = None,
        progress: Callable[[int, int], None] | None = None) -> Journal:  # fmt: skip
    return Runner(tape, quoter, cfg).run(progress)
