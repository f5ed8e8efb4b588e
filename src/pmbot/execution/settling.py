"""Settling: stream events, reconciliation against the venue, and the verified cancel-all.

Part of OrderManager (order_manager.py), split out to keep modules small.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from collections.abc import Sequence

from pmbot.core.events import Fill, FillConfirmed, FillVoided, OrderUpdate
from pmbot.core.money import fmt_count, fmt_money, fmt_price
from pmbot.core.orders import LiveOrder, OrderStatus, can_transition
from pmbot.core.requests import CancelOrder
from pmbot.errors import AuthError, NotFound, VenueError
from pmbot.execution.reconcile import (
    ReconcileReport,
    VenueSnapshot,
    orders_to_resolve,
    reconcile,
)
from pmbot.execution.sending import Sender

__all__ = ["Settler"]

log = logging.getLogger("pmbot.execution")
_FILLS_COMPLETE = "fills_complete_ns"  # ledger meta: see Settler._fills_complete_ns


class Settler(Sender):
    """Fills, order updates, settlements, reconciliation and cancel_all for OrderManager."""

    # ---- stream events --------------------------------------------------------------
    def on_fill(self, f: Fill) -> bool:
        """Record a fill once (stream or backfill); False for a duplicate."""
        with self.ledger.transaction():  # fill, position and order row: one commit
            if not self.ledger.add_fill(f):
                self.stats.duplicate_fills += 1
                return False
            mine = self.state.order_by_id(f.order_id)
            if mine is not None and f.qty > mine.initial - mine.filled:
                # more filled than the total we knew: what rests is uncertain until the
                # venue's order update; reconciliation settles it if none comes
                self._needs_reconcile = True
                log.warning(
                    "fill beyond the order's known total order_id=%s filled=%s+%s initial=%s",
                    f.order_id,
                    mine.filled,
                    f.qty,
                    mine.initial,
                )
            self.state.apply(f)
            self.ledger.put_position(self.state.positions[f.ticker], f.ts_ns)
            o = self.state.order_by_id(f.order_id)
            if o is not None:
                if self._touched is not None:
                    self._touched.add(o.client_order_id)
                self.ledger.update_order(o, "fill", f"trade_id={f.trade_id} qty={f.qty}")
        return True

    def on_fill_voided(self, v: FillVoided) -> bool:
        """A provisional fill failed on chain (Polymarket): roll it back in state and ledger."""
        f = next(
            (x for x in self.state.fills if (x.trade_id, x.order_id) == (v.trade_id, v.order_id)),
            None,
        )
        if f is None:
            return False
        self.state.apply(v)
        if not self.ledger.void_fill(
            v.trade_id, v.order_id, self.state.positions.get(f.ticker), v.ts_ns
        ):
            return False
        self.stats.voided_fills += 1
        o = self.state.order_by_id(v.order_id)
        if o is not None:
            self.ledger.update_order(o, "fill_voided", f"trade_id={v.trade_id} qty={f.qty}")
        log.warning("fill voided trade_id=%s order_id=%s", v.trade_id, v.order_id)
        return True

    def on_fill_confirmed(self, c: FillConfirmed) -> bool:
        """A provisional fill became final (Polymarket CONFIRMED): record it in the ledger."""
        if self.ledger.confirm_fill(c.trade_id, c.order_id, c.ts_ns):
            self.stats.confirmed_fills += 1
            return True
        return False

    def on_order_update(self, u: OrderUpdate) -> None:
        prev = self.state.orders.get(u.client_order_id) if u.client_order_id else None
        unnamed = prev is not None and not prev.order_id
        self.state.apply(u)
        o = self.state.order_by_id(u.order_id)
        # an order whose write answer was lost: named here first
        if unnamed and o is not None and o is prev:
            log.info(
                "order learned from the stream ticker=%s side=%s price=%s status=%s "
                "order_id=%s client_order_id=%s",
                o.ticker, o.side.value, fmt_price(o.price), o.status.value, o.order_id,
                o.client_order_id,
            )  # fmt: skip
        if o is None:
            self._needs_reconcile = True  # foreign: reconciliation cancels or adopts it
            self._foreign_seen = True
            return
        if self._touched is not None:
            self._touched.add(o.client_order_id)
        # the venue's view of an order the ledger already holds: written with the next batch
        # of answers (`flush_acks`), not on the stream's hot path; a crash before that loses
        # nothing reconciliation does not learn again from the venue
        self._acks.append((o, f"venue_update:{u.status.value}"))

    def on_settlement(self, ticker: str, yes_won: bool, ts_ns: int) -> int:
        """A market settled: close our position at $1/$0, record it; returns the PnL (Micros)."""
        pos = self.state.positions.get(ticker)
        if pos is None:
            return 0
        pnl = self.state.settle_position(ticker, yes_won) or 0
        self.ledger.add_settlement(ticker, yes_won, pnl, ts_ns, pos)
        return pnl

    async def on_reconnect(self) -> ReconcileReport | None:
        """After any stream reconnect: backfill fills over REST and reconcile. A venue that
        fails meanwhile (a reconnect is when it is flaky) leaves us unreconciled (no quoting)
        and retrying through `run_periodic`, as any reconcile does: never fatal. None then."""
        return await self._reconcile_logged("after reconnect ")

    # ---- reconciliation -------------------------------------------------------------
    async def reconcile(self) -> ReconcileReport:
        """Compare with the venue and settle it.

        Quoting goes on meanwhile: every order acted upon, filled or updated while the
        venue's lists are being fetched is left out of the comparison (the lists may predate
        it), exactly like orders with a call in flight.
        """
        async with self._reconcile_lock:
            rep = await self._reconcile()
            if rep.position_mismatches:  # a fill between our reads? look once more
                rep = await self._reconcile()
            return rep

    async def _reconcile(self) -> ReconcileReport:
        self._last_reconcile = self.clock.monotonic()
        self._needs_reconcile = False
        self._foreign_seen = False
        # a call already in flight may be answered (or lost) while the lists are fetched:
        # the lists may predate what it did, so it is left out like one sent meanwhile
        self._touched = set(self._in_flight)
        try:
            return await self._reconcile_once()
        finally:
            self._touched = None

    async def _settled_meanwhile(self, venue_positions: dict[str, int]) -> None:
        """A position we hold that the venue no longer lists may have settled while we did
        not hear of it (the bot was down, or the stream missed it): ask, and settle it here
        as `on_settlement` does (else every later comparison would refuse to quote)."""
        gone = sorted(
            t for t, p in self.state.positions.items() if p.qty and not venue_positions.get(t)
        )
        if not gone:
            return
        now = self.clock.now_ns()
        for t, yes_won in (await self.venue.get_settlements(gone)).items():
            pnl = self.on_settlement(t, yes_won, now)
            log.info("settled while away ticker=%s yes_won=%s pnl=%s", t, yes_won, pnl / 1e6)

    def _fills_complete_ns(self) -> int:
        """Every fill before this is in the ledger: the time of the last reconciliation whose
        positions agreed with the venue's (else, as before one, the newest fill or the start).
        Not the newest fill: a fill lost before a newer one must stay in the backfill window."""
        v = self.ledger.get_meta(_FILLS_COMPLETE)
        if v is not None:
            return int(v)
        last = self.ledger.last_fill_ts_ns()
        return last if last is not None else self._start_ns

    async def _reconcile_once(self) -> ReconcileReport:
        venue = self.venue
        listed_ns = self.clock.now_ns()  # the lists below are at least this recent
        positions = {p.ticker: p.qty for p in await venue.get_positions()}
        await self._settled_meanwhile(positions)
        resting = await venue.list_orders(status=OrderStatus.RESTING)
        live = self.state.live_orders()
        missing = orders_to_resolve(live, resting, self._in_flight)
        history = []
        tickers = sorted({o.ticker for o in missing})
        for t in tickers:
            history += await venue.list_orders(ticker=t)
        since = self._fills_complete_ns() - int(self.config.fill_lookback_s * 1e9)
        fills = await venue.get_fills(since_ns=since)
        balance = await venue.get_balance()
        coids, oids = self.ledger.known_among(
            [u.client_order_id for u in resting if u.client_order_id], [u.order_id for u in resting]
        )
        snap = VenueSnapshot(
            self.clock.now_ns(), resting, history, tickers, fills, positions, balance
        )
        local_pos = {t: p.qty for t, p in self.state.positions.items()}
        # determined and closed here at $1/$0 (this run saw it, or the ledger has it from an
        # earlier one); the venue lists it until it settles there
        done = {t for t, m in self.state.market_status.items() if m.result in ("yes", "no")}
        if positions.keys() - local_pos.keys() or any(
            positions[t] and not local_pos.get(t) for t in positions
        ):
            done |= {s[0] for s in self.ledger.settlements()}
        for t in done:
            if not local_pos.get(t):
                positions.pop(t, None)
        skip = set(self._in_flight) | (self._touched or set())
        rep = reconcile(
            snap,
            live,
            known_client_ids=coids,
            known_order_ids=oids,
            fill_keys=self.ledger.fills_among([(f.trade_id, f.order_id) for f in fills]),
            positions=local_pos,
            in_flight=skip,
            config=self.config.reconcile,
        )
        await self._apply(rep)
        unresolved = set(rep.unresolved)
        for o in live:  # compared with the venue's lists: no amend of unknown outcome is left
            if o.amending is not None and o.client_order_id not in skip | unresolved:
                o.amending = None
        self.last_report = rep
        self.reconciled = rep.ok
        if rep.ok:  # positions agree: no fill from before the lists is missing
            self.ledger.set_meta(_FILLS_COMPLETE, str(listed_ns))
        if not rep.clean:
            self._needs_reconcile = True
            log.warning(
                "reconcile not clean %s mismatches=%s", rep.summary(), rep.position_mismatches
            )
        elif rep.changed:
            log.info("reconciled %s", rep.summary())
        return rep

    async def _apply(self, rep: ReconcileReport) -> None:
        # orders this pass names (a create whose answer was lost): their fills too
        named = {fx.order_id: fx.client_order_id for fx in rep.fixes if fx.order_id}
        for f in rep.backfill:
            coid = self.state.order_ids.get(f.order_id) or named.get(f.order_id)
            if f.client_order_id is None and coid is not None:
                # REST fills carry no client_order_id (2026-03-30): name the order we know
                f = dataclasses.replace(f, client_order_id=coid)
            if self.on_fill(f):  # found by reconciliation, not the stream: audit it too
                log.info(
                    "fill (backfill) ticker=%s side=%s price=%s count=%s fee=%s trade_id=%s "
                    "order_id=%s client_order_id=%s",
                    f.ticker, f.side.value, fmt_price(f.price), fmt_count(f.qty),
                    fmt_money(f.fee), f.trade_id, f.order_id, f.client_order_id,
                )  # fmt: skip
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
            if fx.price is not None:
                o.price = fx.price
            if fx.status is OrderStatus.RESTING:  # the venue's total; `filled` = fills applied
                o.initial = (o.filled if fx.filled is None else fx.filled) + fx.remaining
            self._set(o, fx.status, now, order_id=fx.order_id, remaining=fx.remaining)
            self.ledger.update_order(o, "reconcile", fx.reason)
            # the audit trail: an order whose write answer was lost is first named here
            log.info(
                "order reconciled ticker=%s side=%s price=%s status=%s remaining=%s "
                "order_id=%s client_order_id=%s reason=%s",
                o.ticker, o.side.value, fmt_price(o.price), o.status.value,
                fmt_count(o.remaining), o.order_id, o.client_order_id, fx.reason,
            )  # fmt: skip
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

    def prune(self, keep_s: float = 300.0) -> int:
        """Drop terminal orders older than `keep_s` from TradingState (the ledger keeps them).

        Every sync scans the state's orders; a day of quoting leaves thousands of terminal
        ones. Late fills still count (positions do not need the order) and reconciliation
        recognises our ids through the ledger.
        """
        cutoff = self.clock.now_ns() - int(keep_s * 1e9)
        orders = self.state.orders
        old = [
            c
            for c, o in orders.items()
            if o.status.terminal and o.updated_ns < cutoff and c not in self._in_flight
        ]
        for c in old:
            self.state.forget_order(c)
        return len(old)

    async def run_periodic(self) -> None:
        """Reconcile every `reconcile_interval_s`, and within `reconcile_retry_s` when one is
        wanted (unknown outcomes, foreign orders, an unclean or failed pass), so that `sync`
        never has to wait for one inline; prune the state; checkpoint the ledger.
        Run it in the app's TaskGroup."""
        cfg = self.config
        self._periodic = True
        try:
            next_full = self.clock.monotonic() + cfg.reconcile_interval_s
            while True:
                await self.clock.sleep(
                    max(0.05, min(cfg.reconcile_retry_s, cfg.reconcile_interval_s))
                )
                now = self.clock.monotonic()
                full = now >= next_full
                if not self._executing:
                    self.flush_acks()  # stream updates that arrived while nothing was sent
                if not full and not (self._needs_reconcile and self._reconcile_due()):
                    continue
                await self._reconcile_logged()
                if full:
                    next_full = now + cfg.reconcile_interval_s
                    self.prune()
                    try:  # off the event loop: a checkpoint fsyncs the database file
                        await asyncio.to_thread(self.ledger.checkpoint)
                    except sqlite3.Error as e:
                        log.warning("ledger checkpoint failed err=%s", e)
        finally:
            self._periodic = False

    def _reconcile_due(self) -> bool:
        """Reconcile now? Give the stream a moment to settle an unknown outcome itself."""
        now = self.clock.monotonic()
        if (
            now < self._reconcile_after
            or now - self._last_reconcile < self.config.reconcile_retry_s
        ):
            return False
        rep = self.last_report
        if (
            self.reconciled
            and not self._foreign_seen
            and (rep is None or rep.clean)
            and not any(
                o.status is OrderStatus.UNKNOWN
                or (
                    o.status is OrderStatus.CANCEL_PENDING
                    and o.client_order_id not in self._in_flight
                )
                for o in self.state.orders.values()
            )
        ):
            self._needs_reconcile = False  # the stream settled it (e.g. the fill arrived)
            return False
        return True

    async def _reconcile_logged(self, when: str = "") -> ReconcileReport | None:
        """Reconcile; a venue failure leaves us unreconciled (no quoting) and retrying
        (None then)."""
        try:
            return await self.reconcile()
        except AuthError:
            raise
        except VenueError as e:
            self.reconciled = False
            self._needs_reconcile = True
            log.warning("reconcile %sfailed err=%s", when, e)
            return None

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
                self._group_triggered = True
                await self.venue.trigger_order_group(self.order_group_id)
                # the venue cancels every order of the group: say so for each, here (the
                # reconciliation that follows only sees them cancelled)
                live = self.state.live_orders()  # those of unknown outcome may rest too
                log.info(
                    "order group triggered order_group_id=%s reason=%s orders=%d",
                    self.order_group_id, reason, len(live),
                )  # fmt: skip
                for o in live:
                    log.info(
                        "order canceled by the group trigger ticker=%s order_id=%s "
                        "client_order_id=%s",
                        o.ticker, o.order_id, o.client_order_id,
                    )  # fmt: skip
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

    def venue_tripped_group(self, group_id: str, event_type: str) -> bool:
        """True when the venue says it triggered our current order group and we did not ask
        for it (our own cancel-all triggers it too): fills over the group's limit within its
        window; every order of the group is cancelled and new ones are refused."""
        return (
            event_type == "triggered"
            and group_id == self.order_group_id
            and not self._group_triggered
        )

    async def resume(self) -> None:
        """Allow quoting again after a cancel_all: a triggered order group rejects every new
        order until reset, so replace it with a fresh one."""
        if self.order_group_id is not None and self._group_triggered:
            old = self.order_group_id
            try:
                await self.venue.delete_order_group(old)
            except VenueError as e:
                log.warning("order group delete failed order_group_id=%s err=%s", old, e)
            limit = self.config.order_group_limit
            self.order_group_id = (
                None if limit is None else await self.venue.create_order_group(limit)
            )
            self._group_triggered = False
            if self.order_group_id is not None:
                self.ledger.set_meta("order_group_id", self.order_group_id)
            log.info("order group replaced old=%s new=%s", old, self.order_group_id)
        self.halted = False
