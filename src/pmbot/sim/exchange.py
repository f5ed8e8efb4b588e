"""The exchange core: engine + ledger + markets + order rules, with Kalshi's error bodies.

Everything an order write needs to decide (grid, balance, post-only, duplicate client ids,
closed markets, trading pause, order groups, reduce-only) lives here, so the REST layer only
parses and the backtester can drive the same rules without sockets. Every state change is
appended to `outbox` as a (kind, payload) pair for the WebSocket fan-out. Pure: time comes in
as `ts_ns`.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pmbot.core.market import FeeSchedule
from pmbot.core.money import ONE, Micros, Price, PriceGrid, Qty
from pmbot.sim.accounts import Ledger
from pmbot.sim.engine import FOK, GTC, IOC, Engine, Order
from pmbot.sim.markets import SERIES, SimEvent, SimMarket, yes_wins

__all__ = ["NOT_FOUND", "Exchange", "ExchangeError", "OrderGroup", "OrderLogEntry", "err"]

GROUP_WINDOW_NS = 15_000_000_000


class ExchangeError(Exception):
    """A rejection carrying the exact HTTP status and body the real exchange sends."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def err(
    status: int, code: str, message: str, details: str | None = None, service: bool = True
) -> ExchangeError:
    e: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        e["details"] = details
    if service:
        e["service"] = "exchange"
    return ExchangeError(status, {"error": e})


NOT_FOUND = (404, "not_found", "not found")


@dataclass(frozen=True, slots=True)
class OrderLogEntry:
    """One accepted member request: op is create, amend, decrease or cancel."""

    ts_ns: int
    user: str
    op: str
    order_id: str
    ticker: str
    side: str
    price: Price
    remaining: Qty


@dataclass(slots=True)
class OrderGroup:
    group_id: str
    user: str
    limit: Qty
    triggered: bool = False
    fills: deque[tuple[int, Qty]] = field(default_factory=deque)
    orders: set[str] = field(default_factory=set)


class Exchange:
    def __init__(self, *, seed: int = 0) -> None:
        self.engine = Engine()
        self.ledger = Ledger()
        self.markets: dict[str, SimMarket] = {}
        self.unsettled: dict[str, SimMarket] = {}  # markets not yet finalized (what ticks visit)
        self.events: dict[str, SimEvent] = {}
        self.client_ids: dict[str, set[str]] = {}
        self.groups: dict[str, OrderGroup] = {}
        self.trading_paused = False
        self.exchange_active = True
        self.trades: deque[tuple[str, str, Price, Qty, str, int]] = deque(maxlen=100_000)
        self.outbox: list[tuple[str, Any]] = []
        self._n = 0
        self._seed = seed
        self.unlimited: set[str] = set()  # users exempt from the balance check (background flow)
        # who created/amended/cancelled what at which simulated time (members only, not the
        # background flow): the chaos suite checks the bot's sends against its fault timeline
        self.order_log: deque[OrderLogEntry] = deque(maxlen=1_000_000)  # bounded: long sims

    # -- ids --------------------------------------------------------------------------------
    def new_id(self) -> str:
        self._n += 1
        return str(
            uuid.UUID(
                int=(self._seed * 0x9E3779B97F4A7C15 + self._n * 0xBF58476D1CE4E5B9) % (1 << 128),
                version=4,
            )
        )

    # -- markets ----------------------------------------------------------------------------
    def add_markets(self, events: list[SimEvent], markets: list[SimMarket]) -> None:
        for ev in events:
            self.events[ev.event_ticker] = ev
            self.outbox.append(("event", ev))
        for m in markets:
            self.markets[m.ticker] = m
            self.unsettled[m.ticker] = m
            self.ledger.events_of[m.ticker] = m.event_ticker
            self.ledger.fees_of[m.ticker] = SERIES[m.series_ticker].fees
            self.outbox.append(("lifecycle", ("created", m)))

    def tick(self, ts_ns: int, level_at: Any) -> None:
        """Run time-driven transitions up to ts_ns: expiries, open, close, determine, settle."""
        self.engine.expire(ts_ns)
        self.flush(ts_ns)
        done = []
        for m in self.unsettled.values():
            if m.status == "finalized":
                done.append(m.ticker)
                continue
            if m.status == "initialized" and ts_ns >= m.open_ns:
                m.status = "active"
                m.updated_ns = ts_ns
            if m.status in ("active", "inactive") and ts_ns >= m.close_ns:
                m.status = "closed"
                m.updated_ns = ts_ns
                self.engine.cancel_market(m.ticker, ts_ns)
                self.flush(ts_ns)
            if m.status == "closed" and ts_ns >= m.close_ns + 60_000_000_000:
                v = level_at(m.close_ns)
                m.expiration_value = v
                m.result = "yes" if yes_wins(m, v) else "no"
                m.status = "determined"
                m.determined_ns = ts_ns
                m.updated_ns = ts_ns
                self.outbox.append(("lifecycle", ("determined", m)))
                for user, rec in self.ledger.settle(m.ticker, m.result == "yes", ts_ns):
                    self.outbox.append(("settlement", (user, rec)))
                m.status = "finalized"
                m.settled_ns = ts_ns
                m.open_interest = 0
                self.outbox.append(("lifecycle", ("settled", m)))
                done.append(m.ticker)
        for t in done:
            del self.unsettled[t]

    def set_price_levels(self, ticker: str, structure: str, grid: PriceGrid, ts_ns: int) -> None:
        """A new set of valid prices for a market (`price_level_structure_updated`)."""
        m = self.markets[ticker]
        m.price_level_structure, m.grid, m.updated_ns = structure, grid, ts_ns
        self.outbox.append(("lifecycle", ("price_level_structure_updated", m)))

    def set_event_fees(self, event_ticker: str, fees: FeeSchedule, ts_ns: int) -> None:
        """An event-level fee override: its markets' fills are charged by it from now on."""
        ev = self.events[event_ticker]
        ev.fee_override, ev.updated_ns = fees, ts_ns
        for t, m in self.markets.items():
            if m.event_ticker == event_ticker:
                self.ledger.fees_of[t] = fees

    def set_close(self, ticker: str, close_ns: int, ts_ns: int) -> None:
        """A new close time for a market (`close_date_updated`): earlier closes sooner."""
        m = self.markets[ticker]
        m.close_ns, m.updated_ns = close_ns, ts_ns
        self.outbox.append(("lifecycle", ("close_date_updated", m)))

    def set_paused(self, paused: bool, ts_ns: int) -> None:
        """Trading pause: creates/amends rejected, cancels allowed; cancel_order_on_pause honored."""
        self.trading_paused = paused
        if paused:
            for o in self.engine.resting():
                if o.cancel_on_pause:
                    self.engine.cancel(o.order_id, ts_ns)
            self.flush(ts_ns)

    # -- validation -------------------------------------------------------------------------
    def _market_for_trade(self, ticker: str) -> SimMarket:
        m = self.markets.get(ticker)
        if m is None:
            raise err(404, "market_not_found", "market not found")
        if m.status != "active" or m.paused:
            raise err(400, "market_closed", "market closed", "MARKET_INACTIVE")
        return m

    def _check_open(self) -> None:
        if not self.exchange_active:
            raise err(503, "exchange_unavailable", "exchange unavailable")
        if self.trading_paused:
            raise err(400, "trading_is_paused", "trading is paused")

    def create(
        self,
        user: str,
        *,
        ticker: str,
        side: str,
        price: Price,
        count: Qty,
        tif: str,
        stp: str,
        ts_ns: int,
        client_order_id: str = "",
        post_only: bool = False,
        reduce_only: bool = False,
        expiration_ts: int | None = None,
        group_id: str | None = None,
        cancel_on_pause: bool = False,
    ) -> Order:
        self._check_open()
        if (
            side not in ("bid", "ask")
            or tif not in (GTC, IOC, FOK)
            or stp not in ("taker_at_cross", "maker")
        ):
            raise err(400, "invalid_parameters", "invalid parameters", service=False)
        if count <= 0:
            raise err(400, "invalid_order_size", "invalid order size")
        if expiration_ts is not None and (tif != GTC or expiration_ts * 1_000_000_000 <= ts_ns):
            raise err(
                400, "invalid_order", "invalid order", "invalid expiration time", service=False
            )
        used = self.client_ids.setdefault(user, set())
        if client_order_id and client_order_id in used:
            raise err(409, "order_already_exists", "order already exists")
        m = self._market_for_trade(ticker)
        if not m.grid.valid_order_price(price):
            raise err(400, "invalid_price", "invalid price")
        g = None
        if group_id is not None:
            g = self.groups.get(group_id)
            if g is None or g.user != user:
                raise err(404, "not_found", "not found")
            if g.triggered:
                raise err(400, "order_group_triggered", "order group triggered")
        if reduce_only:
            pos = self.ledger.accounts[user].positions.get(ticker)
            q = pos.qty if pos else 0
            cap = max(0, -q) if side == "bid" else max(0, q)
            if cap == 0:
                raise err(400, "invalid_order", "invalid order", "reduce only", service=False)
            count = min(count, cap)
        if post_only and self.engine.would_cross(ticker, side, price):
            raise err(400, "invalid_order", "invalid order", "post only cross", service=False)
        if not reduce_only and user not in self.unlimited:
            # positions net (§3.8): selling YES we hold (or buying back NO) needs no cash for
            # the held part not already offered by our other resting orders on that side
            pos = self.ledger.accounts[user].positions.get(ticker)
            q = pos.qty if pos else 0
            held = max(0, q) if side == "ask" else max(0, -q)
            if held:
                held = max(0, held - self._offered(user, ticker, side))
            cost = (price if side == "bid" else ONE - price) * max(0, count - held)
            if cost > self._free_cash(user):
                raise err(400, "insufficient_balance", "insufficient balance")
        if client_order_id:
            used.add(client_order_id)
        o = Order(
            self.new_id(),
            user,
            ticker,
            side,
            price,
            count,
            tif=tif,
            stp=stp,
            client_order_id=client_order_id,
            post_only=post_only,
            reduce_only=reduce_only,
            group_id=group_id,
            expiration_ts=expiration_ts,
            cancel_on_pause=cancel_on_pause,
        )
        if g is not None:
            g.orders.add(o.order_id)
        self.engine.submit(o, ts_ns)
        self._log(ts_ns, user, "create", o)
        self.flush(ts_ns)
        return o

    def _log(self, ts_ns: int, user: str, op: str, o: Order) -> None:
        if user not in self.unlimited:
            self.order_log.append(
                OrderLogEntry(ts_ns, user, op, o.order_id, o.ticker, o.side, o.price, o.remaining)
            )

    def _own_resting(self, user: str, order_id: str) -> Order:
        o = self.engine.orders.get(order_id)
        if o is None or o.user != user or o.status != "resting":
            raise err(*NOT_FOUND)
        return o

    def cancel(self, user: str, order_id: str, ts_ns: int) -> tuple[Order, Qty]:
        if not self.exchange_active:
            raise err(503, "exchange_unavailable", "exchange unavailable")
        o = self._own_resting(user, order_id)
        m = self.markets.get(o.ticker)
        if m is not None and m.status != "active":
            raise err(400, "market_closed", "market closed", "MARKET_INACTIVE")
        n = self.engine.cancel(order_id, ts_ns) or 0
        self._log(ts_ns, user, "cancel", o)
        self.flush(ts_ns)
        return o, n

    def decrease(
        self, user: str, order_id: str, ts_ns: int, *, reduce_by: Qty | None, reduce_to: Qty | None
    ) -> Order:
        o = self._own_resting(user, order_id)
        target = reduce_to if reduce_to is not None else o.remaining - (reduce_by or 0)
        self.engine.decrease(order_id, target, ts_ns)
        self._log(ts_ns, user, "decrease", o)
        self.flush(ts_ns)
        return o

    def amend(
        self,
        user: str,
        order_id: str,
        *,
        ticker: str,
        side: str,
        price: Price,
        count: Qty,
        ts_ns: int,
        updated_client_order_id: str | None = None,
    ) -> tuple[Order, Qty]:
        self._check_open()
        o = self._own_resting(user, order_id)
        if o.ticker != ticker:
            raise err(400, "order_ticker_mismatch", "order ticker mismatch")
        if o.side != side:
            raise err(400, "order_side_mismatch", "order side mismatch")
        if not self.markets[ticker].grid.valid_order_price(price):
            raise err(400, "invalid_price", "invalid price")
        if count <= o.filled:
            raise err(400, "invalid_order_size", "invalid order size")
        if user not in self.unlimited:
            # the amended order must be paid for as a new one would be, its own hold released
            # (netted like `create`); an amend that holds no more than before always passes
            free_now, free = self._free_cash(user), self._free_cash(user, skip=order_id)
            pos = self.ledger.accounts[user].positions.get(ticker)
            q = pos.qty if pos else 0
            cover = max(0, q) if side == "ask" else max(0, -q)
            cover = max(0, cover - self._offered(user, ticker, side, skip=order_id))
            leg = price if side == "bid" else ONE - price
            cost = leg * max(0, count - o.filled - cover)
            if cost > free - free_now and cost > free:
                raise err(400, "insufficient_balance", "insufficient balance")
        if updated_client_order_id:
            used = self.client_ids.setdefault(user, set())
            if updated_client_order_id in used:
                raise err(409, "order_already_exists", "order already exists")
            used.add(updated_client_order_id)
            o.client_order_id = updated_client_order_id
        filled_before = o.filled
        self.engine.amend(order_id, price, count, ts_ns)
        self._log(ts_ns, user, "amend", o)
        self.flush(ts_ns)
        return o, o.filled - filled_before

    def _offered(self, user: str, ticker: str, side: str, skip: str = "") -> Qty:
        """What our resting orders on one side of a market offer (less the `skip` order)."""
        return sum(
            o.remaining
            for o in self.engine.resting(user)
            if o.ticker == ticker and o.side == side and o.order_id != skip
        )

    def _free_cash(self, user: str, skip: str = "") -> Micros:
        """Cash less what resting orders hold (all but `skip`), netted like `create` (§3.8):
        the part of an ask covered by held YES (of a bid, by held NO) holds nothing."""
        a = self.ledger.accounts[user]
        cover: dict[tuple[str, str], Qty] = {}
        held: Micros = 0
        for o in self.engine.resting(user):
            if o.order_id == skip:
                continue
            k = (o.ticker, o.side)
            c = cover.get(k)
            if c is None:
                pos = a.positions.get(o.ticker)
                q = pos.qty if pos else 0
                c = max(0, q) if o.side == "ask" else max(0, -q)
            used = min(c, o.remaining)
            cover[k] = c - used
            held += o.leg_cost_price * (o.remaining - used)
        return a.cash - held

    # -- order groups -----------------------------------------------------------------------
    def group_create(self, user: str, limit: Qty) -> OrderGroup:
        g = OrderGroup(self.new_id(), user, limit)
        self.groups[g.group_id] = g
        self.outbox.append(("group", ("created", g)))
        return g

    def group(self, user: str, gid: str) -> OrderGroup:
        g = self.groups.get(gid)
        if g is None or g.user != user:
            raise err(*NOT_FOUND)
        return g

    def group_trigger(self, g: OrderGroup, ts_ns: int, *, event: str = "triggered") -> None:
        g.triggered = True
        for oid in list(g.orders):
            self.engine.cancel(oid, ts_ns)
        self.flush(ts_ns)
        self.outbox.append(("group", (event, g)))

    def group_reset(self, g: OrderGroup) -> None:
        g.triggered = False
        g.fills.clear()
        self.outbox.append(("group", ("reset", g)))

    def group_limit(self, g: OrderGroup, limit: Qty) -> None:
        g.limit = limit
        self.outbox.append(("group", ("limit_updated", g)))

    def group_delete(self, g: OrderGroup, ts_ns: int) -> None:
        self.group_trigger(g, ts_ns, event="deleted")
        del self.groups[g.group_id]

    def _group_fill(self, o: Order, n: Qty, ts_ns: int) -> None:
        g = self.groups.get(o.group_id or "")
        if g is None or g.triggered:
            return
        g.fills.append((ts_ns, n))
        while g.fills and g.fills[0][0] <= ts_ns - GROUP_WINDOW_NS:
            g.fills.popleft()
        if sum(q for _, q in g.fills) > g.limit:
            g.triggered = True
            for oid in list(g.orders):
                self.engine.cancel(oid, ts_ns)
            self.outbox.append(("group", ("triggered", g)))

    # -- event plumbing ---------------------------------------------------------------------
    def flush(self, ts_ns: int) -> None:
        """Book fills into the ledger and queue every change for the fan-out."""
        while True:
            changes, fills, updates = self.engine.drain()
            if not (changes or fills or updates):
                return
            accts = self.ledger.accounts
            for c in changes:
                self.outbox.append(("delta", c))
                if c.user is not None:
                    accts[c.user].reserved += c.delta * c.price
            for f in fills:
                tr, mr = self.ledger.apply(f)
                m = self.markets.get(f.ticker)
                if m is not None:
                    for r in (tr, mr):
                        pre = r.post_position - (r.count if r.side == "bid" else -r.count)
                        m.open_interest += max(r.post_position, 0) - max(pre, 0)
                    m.last_price = f.price
                    m.last_size = f.count
                    m.volume += f.count
                    m.volume_24h += f.count
                    m.updated_ns = ts_ns
                self.trades.append((f.trade_id, f.ticker, f.price, f.count, f.taker.side, f.ts_ns))
                self.outbox.append(("trade", f))
                self.outbox.append(("fill", (f.taker, tr)))
                self.outbox.append(("fill", (f.maker, mr)))
                for o in (f.taker, f.maker):
                    if o.group_id:
                        self._group_fill(o, f.count, ts_ns)
            for u in updates:
                self.outbox.append(("order", u.order))

    def drain(self) -> list[tuple[str, Any]]:
        out, self.outbox = self.outbox, []
        return out

    def money_check(self, initial_total: Micros) -> bool:
        """Conservation: cash + fee income + collateral equals what was deposited."""
        return (
            self.ledger.total_cash() + self.ledger.fee_income + self.ledger.collateral()
            == initial_total
        )
