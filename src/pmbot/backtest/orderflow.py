"""The runner's order manager: strategy decisions, the live planner, orders in flight.

Split from `runner` (which owns the event loop, the books and the accounting): a decision
builds the strategy's view of one event exactly as `app_parts.build_inputs` does live, asks
the quoter, diffs with `execution.planner.plan`, and sends each action through the latency
model; arrivals act on the `matching.Shadow`; acknowledgements settle the planner's
in-flight state.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from pmbot.backtest.journal import Journal
from pmbot.backtest.latency import LatencyModel
from pmbot.backtest.matching import OurFill, Shadow
from pmbot.backtest.quoting import LiveQuote, Quoter, QuoteView
from pmbot.backtest.tape import Tape
from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import ONE
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.positions import Position
from pmbot.execution.planner import PlannerConfig, plan
from pmbot.strategy.inventory import cash_cost
from pmbot.strategy.selection import select_markets

if TYPE_CHECKING:
    from pmbot.backtest.runner import RunConfig

__all__ = ["ACK", "ARRIVE", "WAKE", "OrderFlow"]

_S = 1_000_000_000
WAKE, ARRIVE, ACK = 0, 1, 2


class OrderFlow:
    """Mixed into `Runner`; the attributes below are set by `Runner.__init__`."""

    cfg: RunConfig
    tape: Tape
    quoter: Quoter
    rng: random.Random
    entry: LatencyModel
    md: LatencyModel
    books: list[BinaryBook]
    shadow: Shadow
    pos: list[Position]
    active: list[bool]
    ev_open: list[bool]
    ev_names: list[str]
    ev_mkts: list[list[int]]
    ev_tickers: list[frozenset[str]]
    ev_specs: list[tuple[MarketSpec, ...]]
    ev_books: list[dict[str, BinaryBook]]
    ref: list[int]
    wake_at: list[int | None]
    last_dec: list[int]
    last_fill: dict[tuple[str, str], int]
    quotable: list[frozenset[str] | None]
    last_select: list[int]
    level: float | None
    level_ts: int | None
    heap: list[tuple[int, int, int, Any]]
    orders: dict[str, LiveOrder]
    eng_of: dict[str, str]
    coid_of: dict[str, str]
    in_flight: set[str]
    last_arrival: int
    planner_cfg: PlannerConfig
    j: Journal
    _coid: int
    _lq_memo: dict[tuple[Any, ...], LiveQuote]
    _tokens: float
    _tokens_t: int
    pos_ver: int
    _ev_pos: list[tuple[int, dict[str, int], int, frozenset[str]] | None]
    _expo: tuple[int, int]

    def _push(self, t: int, kind: int, payload: Any) -> None:
        raise NotImplementedError

    def _fair_of(self, e: int, t: int) -> EventFairValue | None:
        raise NotImplementedError

    def _pnl_fair(self) -> int:
        raise NotImplementedError

    def _fills(self, t: int, fills: list[OurFill]) -> None:
        raise NotImplementedError

    def _mi(self, ticker: str) -> int:
        return self.shadow._mi[ticker]

    def _decide(self, e: int, t: int) -> None:
        if not self.ev_open[e] or t >= self.ref[e]:
            return
        cfg = self.cfg
        if cfg.quote_start_ns is not None and t < cfg.quote_start_ns:
            return
        stopped = cfg.quote_stop_ns is not None and t >= cfg.quote_stop_ns
        self.last_dec[e] = t
        self.j.decisions += 1
        mk = self.tape.markets
        ms = self.ev_mkts[e]
        fair = self._fair_of(e, t)
        tickers = self.ev_tickers[e]
        resting: dict[str, list[LiveQuote]] = {}
        live = [o for o in self.orders.values() if o.ticker in tickers]
        memo, seen = self._lq_memo, {}  # unchanged orders share last decision's LiveQuote
        for o in live:
            k = (o.side.value, o.price, o.remaining, o.updated_ns, o.order_id or o.client_order_id)
            lq = memo.get(k)
            if lq is None:
                lq = LiveQuote(*k)  # Side.value: "bid" or "ask"
            seen[k] = lq
            rs = resting.get(o.ticker)
            if rs is None:
                resting[o.ticker] = [lq]
            else:
                rs.append(lq)
        self._lq_memo = seen
        pe = self._ev_pos[e]
        if pe is None or pe[0] != self.pos_ver:  # positions move only on fills and settlement
            pe = self._ev_pos[e] = (
                self.pos_ver,
                {mk[m].ticker: self.pos[m].qty for m in ms if self.pos[m].qty},
                self._event_cost(ms),
                sum(cash_cost(self.pos[m].qty, self.pos[m].cost) for m in ms),
                frozenset(mk[m].ticker for m in ms if not self.active[m]),
            )
        view = QuoteView(
            ts_ns=t, event_ticker=self.ev_names[e], markets=self.ev_specs[e], fair=fair,
            books=self._books_view(e), positions=pe[1],
            resting={k: tuple(v) for k, v in resting.items()}, index_ts_ns=self.level_ts,
            reference_ts_ns=self.ref[e], event_cost=pe[2], event_capital=pe[3],
            daily_pnl=self._pnl_fair(),
            account_exposure=self._exposure(), last_fill_ns=self.last_fill,
            quotable=self._select(e, t), inactive=pe[4],
        )  # fmt: skip
        quotes, wake = ([], None) if stopped else self.quoter.quote(view)
        if wake is not None and wake > t and self.wake_at[e] is None:
            self.wake_at[e] = wake
            self._push(wake, WAKE, e)
        p = plan(quotes, live, self._new_coid, in_flight=self.in_flight, tickers=tickers,
                 config=self.planner_cfg)  # fmt: skip
        for batch in p.cancel_batches:
            ok = self._budget(t, self.cfg.write_costs["cancel"] * len(batch))
            for cx in batch:
                oc = self.orders.get(cx.client_order_id)
                if oc is not None and oc.order_id is not None:
                    oc.status = OrderStatus.CANCEL_PENDING
                    self._send(t, ("cancel", cx.client_order_id), ok)
                    self.j.cancels += 1
        for a in p.amends:
            oa = self.orders.get(a.client_order_id)
            # quoted size: all of it at a new price, the increase at the same price
            if oa is not None:
                self.j.placed_qty += a.qty if a.price != oa.price else max(0, a.qty - oa.remaining)
            self.in_flight.add(a.client_order_id)
            ok = self._budget(t, self.cfg.write_costs["amend"])
            # the venue's amend count is the total (filled + resting), as `pmbot run` sends it
            self._send(t, ("amend", a.client_order_id, a.price, a.total), ok)
            self.j.amends += 1
        for d in p.decreases:
            od = self.orders.get(d.client_order_id)
            # "reduce by" what rests less what we keep, as `pmbot run` sends it: fills in
            # flight then come off the cut, never on top of it
            by = (od.remaining if od is not None else d.reduce_to) - d.reduce_to
            if by <= 0:
                continue
            self.in_flight.add(d.client_order_id)
            ok = self._budget(t, self.cfg.write_costs["decrease"])
            self._send(t, ("decrease", d.client_order_id, by), ok)
            self.j.decreases += 1
        for cb in p.create_batches:
            ok = self._budget(t, self.cfg.write_costs["create"] * len(cb))
            for c in cb:
                self.orders[c.client_order_id] = LiveOrder(
                    c.client_order_id, c.ticker, c.side, c.price, c.qty, c.qty, OrderStatus.PENDING,
                    created_ns=t, updated_ns=t)  # fmt: skip
                self._send(t, ("create", c.client_order_id, c.post_only), ok)
                self.j.placed += 1
                self.j.placed_qty += c.qty

    def _budget(self, t: int, cost: int) -> int:
        """Pace one write call through the write token bucket (`RunConfig.rate_limit`, in
        simulated time) as the live HTTP client does: returns how long the call waits for
        its tokens before it leaves (0 when the bucket has them)."""
        rl = self.cfg.rate_limit
        if rl is None:
            return 0
        rate, cap = rl
        self._tokens = min(float(cap), self._tokens + (t - self._tokens_t) / 1e9 * rate)
        self._tokens_t = t
        self._tokens -= cost  # may go negative: tokens promised to calls already waiting
        if self._tokens >= 0:
            return 0
        self.j.rate_limited += 1
        return int(-self._tokens / rate * 1e9)

    def _books_view(self, e: int) -> dict[str, BinaryBook]:
        books = self.ev_books[e]
        mine = self.shadow.engine.live.get("us")
        if not self.cfg.own_in_books or not mine:
            return books
        tickers = self.ev_tickers[e]
        out: dict[str, BinaryBook] | None = None
        ours: dict[str, list[int]] = {}  # ticker -> [our best bid, our best ask]
        for o in mine.values():
            t = o.ticker
            if t not in tickers or o.remaining <= 0:
                continue
            if out is None:
                out = dict(books)
            b = out[t]
            if b is books[t]:
                b = out[t] = b.copy()
            best = ours.setdefault(t, [-1, ONE + 1])
            if o.is_bid:
                b.apply_delta(True, o.price, o.remaining)
                best[0] = max(best[0], o.price)
            else:
                b.apply_delta(False, ONE - o.price, o.remaining)
                best[1] = min(best[1], o.price)
        if out is None:
            return books
        for t, (bid, ask) in ours.items():
            b = out[t]
            if b.crossed():
                # recorded size that met one of our orders traded with it (rule 4) but stays
                # in the recorded book (rule 5): the venue would not show it, nor the bot
                # (a crossed book halts the market); the view leaves out what crosses us
                lv = b.best_yes_bid()
                while lv is not None and lv[0] >= ask:
                    b.apply_delta(True, lv[0], -lv[1])
                    lv = b.best_yes_bid()
                lv = b.best_yes_ask()
                while lv is not None and lv[0] <= bid:
                    b.apply_delta(False, ONE - lv[0], -lv[1])
                    lv = b.best_yes_ask()
        return out

    def _new_coid(self) -> str:
        self._coid += 1
        return f"bt{self._coid}"

    def _send(self, t: int, action: tuple[Any, ...], wait_ns: int = 0) -> None:
        """A decision on the state at t leaves at t + md (the bot saw that state md later)
        and reaches the exchange one entry latency after that, never before an earlier one."""
        arrive = max(t + wait_ns + self.md.sample_ns() + self.entry.sample_ns(), self.last_arrival)
        self.last_arrival = arrive
        self._push(arrive, ARRIVE, action)

    def _arrive(self, t: int, a: tuple[Any, ...]) -> None:
        coid = a[1]
        o = self.orders.get(coid)
        if o is None:
            return
        m = self._mi(o.ticker)
        sh = self.shadow
        fills: list[OurFill] = []
        if a[0] == "create":
            if not self.active[m]:
                eid = None
            else:
                eid, fills = sh.place(t, m, o.side is Side.BID, o.price, o.initial, post_only=a[2])
            eo = sh.order(eid) if eid else None
            if eid is None and not fills:
                self.j.rejects += 1
            if eid is not None:
                self.eng_of[coid], self.coid_of[eid] = eid, coid
                o.order_id = eid
            elif fills:  # executed at once as taker
                eid2 = fills[0].order_id
                self.eng_of[coid], self.coid_of[eid2] = eid2, coid
            _ = eo
        elif a[0] == "cancel":
            eid = self.eng_of.get(coid)
            if eid:
                sh.cancel(t, eid)
        elif a[0] == "amend":
            eid = self.eng_of.get(coid)
            eo = sh.order(eid) if eid else None
            if eid and eo is not None:
                # what rests after the amend: the total less what the venue has filled by now
                rest = a[3] - eo.filled
                if rest > 0:
                    _, fills = sh.amend(t, eid, a[2], rest)
                else:
                    sh.cancel(t, eid)
        elif a[0] == "decrease":
            eid = self.eng_of.get(coid)
            eo = sh.order(eid) if eid else None
            if eid and eo is not None:
                sh.decrease(t, eid, max(0, eo.remaining - a[2]))  # 0 cancels it
        if fills:
            self._fills(t, fills)
        self._push(t + self.entry.sample_ns(), ACK, coid)

    def _ack(self, coid: str) -> None:
        self.in_flight.discard(coid)
        o = self.orders.get(coid)
        if o is None:
            return
        eid = self.eng_of.get(coid)
        eo = self.shadow.order(eid) if eid else None
        if eo is None or eo.status != "resting" or eo.remaining <= 0:
            o.status = (
                OrderStatus.EXECUTED
                if (eo is not None and eo.status == "executed")
                else OrderStatus.CANCELED
            )
            o.remaining = 0
            self.orders.pop(coid, None)
            return
        o.status, o.price, o.remaining = OrderStatus.RESTING, eo.price, eo.remaining
        o.initial = o.filled + o.remaining  # the venue's total, as the live sender keeps it
        o.updated_ns = eo.updated_ns
        o.order_id = eid

    def _event_cost(self, ms: list[int]) -> int:
        """Net cash in the event, NO legs at their NO cost (QuoteInputs.event_cost)."""
        c = 0
        for m in ms:
            p = self.pos[m]
            c += cash_cost(p.qty, p.cost - p.realized + p.fees)
        return c

    def _exposure(self) -> int:
        ver, v = self._expo
        if ver != self.pos_ver:
            v = sum(cash_cost(p.qty, p.cost) for p in self.pos if p.qty)
            self._expo = (self.pos_ver, v)
        return v

    def _select(self, e: int, t: int) -> frozenset[str] | None:
        band = self.cfg.select_band
        if band is None or self.level is None:
            return None
        if t - self.last_select[e] > 30 * _S:
            self.last_select[e] = t
            sel = select_markets(
                self.ev_specs[e], self.ev_names[e], self.level, band, self.cfg.select_max
            )
            self.quotable[e] = frozenset(m.ticker for m in sel)
        return self.quotable[e]
