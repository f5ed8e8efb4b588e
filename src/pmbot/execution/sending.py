"""Sending: one planning pass's intents to the ledger, then the venue calls, then each outcome.

Part of OrderManager (order_manager.py), split out to keep modules small: how a call's
answer, or its error class and code, settles an order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from pmbot.aio import EAGER, start_now
from pmbot.clock import Clock
from pmbot.core.money import Price, Qty
from pmbot.core.orders import LiveOrder, OrderStatus, Side, can_transition
from pmbot.core.requests import (
    AmendOrder,
    CancelAck,
    CancelOrder,
    CreateOrder,
    DecreaseOrder,
    OrderAck,
)
from pmbot.core.state import TradingState
from pmbot.errors import (
    AuthError,
    NotFound,
    OrderRejected,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from pmbot.execution.planner import (
    AmendAction,
    CancelAction,
    CreateAction,
    DecreaseAction,
    Plan,
    PlannerConfig,
)
from pmbot.execution.reconcile import ReconcileConfig, ReconcileReport
from pmbot.ports import VenuePort
from pmbot.store.ledger import Ledger

__all__ = ["ExecStats", "OrderManagerConfig", "Sender"]

log = logging.getLogger("pmbot.execution")

POST_ONLY_CROSS = "post_only_cross"
INSUFFICIENT_BALANCE = "insufficient_balance"
ALREADY_EXISTS = "order_already_exists"
MARKET_CLOSED = "market_closed"
TRADING_PAUSED = "trading_paused"  # the venue's trading pause: nothing is created or amended


@dataclass(frozen=True, slots=True)
class OrderManagerConfig:
    amend_reprice: bool = True
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    reconcile_interval_s: float = 30.0
    reconcile_passes: int = 3  # at start: attempts before giving up (still refusing to quote)
    reconcile_retry_s: float = 1.0  # at least this long between reconciliations
    # amends + creates per sync: 0 = one create batch's worth (what the venue's write budget
    # holds at once: `max_batch_create`), < 0 = no cap; the rest goes on the next sync
    max_new_ops_per_sync: int = 0
    unknown_grace_s: float = 0.5  # after an unknown outcome, let the stream settle it first
    fill_lookback_s: float = 60.0  # backfill from the last ledger fill minus this
    rate_limit_wait_s: float = 1.0
    cancel_all_timeout_s: float = 10.0
    cancel_all_retry_s: float = 0.25
    order_group_limit: Qty | None = None  # contracts per rolling 15 s; None: no order group


@dataclass(slots=True)
class ExecStats:
    writes: Counter[str] = field(default_factory=Counter)  # venue write calls by kind
    rejects: Counter[str] = field(default_factory=Counter)  # by code
    syncs: int = 0
    plans: int = 0  # syncs that sent something
    refused: Counter[str] = field(default_factory=Counter)  # why sync sent nothing
    duplicate_fills: int = 0
    voided_fills: int = 0  # provisional fills rolled back (FAILED trades)
    confirmed_fills: int = 0  # provisional fills that became final
    requote: bool = False  # a post-only create crossed: the strategy should requote

    @property
    def write_calls(self) -> int:
        return sum(self.writes.values())


async def _all_at_once(calls: list[Coroutine[Any, Any, None]]) -> list[BaseException | None]:
    """Run the calls concurrently, each written to the socket as early as possible: on
    Python 3.12+ every call starts eagerly (all are written in this step); before, the
    first one runs inline (written in this step) and the others start at the next turn.
    Results as `gather(..., return_exceptions=True)`; cancelling this cancels them all."""
    if not calls:
        return []
    if EAGER:
        tasks = [start_now(c) for c in calls]
        out = await asyncio.gather(*tasks, return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in out]
    rest = [asyncio.ensure_future(c) for c in calls[1:]]
    first: BaseException | None = None
    try:
        await calls[0]
    except asyncio.CancelledError:
        for t in rest:
            t.cancel()
        raise
    except Exception as e:
        first = e
    others = await asyncio.gather(*rest, return_exceptions=True)
    return [first, *(r if isinstance(r, BaseException) else None for r in others)]


class Sender:
    """The sending half of OrderManager (no constructor of its own)."""

    # set by OrderManager.__init__
    venue: VenuePort
    state: TradingState
    ledger: Ledger
    clock: Clock
    config: OrderManagerConfig
    new_id: Callable[[], str]
    run_id: str
    on_risk: Callable[[str, str], None] | None
    on_paused: Callable[[], None] | None
    stats: ExecStats
    reconciled: bool
    halted: bool
    order_group_id: str | None
    last_report: ReconcileReport | None
    _in_flight: set[str]
    _backoff_until: float
    _needs_reconcile: bool
    _reconcile_after: float
    _foreign_seen: bool
    _group_triggered: bool
    _acks: list[tuple[LiveOrder, str]]
    _last_reconcile: float
    _start_ns: int
    _executing: int
    _idle: asyncio.Event
    _periodic: bool  # run_periodic is running (it, not sync, does the wanted reconciles)
    _touched: set[str] | None  # orders changed while a reconciliation fetches (else None)
    _reconcile_lock: asyncio.Lock
    _late: list[tuple[list[LiveOrder], list[tuple[int, str, str, str]]]]  # intents to flush
    _deferred: int  # amends/creates the last plan left for later (write budget, batch cap)

    def _planner_config(self) -> PlannerConfig:
        cap = self.config.max_new_ops_per_sync
        v = self.venue
        budget = getattr(v, "write_budget", None)  # optional capability (Kalshi's buckets)
        return PlannerConfig(
            v.max_batch_create,
            v.max_batch_cancel,
            self.config.amend_reprice,
            max_new_ops=None if cap < 0 else (cap or v.max_batch_create),
            can_amend=getattr(v, "supports_amend", True),
            budget=None if budget is None else budget(),
            op_cost=getattr(v, "write_op_cost", 10.0),
            cancel_cost=getattr(v, "write_cancel_cost", 2.0),
            crosses=self._crosses,
        )

    def _crosses(self, ticker: str, side: Side, price: Price) -> bool:
        """Does `price` meet the other side of the current book (a taker if amended to)?"""
        b = self.state.books.get(ticker)
        if b is None:
            return False
        if side is Side.BID:
            ask = b.yes_ask_price()
            return ask is not None and price >= ask
        bid = b.yes_bid_price()
        return bid is not None and price <= bid

    def budget_wait_s(self) -> float | None:
        """Wall seconds until the write budget covers the next batch of deferred work (None:
        nothing deferred). The quote loop sleeps no longer than this."""
        if not self._deferred:
            return None
        wait = getattr(self.venue, "write_wait_s", None)
        if wait is None:
            return 0.0
        n = min(self._deferred, max(1, self.venue.max_batch_create))
        return float(wait(getattr(self.venue, "write_op_cost", 10.0) * n))

    async def _quiesce(self) -> None:
        """Wait until no sync has calls in flight."""
        while self._executing:
            await self._idle.wait()

    async def execute(self, p: Plan) -> None:
        """Ledger first (one commit for all intents), then every call concurrently."""
        self.commit(p)
        await self.send(p)

    def commit(self, p: Plan) -> None:
        """Write the plan's intents to the ledger (one commit) and mark its orders in flight.

        No await: the plan and the state it was made from are never pulled apart.
        """
        now = self.clock.now_ns()
        new = [
            LiveOrder(
                c.client_order_id,
                c.ticker,
                c.side,
                c.price,
                c.qty,
                c.qty,
                OrderStatus.PENDING,
                created_ns=now,
                updated_ns=now,
            )
            for c in p.creates
        ]
        canceling = []
        for c in p.cancels:
            o = self.state.orders[c.client_order_id]
            self._set(o, OrderStatus.CANCEL_PENDING, now)
            canceling.append(o)
        intents = [
            (now, a.client_order_id, "amend_sent", f"price={a.price} count={a.total}")
            for a in p.amends
        ]
        intents += [
            (now, d.client_order_id, "decrease_sent", f"reduce_to={d.reduce_to}")
            for d in p.decreases
        ]
        if new:
            # durable before the requests leave, by one append to the ledger's intent log
            # (their rows reach SQLite with the next ledger statement, off this path)
            self.ledger.log_orders(
                new, post_only=[c.post_only for c in p.creates], order_group_id=self.order_group_id
            )
        # the rest is nothing a restart could not learn from the venue (every order touched
        # is already in the ledger, and reconciliation takes the venue's state of it), so
        # these intents ride with the answers' commit: the hot path has no SQLite commit
        if canceling or intents:
            self._late.append((canceling, intents))
        for o in new:  # only once the intents are committed
            self.state.register_order(o)
        for c in p.cancels:
            self._in_flight.add(c.client_order_id)
        for a in p.amends:
            self._in_flight.add(a.client_order_id)
            # until its answer the venue may rest either: the risk gate counts the worse
            self.state.orders[a.client_order_id].amending = (a.price, a.qty)
        for d in p.decreases:
            self._in_flight.add(d.client_order_id)
        for n in p.creates:
            self._in_flight.add(n.client_order_id)
        if self._touched is not None:
            self._touched.update(self._in_flight)
        prepay = getattr(self.venue, "prepay_writes", None)  # optional (Kalshi's buckets)
        if prepay is not None:
            v = self.venue
            ops = len(p.amends) + len(p.decreases) + sum(len(b) for b in p.create_batches)
            cancels = sum(len(b) for b in p.cancel_batches)
            prepay(
                getattr(v, "write_op_cost", 10.0) * ops
                + getattr(v, "write_cancel_cost", 2.0) * cancels
            )

    async def send(self, p: Plan) -> None:
        """Every call of a committed plan, concurrently; each order settled from its answer."""
        self._executing += 1
        self._idle.clear()
        try:
            calls = [self._cancel_batch(b) for b in p.cancel_batches]
            calls += [self._decrease(d) for d in p.decreases]
            calls += [self._amend(a) for a in p.amends]
            calls += [self._create_batch(b) for b in p.create_batches]
            try:
                results = await _all_at_once(calls)
            finally:
                self.flush_acks()
        finally:
            self._executing -= 1
            if not self._executing:
                self._idle.set()
        for r in results:
            if isinstance(r, BaseException):
                raise r

    def flush_acks(self) -> None:
        """Write the acknowledged orders' new state in one commit.

        Deferred to the end of the pass, with the intents of passes that created nothing:
        losing them in a crash is harmless (every order is in the ledger before it is sent
        and reconciliation takes the venue's view of it on restart).
        """
        if self._late or self._acks:
            # taken off the queue only once committed: a failed commit (a locked database,
            # a full disk) keeps them for the next flush instead of losing the new states
            with self.ledger.transaction():
                for canceling, intents in self._late:
                    self.ledger.update_orders(canceling, "cancel_sent")
                    self.ledger.add_events(intents)
                self.ledger.update_orders_each(self._acks)
            self._late, self._acks = [], []

    # ---- calls ----------------------------------------------------------------------
    async def _create_batch(self, batch: Sequence[CreateAction]) -> None:
        reqs = [
            CreateOrder(
                c.client_order_id,
                c.ticker,
                c.side,
                c.price,
                c.qty,
                c.post_only,
                order_group_id=self.order_group_id,
            )
            for c in batch
        ]
        results: Sequence[OrderAck | BaseException]
        try:
            if len(reqs) == 1:
                self.stats.writes["create"] += 1
                results = [await self.venue.create_order(reqs[0])]
            else:
                self.stats.writes["batch_create"] += 1
                results = await self.venue.batch_create(reqs)
        except AuthError:
            raise
        except asyncio.CancelledError:  # a stop with the call out: outcome unknown
            self._cut_off(batch, "create")
            raise
        except Exception as e:  # the whole call failed: every item shares the fate
            results = [e] * len(reqs)
        with self.ledger.transaction():  # one commit for the whole batch's outcome
            for i, c in enumerate(batch):
                r = results[i] if i < len(results) else VenueError("missing batch item")
                self._in_flight.discard(c.client_order_id)
                self._create_done(c, r)

    def _create_done(self, c: CreateAction, r: OrderAck | BaseException) -> None:
        o = self.state.orders[c.client_order_id]
        now = self.clock.now_ns()
        if isinstance(r, OrderAck):
            rem = c.qty if r.remaining is None else r.remaining
            filled = r.filled or 0
            if filled:
                self.state.report_filled(o, filled)
            st = (
                OrderStatus.RESTING
                if rem > 0
                else (OrderStatus.EXECUTED if filled >= c.qty else OrderStatus.CANCELED)
            )
            if o.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
                self._set(o, st, now, order_id=r.order_id, remaining=rem)
            else:  # the stream got there first; just learn the venue id
                self._set(o, o.status, now, order_id=r.order_id)
            self._acks.append((o, "create_ack"))
            return
        self._failed(o, r, "create", terminal_if_refused=True)

    async def _cancel_batch(self, batch: Sequence[CancelAction]) -> None:
        reqs = [CancelOrder(c.order_id, c.ticker, c.client_order_id) for c in batch]
        results: Sequence[object]
        try:
            if len(reqs) == 1:
                self.stats.writes["cancel"] += 1
                results = [await self.venue.cancel(reqs[0])]
            else:
                self.stats.writes["batch_cancel"] += 1
                results = await self.venue.batch_cancel(reqs)
        except AuthError:
            raise
        except asyncio.CancelledError:  # a stop with the call out: outcome unknown
            self._cut_off(batch, "cancel")
            raise
        except Exception as e:
            results = [e] * len(reqs)
        with self.ledger.transaction():
            for i, c in enumerate(batch):
                r = results[i] if i < len(results) else VenueError("missing batch item")
                self._in_flight.discard(c.client_order_id)
                o = self.state.orders.get(c.client_order_id)
                if o is None:
                    continue
                if isinstance(r, BaseException):
                    self._failed(o, r, "cancel", terminal_if_refused=False)
                else:
                    if isinstance(r, CancelAck) and r.reduced_by is not None:
                        # what did not rest any more had filled: its fill events may be late
                        self.state.report_filled(o, o.initial - r.reduced_by)
                    self._set(o, OrderStatus.CANCELED, self.clock.now_ns(), remaining=0)
                    self._acks.append((o, "cancel_ack"))

    async def _amend(self, a: AmendAction) -> None:
        o = self.state.orders[a.client_order_id]
        req = AmendOrder(a.order_id, a.client_order_id, a.ticker, a.side, a.price, a.total)
        self.stats.writes["amend"] += 1
        # while it is in flight the venue may already rest the larger total: a fill arriving
        # meanwhile must not make the order look executed (it would vanish from the planner's
        # view and be quoted twice); a refusal puts the old total back
        old_initial = o.initial
        o.initial = max(o.initial, a.total)
        try:
            r: OrderAck | BaseException = await self.venue.amend(req)
        except AuthError:
            raise
        except Exception as e:
            r = e
        finally:
            self._in_flight.discard(a.client_order_id)
        if isinstance(r, OrderAck):
            # `filled` stays the sum of fills we applied; `initial` becomes the venue's total
            o.price = a.price
            o.amending = None
            if r.remaining is not None:
                self.state.report_filled(o, a.total - r.remaining)
                # the amend's count is the venue's new total (filled + resting), so what it
                # holds filled is that total less what rests. `fill_count`, when there, counts
                # only the amend's own fills (it comes only when the amend crossed or changed
                # the resting size, §3.7); it is not the order's total. An answer made before
                # fills we have applied since: what rests is the total less every fill known.
                vfilled = max(o.filled, a.total - r.remaining)
            else:  # a pure reprice: nothing says what filled; our own count stands
                vfilled = max(o.filled, old_initial - o.remaining)
            o.remaining = max(0, a.total - vfilled)
            o.initial = vfilled + o.remaining
            self._set(
                o, OrderStatus.RESTING if o.remaining else OrderStatus.EXECUTED, self.clock.now_ns()
            )
            self._acks.append((o, "amend_ack"))
        else:
            if isinstance(r, RateLimited | OrderRejected):
                o.amending = None
                o.initial = old_initial  # refused: the old total stands
                o.remaining = min(o.remaining, max(0, o.initial - o.filled))
                if o.remaining == 0 and can_transition(o.status, OrderStatus.EXECUTED):
                    self._set(o, OrderStatus.EXECUTED, self.clock.now_ns())
            # else it may have applied: the larger total stays assumed, so fills arriving
            # meanwhile cannot make it look executed while it still rests (reconcile settles
            # it), and so does `amending` (the gate counts the worse of the two)
            self._failed(o, r, "amend", terminal_if_refused=False)

    async def _decrease(self, d: DecreaseAction) -> None:
        o = self.state.orders[d.client_order_id]
        # asked as "reduce by" what rests less what we keep: the venue's new total is then
        # exactly what we knew filled now plus `reduce_to`, even if fills we have not heard
        # of took part of it (a "reduce to" answer cannot tell those from the cut)
        # what the venue holds filled, as we know it: an order update may have told of fills
        # whose fill events are still on their way (o.filled counts only the applied ones)
        filled_at_send = max(o.filled, o.initial - o.remaining)
        by = o.remaining - d.reduce_to
        if by <= 0:  # fills since the plan already took it down to (or below) the target
            self._in_flight.discard(d.client_order_id)
            return
        self.stats.writes["decrease"] += 1
        try:
            r: OrderAck | BaseException = await self.venue.decrease(
                DecreaseOrder(d.order_id, d.ticker, d.reduce_to, d.client_order_id, reduce_by=by)
            )
        except AuthError:
            raise
        except Exception as e:
            r = e
        finally:
            self._in_flight.discard(d.client_order_id)
        if isinstance(r, OrderAck):
            o.initial = max(o.filled, filled_at_send + d.reduce_to)
            rest = d.reduce_to if r.remaining is None else r.remaining
            if r.remaining is not None:  # the new total less what rests had filled
                self.state.report_filled(o, filled_at_send + d.reduce_to - rest)
            # fills heard of since the answer was made come off what it said rests
            o.remaining = min(rest, max(0, o.initial - o.filled))
            # nothing left: cut to nothing by the venue (unseen fills took more than the cut),
            # or what the cut left has traded since (executed, not cancelled)
            end = OrderStatus.EXECUTED if rest > 0 else OrderStatus.CANCELED
            self._set(o, OrderStatus.RESTING if o.remaining else end, self.clock.now_ns())
            self._acks.append((o, "decrease_ack"))
        else:
            self._failed(o, r, "decrease", terminal_if_refused=False)

    def _cut_off(self, batch: Sequence[CreateAction | CancelAction], what: str) -> None:
        """The call was cancelled before its answer (the run is stopping): each order's
        outcome is unknown. Out of flight, reconciliation settles them from the venue's
        lists and fills; left in flight, it would skip them for the rest of the run."""
        err = VenueUnavailable(f"{what} cancelled before the venue answered")
        with self.ledger.transaction():
            for c in batch:
                self._in_flight.discard(c.client_order_id)
                o = self.state.orders.get(c.client_order_id)
                if o is not None and not o.status.terminal:
                    self._failed(o, err, what, terminal_if_refused=False)

    def _failed(
        self, o: LiveOrder, e: BaseException, what: str, *, terminal_if_refused: bool
    ) -> None:
        """Settle an order after a failed call, by error class (never by message text)."""
        now = self.clock.now_ns()
        ctx = f"ticker={o.ticker} client_order_id={o.client_order_id} order_id={o.order_id}"
        if isinstance(e, RateLimited):
            self.stats.rejects["rate_limited"] += 1
            self._backoff_until = self.clock.monotonic() + self.config.rate_limit_wait_s
            log.warning(
                "%s rate limited; pausing %.1fs %s", what, self.config.rate_limit_wait_s, ctx
            )
            nxt = OrderStatus.REJECTED if terminal_if_refused else OrderStatus.RESTING
        elif isinstance(e, OrderRejected) and e.code != ALREADY_EXISTS:
            code = e.code or "rejected"
            self.stats.rejects[code] += 1
            if code == POST_ONLY_CROSS:
                self.stats.requote = True
            elif code == INSUFFICIENT_BALANCE and self.on_risk is not None:
                self.on_risk(INSUFFICIENT_BALANCE, ctx)
            elif code == TRADING_PAUSED and self.on_paused is not None:
                self.on_paused()  # halts quoting until the venue trades again: no more storm
            elif "order_group" in code and self.on_risk is not None:
                # the exchange tripped our order group (fills over its limit in 15 s): it
                # refuses every new order until a reset; that is the kill switch speaking
                self.on_risk(code, ctx)
            log.info("%s rejected code=%s %s", what, code, ctx)
            if terminal_if_refused:
                nxt = OrderStatus.REJECTED
            elif code == MARKET_CLOSED:  # nothing trades after the close: stop retrying it
                nxt = OrderStatus.CANCELED
            else:
                nxt = OrderStatus.RESTING
        elif isinstance(e, NotFound) and terminal_if_refused:
            self.stats.rejects["not_found"] += 1
            nxt = OrderStatus.REJECTED  # e.g. unknown market: nothing was created
        else:  # timeout, 5xx, 404 on an existing order, duplicate id: outcome unknown
            self.stats.rejects[type(e).__name__] += 1
            self._needs_reconcile = True
            self._reconcile_after = self.clock.monotonic() + self.config.unknown_grace_s
            log.warning("%s outcome unknown err=%r %s", what, e, ctx)
            nxt = OrderStatus.UNKNOWN
        self._set(o, nxt, now, remaining=0 if nxt.terminal else None)
        self.ledger.update_order(o, f"{what}_failed", f"{type(e).__name__}: {e}")

    def _set(
        self,
        o: LiveOrder,
        st: OrderStatus,
        ts_ns: int,
        *,
        order_id: str | None = None,
        remaining: int | None = None,
    ) -> None:
        if can_transition(o.status, st):
            self.state.set_order_status(
                o.client_order_id, st, ts_ns, order_id=order_id, remaining=remaining
            )
        elif order_id and o.order_id != order_id:
            self.state.set_order_status(o.client_order_id, o.status, ts_ns, order_id=order_id)
