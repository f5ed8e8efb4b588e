"""OrderManager: planner actions -> venue calls through the port; ledger first, then send.

The async shell around the pure planner and reconciler. It owns no parsing and no maths:
* `sync(desired)`: plan against the live orders, commit intents to the ledger (new
  client_order_ids before any request leaves), send all calls concurrently, and settle each
  order from the answer. Orders with a call in flight stay frozen for the planner.
* Rejects by class/code: post-only cross -> rejected, requoted on the next tick (a fresh id);
  insufficient balance -> `on_risk`; 429 -> nothing changed, pause sending for a while;
  timeout / 5xx / 404 on cancel-amend-decrease -> UNKNOWN, settled by reconciliation.
* Fills (stream or backfill) are deduplicated by (trade_id, order_id) in the ledger.
* `reconcile()` at start, after reconnects and periodically; `sync` refuses to quote while
  the last reconciliation was not clean.
* `cancel_all()` cancels every resting order of the account in batches and verifies with
  the venue's resting list, retrying until it is empty or a loud timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from pmbot.clock import Clock
from pmbot.core.events import Fill, OrderUpdate
from pmbot.core.money import Qty
from pmbot.core.orders import LiveOrder, OrderStatus, can_transition
from pmbot.core.requests import AmendOrder, CancelOrder, CreateOrder, DecreaseOrder, OrderAck
from pmbot.core.state import TradingState
from pmbot.errors import (
    AuthError,
    NotFound,
    OrderRejected,
    RateLimited,
    VenueError,
)
from pmbot.execution.planner import (
    AmendAction,
    CancelAction,
    CreateAction,
    DecreaseAction,
    Plan,
    PlannerConfig,
    QuoteLike,
    plan,
)
from pmbot.execution.reconcile import (
    ReconcileConfig,
    ReconcileReport,
    VenueSnapshot,
    orders_to_resolve,
    reconcile,
)
from pmbot.ports import VenuePort
from pmbot.store.ledger import Ledger

__all__ = ["ExecStats", "OrderManager", "OrderManagerConfig"]

log = logging.getLogger("pmbot.execution")

POST_ONLY_CROSS = "post_only_cross"
INSUFFICIENT_BALANCE = "insufficient_balance"
ALREADY_EXISTS = "order_already_exists"


@dataclass(frozen=True, slots=True)
class OrderManagerConfig:
    amend_reprice: bool = True
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    reconcile_interval_s: float = 30.0
    reconcile_passes: int = 3  # at start: attempts before giving up (still refusing to quote)
    reconcile_retry_s: float = 1.0
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
    requote: bool = False  # a post-only create crossed: the strategy should requote

    @property
    def write_calls(self) -> int:
        return sum(self.writes.values())


class OrderManager:
    """Owns our orders' lifecycle on one venue account. Constructors do no I/O."""

    def __init__(
        self,
        venue: VenuePort,
        state: TradingState,
        ledger: Ledger,
        clock: Clock,
        *,
        config: OrderManagerConfig = OrderManagerConfig(),
        new_id: Callable[[], str] | None = None,
        on_risk: Callable[[str, str], None] | None = None,
    ) -> None:
        self.venue = venue
        self.state = state
        self.ledger = ledger
        self.clock = clock
        self.config = config
        self.new_id = new_id or (lambda: str(uuid.uuid4()))
        self.on_risk = on_risk
        self.stats = ExecStats()
        self.reconciled = False
        self.halted = False
        self.order_group_id: str | None = None
        self.last_report: ReconcileReport | None = None
        self._in_flight: set[str] = set()
        self._backoff_until = 0.0
        self._needs_reconcile = False
        self._last_reconcile = float("-inf")
        self._start_ns = 0
        self._executing = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._reconciling = False
        self._reconcile_lock = asyncio.Lock()

    @property
    def in_flight(self) -> frozenset[str]:
        return frozenset(self._in_flight)

    def _planner_config(self) -> PlannerConfig:
        return PlannerConfig(
            self.venue.max_batch_create, self.venue.max_batch_cancel, self.config.amend_reprice
        )

    # ---- lifecycle ------------------------------------------------------------------
    async def start(self) -> ReconcileReport:
        """Reconcile before the first quote (retrying a few passes); create the order group."""
        self._start_ns = self.clock.now_ns()
        if self.config.order_group_limit is not None and self.order_group_id is None:
            self.order_group_id = await self.venue.create_order_group(self.config.order_group_limit)
            self.ledger.set_meta("order_group_id", self.order_group_id)
            log.info("order group created order_group_id=%s", self.order_group_id)
        rep = await self.reconcile()
        for _ in range(self.config.reconcile_passes - 1):
            if rep.ok:
                break
            await self.clock.sleep(self.config.reconcile_retry_s)
            rep = await self.reconcile()
        if not rep.ok:
            log.error("not reconciled after start; refusing to quote %s", rep.summary())
        return rep

    async def shutdown(self, reason: str = "shutdown") -> bool:
        """Cancel everything and verify; delete the order group. Returns True when verified."""
        ok = await self.cancel_all(reason)
        if self.order_group_id is not None:
            try:
                await self.venue.delete_order_group(self.order_group_id)
            except VenueError as e:
                log.warning(
                    "order group delete failed order_group_id=%s err=%s", self.order_group_id, e
                )
        return ok

    # ---- quoting --------------------------------------------------------------------
    async def sync(
        self, desired: Iterable[QuoteLike], *, tickers: Collection[str] | None = None
    ) -> Plan | None:
        """Make the live orders the desired ones with the fewest calls; None when refused."""
        self.stats.syncs += 1
        if self.halted:
            self.stats.refused["halted"] += 1
            return None
        if (
            self._needs_reconcile
            and self.clock.monotonic() - self._last_reconcile >= self.config.reconcile_retry_s
        ):
            await self.reconcile()
        backing_off = self.clock.monotonic() < self._backoff_until
        unreconciled = not self.reconciled
        if self._reconciling:  # its view of the venue must not race our sends
            self.stats.refused["reconciling"] += 1
            return None
        p = plan(
            desired,
            self.state.live_orders(),
            self.new_id,
            in_flight=self._in_flight,
            tickers=tickers,
            config=self._planner_config(),
        )
        if backing_off or unreconciled:
            # rate limited or not reconciled: hold new risk back, but pulling quotes (a halted
            # or stale market) must not wait; a cancel of an order already gone is harmless
            self.stats.refused["rate_limited" if backing_off else "unreconciled"] += 1
            if not p.cancel_batches:
                return None
            p = Plan(cancel_batches=p.cancel_batches)
        if p:
            self.stats.plans += 1
            self._executing += 1
            self._idle.clear()
            try:
                await self.execute(p)
            finally:
                self._executing -= 1
                if not self._executing:
                    self._idle.set()
        return p

    async def _quiesce(self) -> None:
        """Wait until no sync has calls in flight."""
        while self._executing:
            await self._idle.wait()

    async def execute(self, p: Plan) -> None:
        """Ledger first (one commit for all intents), then every call concurrently."""
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
        with self.ledger.transaction():  # one commit for every intent of this pass
            if new:
                self.ledger.add_orders(
                    new,
                    post_only=[c.post_only for c in p.creates],
                    order_group_id=self.order_group_id,
                )
            canceling = []
            for c in p.cancels:
                o = self.state.orders[c.client_order_id]
                self._set(o, OrderStatus.CANCEL_PENDING, now)
                canceling.append(o)
            if canceling:
                self.ledger.update_orders(canceling, "cancel_sent")
            intents = [
                (now, a.client_order_id, "amend_sent", f"price={a.price} count={a.count}")
                for a in p.amends
            ]
            intents += [
                (now, d.client_order_id, "decrease_sent", f"reduce_to={d.reduce_to}")
                for d in p.decreases
            ]
            self.ledger.add_events(intents)
        for o in new:  # only once the intents are committed
            self.state.register_order(o)
        for c in p.cancels:
            self._in_flight.add(c.client_order_id)
        for a in p.amends:
            self._in_flight.add(a.client_order_id)
        for d in p.decreases:
            self._in_flight.add(d.client_order_id)
        for c in p.creates:
            self._in_flight.add(c.client_order_id)
        calls = [self._cancel_batch(b) for b in p.cancel_batches]
        calls += [self._decrease(d) for d in p.decreases]
        calls += [self._amend(a) for a in p.amends]
        calls += [self._create_batch(b) for b in p.create_batches]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r

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
            st = (
                OrderStatus.RESTING
                if rem > 0
                else (OrderStatus.EXECUTED if filled >= c.qty else OrderStatus.CANCELED)
            )
            if o.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
                self._set(o, st, now, order_id=r.order_id, remaining=rem)
            else:  # the stream got there first; just learn the venue id
                self._set(o, o.status, now, order_id=r.order_id)
            self.ledger.update_order(o, "create_ack")
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
                    self._set(o, OrderStatus.CANCELED, self.clock.now_ns(), remaining=0)
                    self.ledger.update_order(o, "cancel_ack")

    async def _amend(self, a: AmendAction) -> None:
        o = self.state.orders[a.client_order_id]
        req = AmendOrder(a.order_id, a.client_order_id, a.ticker, a.side, a.price, a.count)
        self.stats.writes["amend"] += 1
        try:
            r: OrderAck | BaseException = await self.venue.amend(req)
        except AuthError:
            raise
        except Exception as e:
            r = e
        finally:
            self._in_flight.discard(a.client_order_id)
        if isinstance(r, OrderAck):
            o.price = a.price
            if r.filled is not None:
                o.filled = max(o.filled, r.filled)
            o.remaining = max(0, a.count - o.filled) if r.remaining is None else r.remaining
            o.initial = o.filled + o.remaining
            self._set(
                o, OrderStatus.RESTING if o.remaining else OrderStatus.EXECUTED, self.clock.now_ns()
            )
            self.ledger.update_order(o, "amend_ack")
        else:
            self._failed(o, r, "amend", terminal_if_refused=False)

    async def _decrease(self, d: DecreaseAction) -> None:
        o = self.state.orders[d.client_order_id]
        self.stats.writes["decrease"] += 1
        try:
            r: OrderAck | BaseException = await self.venue.decrease(
                DecreaseOrder(d.order_id, d.ticker, d.reduce_to, d.client_order_id)
            )
        except AuthError:
            raise
        except Exception as e:
            r = e
        finally:
            self._in_flight.discard(d.client_order_id)
        if isinstance(r, OrderAck):
            o.remaining = min(o.remaining, d.reduce_to if r.remaining is None else r.remaining)
            o.initial = o.filled + o.remaining
            self._set(
                o, OrderStatus.RESTING if o.remaining else OrderStatus.CANCELED, self.clock.now_ns()
            )
            self.ledger.update_order(o, "decrease_ack")
        else:
            self._failed(o, r, "decrease", terminal_if_refused=False)

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
            log.info("%s rejected code=%s %s", what, code, ctx)
            nxt = OrderStatus.REJECTED if terminal_if_refused else OrderStatus.RESTING
        elif isinstance(e, NotFound) and terminal_if_refused:
            self.stats.rejects["not_found"] += 1
            nxt = OrderStatus.REJECTED  # e.g. unknown market: nothing was created
        else:  # timeout, 5xx, 404 on an existing order, duplicate id: outcome unknown
            self.stats.rejects[type(e).__name__] += 1
            self._needs_reconcile = True
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

    # ---- stream events --------------------------------------------------------------
    def on_fill(self, f: Fill) -> bool:
        """Record a fill once (stream or backfill); False for a duplicate."""
        if not self.ledger.add_fill(f):
            self.stats.duplicate_fills += 1
            return False
        self.state.apply(f)
        self.ledger.put_position(self.state.positions[f.ticker], f.ts_ns)
        o = self.state.order_by_id(f.order_id)
        if o is not None:
            self.ledger.update_order(o, "fill", f"trade_id={f.trade_id} qty={f.qty}")
        return True

    def on_order_update(self, u: OrderUpdate) -> None:
        self.state.apply(u)
        o = self.state.order_by_id(u.order_id)
        if o is None:
            self._needs_reconcile = True  # foreign: reconciliation cancels or adopts it
            return
        self.ledger.update_order(o, "venue_update", u.status.value)

    def on_settlement(self, ticker: str, yes_won: bool, ts_ns: int) -> int:
        """A market settled: close our position at $1/$0, record it; returns the PnL (Micros)."""
        pos = self.state.positions.get(ticker)
        if pos is None:
            return 0
        pnl = pos.settle(yes_won)
        self.ledger.add_settlement(ticker, yes_won, pnl, ts_ns, pos)
        return pnl

    async def on_reconnect(self) -> ReconcileReport:
        """After any stream reconnect: backfill fills over REST and reconcile."""
        return await self.reconcile()

    # ---- reconciliation -------------------------------------------------------------
    async def reconcile(self) -> ReconcileReport:
        """Compare with the venue and settle; syncs are held off (refused) while it runs."""
        async with self._reconcile_lock:
            self._reconciling = True
            try:
                await self._quiesce()
                return await self._reconcile()
            finally:
                self._reconciling = False

    async def _reconcile(self) -> ReconcileReport:
        self._last_reconcile = self.clock.monotonic()
        self._needs_reconcile = False
        venue = self.venue
        positions = {p.ticker: p.qty for p in await venue.get_positions()}
        resting = await venue.list_orders(status=OrderStatus.RESTING)
        live = self.state.live_orders()
        missing = orders_to_resolve(live, resting, self._in_flight)
        history = []
        tickers = sorted({o.ticker for o in missing})
        for t in tickers:
            history += await venue.list_orders(ticker=t)
        last = self.ledger.last_fill_ts_ns()
        since = (last if last is not None else self._start_ns) - int(
            self.config.fill_lookback_s * 1e9
        )
        fills = await venue.get_fills(since_ns=since)
        balance = await venue.get_balance()
        coids, oids = self.ledger.known_ids()
        snap = VenueSnapshot(
            self.clock.now_ns(), resting, history, tickers, fills, positions, balance
        )
        local_pos = {t: p.qty for t, p in self.state.positions.items()}
        rep = reconcile(
            snap,
            live,
            known_client_ids=coids,
            known_order_ids=oids,
            fill_keys={(f.trade_id, f.order_id) for f in self.state.fills},
            positions=local_pos,
            in_flight=self._in_flight,
            config=self.config.reconcile,
        )
        await self._apply(rep)
        self.last_report = rep
        self.reconciled = rep.ok
        if not rep.ok:
            self._needs_reconcile = True
            log.warning(
                "reconcile not clean %s mismatches=%s", rep.summary(), rep.position_mismatches
            )
        elif rep.changed:
            log.info("reconciled %s", rep.summary())
        return rep

    async def _apply(self, rep: ReconcileReport) -> None:
        for f in rep.backfill:
            self.on_fill(f)
        now = self.clock.now_ns()
        for fx in rep.fixes:
            o = self.state.orders.get(fx.client_order_id)
            if o is None or not can_transition(o.status, fx.status):
                log.error(
                    "reconcile fix not applicable client_order_id=%s to=%s",
                    fx.client_order_id,
                    fx.status.value,
                )
                continue
            if fx.filled is not None:
                o.filled = max(o.filled, fx.filled)
            if fx.price is not None:
                o.price = fx.price
            if fx.status is OrderStatus.RESTING:
                o.initial = o.filled + fx.remaining
            self._set(o, fx.status, now, order_id=fx.order_id, remaining=fx.remaining)
            self.ledger.update_order(o, "reconcile", fx.reason)
        if rep.adopt:
            adopted = [
                LiveOrder(
                    u.client_order_id or f"adopted-{u.order_id}",
                    u.ticker,
                    u.side,
                    u.price,
                    u.initial,
                    u.remaining,
                    OrderStatus.RESTING,
                    order_id=u.order_id,
                    filled=u.filled,
                    created_ns=now,
                    updated_ns=now,
                )
                for u in rep.adopt
            ]
            self.ledger.add_orders(adopted, post_only=False, kind="adopted")
            for o in adopted:
                self.state.register_order(o)
        if rep.cancel:
            await self._cancel_ids(
                [CancelOrder(u.order_id, u.ticker, u.client_order_id) for u in rep.cancel]
            )

    async def _cancel_ids(self, reqs: Sequence[CancelOrder]) -> None:
        """Cancel venue orders by id (reconcile / cancel_all); 404 means already gone."""
        n = max(1, self.venue.max_batch_cancel)
        for i in range(0, len(reqs), n):
            chunk = reqs[i : i + n]
            try:
                self.stats.writes["batch_cancel"] += 1
                res = await self.venue.batch_cancel(chunk)
            except AuthError:
                raise
            except VenueError as e:
                log.warning("batch cancel failed n=%d err=%s", len(chunk), e)
                continue
            for req, r in zip(chunk, res, strict=False):
                if isinstance(r, BaseException) and not isinstance(r, NotFound):
                    log.warning("cancel failed order_id=%s err=%s", req.order_id, r)

    async def run_periodic(self) -> None:
        """Reconcile every `reconcile_interval_s` (run it in the app's TaskGroup)."""
        while True:
            await self.clock.sleep(self.config.reconcile_interval_s)
            try:
                await self.reconcile()
            except AuthError:
                raise
            except VenueError as e:
                self.reconciled = False
                log.warning("periodic reconcile failed err=%s", e)

    # ---- kill switch ----------------------------------------------------------------
    async def cancel_all(self, reason: str = "cancel_all", timeout_s: float | None = None) -> bool:
        """Stop quoting, cancel every resting order, verify with the venue's list; loud on timeout."""
        self.halted = True
        timeout = self.config.cancel_all_timeout_s if timeout_s is None else timeout_s
        deadline = self.clock.monotonic() + timeout
        log.warning("cancel_all reason=%s", reason)
        await self._quiesce()  # a create still in flight could land after our last look
        if self.order_group_id is not None:
            try:
                self.stats.writes["trigger_group"] += 1
                await self.venue.trigger_order_group(self.order_group_id)
            except VenueError as e:
                log.warning("order group trigger failed err=%s", e)
        left = await self._list_resting()
        while left != []:
            if left:
                await self._cancel_ids(
                    [CancelOrder(u.order_id, u.ticker, u.client_order_id) for u in left]
                )
                left = await self._list_resting()  # verify at once: usually confirmed here
                if left == []:
                    break
            if self.clock.monotonic() >= deadline:
                ids = (
                    "unknown (listing failed)"
                    if left is None
                    else ",".join(u.order_id for u in left[:20])
                )
                log.critical(
                    "CANCEL_ALL NOT CONFIRMED after %.1fs reason=%s: still resting: %s",
                    timeout,
                    reason,
                    ids,
                )
                return False
            await self.clock.sleep(self.config.cancel_all_retry_s)  # the cancel race: look again
            left = await self._list_resting()
        # nothing rests: settle our bookkeeping (canceled vs executed) from lists and fills
        try:
            await self.reconcile()
        except VenueError as e:
            log.warning("post cancel_all reconcile failed err=%s", e)
        log.warning("cancel_all confirmed: nothing rests reason=%s", reason)
        return True

    async def _list_resting(self) -> list[OrderUpdate] | None:
        """The venue's resting orders, or None when it could not be asked."""
        try:
            return await self.venue.list_orders(status=OrderStatus.RESTING)
        except AuthError:
            raise
        except VenueError as e:
            log.warning("listing resting orders failed err=%s", e)
            return None

    def resume(self) -> None:
        """Allow quoting again after a cancel_all (the next sync still needs a clean reconcile)."""
        self.halted = False
