"""OrderManager: planner actions -> venue calls through the port; ledger first, then send.

The async shell around the pure planner and reconciler. It owns no parsing and no maths:
* `sync(desired)`: plan against the live orders, commit intents to the ledger (new
  client_order_ids before any request leaves), send all calls concurrently, and settle each
  order from the answer. Orders with a call in flight stay frozen for the planner.
* Rejects by class/code: post-only cross -> rejected, requoted on the next tick (a fresh id);
  insufficient balance -> `on_risk`; the venue's trading pause -> `on_paused` (the caller
  halts quoting until the venue trades again); 429 -> nothing changed, pause sending for a while;
  market_closed on cancel/amend/decrease -> the order is dead (nothing trades after close);
  timeout / 5xx / 404 on cancel-amend-decrease -> UNKNOWN, settled by reconciliation.
* Fills (stream or backfill) are deduplicated by (trade_id, order_id) in the ledger.
* `reconcile()` at start, after reconnects and periodically, while quoting goes on (orders
  touched during its fetches are left out); `sync` refuses to quote while the last
  reconciliation was not ok (positions differ).
* `cancel_all()` cancels every resting order of the account in batches and verifies with
  the venue's resting list, retrying until it is empty or a loud timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Collection, Iterable

from pmbot.clock import Clock
from pmbot.core.orders import LiveOrder
from pmbot.core.state import TradingState
from pmbot.errors import NotFound, RateLimited, VenueError, VenueUnavailable
from pmbot.execution.planner import Plan, QuoteLike, plan
from pmbot.execution.reconcile import ReconcileReport
from pmbot.execution.sending import ExecStats, OrderManagerConfig, log
from pmbot.execution.settling import Settler
from pmbot.ports import VenuePort
from pmbot.store.ledger import Ledger

__all__ = ["ExecStats", "OrderManager", "OrderManagerConfig"]

_GROUP_TRIES = 5  # order group creates at start, through transient refusals


class OrderManager(Settler):
    """Owns our orders' lifecycle on one venue account. Constructors do no I/O."""

    def __init__(
        self,
        venue: VenuePort,
        state: TradingState,
        ledger: Ledger,
        clock: Clock,
        *,
        config: OrderManagerConfig | None = None,
        new_id: Callable[[], str] | None = None,
        on_risk: Callable[[str, str], None] | None = None,
        on_paused: Callable[[], None] | None = None,
        run_id: str | None = None,
    ) -> None:
        self.venue = venue
        self.state = state
        self.ledger = ledger
        self.clock = clock
        self.config = config or OrderManagerConfig()
        self.new_id = new_id or (lambda: str(uuid.uuid4()))
        self.on_risk = on_risk
        self.on_paused = on_paused
        self.run_id = run_id or str(uuid.uuid4())
        self.stats = ExecStats()
        self.reconciled = False
        self.halted = False
        self.order_group_id: str | None = None
        self.last_report: ReconcileReport | None = None
        self._in_flight: set[str] = set()
        self._backoff_until = 0.0
        self._needs_reconcile = False
        self._reconcile_after = 0.0
        self._foreign_seen = False
        self._group_triggered = False
        self._acks: list[tuple[LiveOrder, str]] = []
        self._last_reconcile = float("-inf")
        self._start_ns = 0
        self._executing = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._touched: set[str] | None = None
        self._periodic = False
        self._reconcile_lock = asyncio.Lock()
        self._deferred = 0
        self._late = []

    @property
    def in_flight(self) -> frozenset[str]:
        return frozenset(self._in_flight)

    # ---- lifecycle ------------------------------------------------------------------
    async def start(self) -> ReconcileReport:
        """Reconcile before the first quote (retrying a few passes); create the order group."""
        self._start_ns = self.clock.now_ns()
        self.ledger.start_run(
            self.run_id,
            self._start_ns,
            # the venue's name ("kalshi", "polymarket") where the port has one
            str(getattr(getattr(self.venue, "venue", None), "name", type(self.venue).__name__)),
            {"config": repr(self.config)},
        )
        prev = self.ledger.get_meta("order_group_id")
        limit = self.config.order_group_limit
        if prev and limit is not None and self.order_group_id is None:
            # a run that died (kill -9) left its group, with the orders this run adopts in
            # it: take it over, so they stay under the one group this run watches (a new
            # group would split the limit, and the old one would never be deleted)
            self.order_group_id = await self._take_over_group(prev, limit)
        if self.config.order_group_limit is not None and self.order_group_id is None:
            self.order_group_id = await self._create_group(self.config.order_group_limit)
            self.ledger.set_meta("order_group_id", self.order_group_id)
            log.info("order group created order_group_id=%s", self.order_group_id)
        rep = await self.reconcile()
        for _ in range(self.config.reconcile_passes - 1):
            if rep.clean:
                break
            await self.clock.sleep(self.config.reconcile_retry_s)
            rep = await self.reconcile()
        if not rep.ok:
            log.error("not reconciled after start; refusing to quote %s", rep.summary())
        return rep

    async def _take_over_group(self, prev: str, limit: int) -> str | None:
        """`prev` reset and ours; None when the venue no longer has it. When it cannot be
        taken over (refused, or transient errors past a few tries) it is deleted, which
        cancels its orders: nothing may rest under a group this run does not watch."""
        for attempt in range(_GROUP_TRIES):
            try:
                await self.venue.reuse_order_group(prev, limit)
                log.info("order group of an earlier run reused order_group_id=%s", prev)
                return prev
            except NotFound:
                return None  # deleted by a clean shutdown (or by the venue): a new one
            except (RateLimited, VenueUnavailable) as e:
                if attempt == _GROUP_TRIES - 1:
                    break
                log.warning("order group reuse failed, retrying id=%s err=%s", prev, e)
                await self.clock.sleep(self.config.reconcile_retry_s * (attempt + 1))
            except VenueError as e:
                log.warning("order group of an earlier run not reusable id=%s err=%s", prev, e)
                break
        with contextlib.suppress(NotFound):  # its orders are cancelled; the reconcile settles them
            await self.venue.delete_order_group(prev)
        log.warning("order group of an earlier run deleted (not reusable) id=%s", prev)
        return None

    async def _create_group(self, limit: int) -> str:
        """The order group, through a few transient refusals (a 429 or a 5xx at start, e.g.
        right after a restart used up the write budget) instead of ending the run."""
        for attempt in range(_GROUP_TRIES):
            try:
                return await self.venue.create_order_group(limit)
            except (RateLimited, VenueUnavailable) as e:
                if attempt == _GROUP_TRIES - 1:
                    raise
                log.warning("order group create failed, retrying err=%s", e)
                await self.clock.sleep(self.config.reconcile_retry_s * (attempt + 1))
        raise AssertionError("unreachable")

    async def shutdown(self, reason: str = "shutdown") -> bool:
        """Cancel everything and verify; delete the order group. Returns True when verified."""
        ok = await self.cancel_all(reason)
        self.flush_acks()
        self.ledger.end_run(
            self.clock.now_ns(),
            {
                "reason": reason,
                "cancel_all_confirmed": ok,
                "writes": dict(self.stats.writes),
                "rejects": dict(self.stats.rejects),
            },
        )
        if self.order_group_id is not None:
            try:
                await self.venue.delete_order_group(self.order_group_id)
                self.ledger.set_meta("order_group_id", "")
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
        if not self._periodic and self._needs_reconcile and self._reconcile_due():
            await self._reconcile_logged()  # no periodic task to do it for us
        p = self.prepare(desired, tickers=tickers)
        if p:
            await self.send(p)
        return p

    def prepare(
        self, desired: Iterable[QuoteLike], *, tickers: Collection[str] | None = None
    ) -> Plan | None:
        """Plan and commit (no await): the calls are then `send(plan)`'s; None when refused.

        For a caller that must not wait for the venue's answers: it sends the plan in a
        task of its own and goes on deciding; later plans leave these orders alone (in
        flight) until their answers arrive.
        """
        self.stats.syncs += 1
        if self.halted:
            self.stats.refused["halted"] += 1
            return None
        backing_off = self.clock.monotonic() < self._backoff_until
        unreconciled = not self.reconciled
        p = plan(
            desired,
            self.state.live_orders(),
            self.new_id,
            in_flight=self._in_flight,
            tickers=tickers,
            config=self._planner_config(),
        )
        self._deferred = p.deferred
        if backing_off or unreconciled:
            # rate limited or not reconciled: hold new risk back, but pulling quotes (a halted
            # or stale market) must not wait; a cancel of an order already gone is harmless
            self.stats.refused["rate_limited" if backing_off else "unreconciled"] += 1
            self._deferred = 0  # nothing to wake early for: the backoff / reconcile decides
            if not p.cancel_batches:
                return None
            p = Plan(cancel_batches=p.cancel_batches)
        if p:
            self.stats.plans += 1
            self.commit(p)
        return p
