"""An in-memory VENUE implementing pmbot.ports.VenuePort for order-manager tests.

Not a mock of our code: it is a small exchange with Kalshi's order rules that matter to the
order manager (client_order_id burned forever, 404 identical for canceled/executed/unknown,
amend count = total incl. filled, price change or size increase loses priority, decrease
keeps it, post-only cross rejects, per-item batch errors) and fault hooks (fail a call,
apply it and then time out, keep showing a cancelled order as resting: the cancel race).
Takers are injected with `trade(...)`; the fills it generates queue in `stream`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pmbot.core.events import Fill, OrderUpdate, PositionSnapshot
from pmbot.core.money import Micros, Price, Qty
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.requests import (
    AmendOrder,
    CancelAck,
    CancelOrder,
    CreateOrder,
    DecreaseOrder,
    OrderAck,
)
from pmbot.errors import (
    NotFound,
    OrderRejected,
    VenueError,
    VenueUnavailable,
)


@dataclass
class VOrder:
    order_id: str
    client_order_id: str
    ticker: str
    side: Side
    price: Price
    initial: Qty
    filled: Qty
    remaining: Qty
    status: OrderStatus
    prio: int
    group: str | None = None

    def view(self, ts: int) -> OrderUpdate:
        return OrderUpdate(
            self.order_id,
            self.client_order_id,
            self.ticker,
            self.side,
            self.price,
            self.status,
            self.initial,
            self.filled,
            self.remaining,
            ts,
        )


class FakeVenue:
    def __init__(self, now: Callable[[], int] = lambda: 0, max_batch: int = 20) -> None:
        self.now = now
        self.max_batch_create = max_batch
        self.max_batch_cancel = max_batch
        self.orders: dict[str, VOrder] = {}
        self.burned: set[str] = set()
        self.fills: list[Fill] = []
        self.stream: list[Fill] = []  # fills for the test to deliver (or drop)
        self.positions: Counter[str] = Counter()
        self.settled: dict[str, bool] = {}
        self.balance: Micros = 1_000_000_000
        self.external: dict[str, tuple[Price | None, Price | None]] = {}  # others' best bid/ask
        self.calls: Counter[str] = Counter()
        self.fail: dict[str, list[BaseException]] = {}  # kind -> errors raised before acting
        self.fail_after: dict[str, list[BaseException]] = {}  # kind -> raised after acting
        self.stale_resting: dict[str, int] = {}  # order_id -> list calls still showing it resting
        self.sticky: set[str] = set()  # order_ids whose cancels silently do nothing
        self.reject_create: dict[str, str] = {}  # client_order_id -> error code
        self.on_create: Callable[[CreateOrder], None] | None = None
        self.on_amend: Callable[[AmendOrder], None] | None = None
        self._ids = itertools.count(1)
        self._prio = itertools.count(1)
        self._trades = itertools.count(1)
        self.groups: dict[str, bool] = {}
        self.hold: dict[str, asyncio.Event] = {}  # kind -> the call waits for this event
        # kind -> the call acts at once, then waits for this event before it answers
        self.hold_answer: dict[str, asyncio.Event] = {}

    # ---- helpers --------------------------------------------------------------------
    async def _wait(self, kind: str) -> None:
        ev = self.hold.get(kind)
        if ev is not None:
            await ev.wait()

    def _hook(self, kind: str, after: bool = False) -> None:
        q = (self.fail_after if after else self.fail).get(kind)
        if q:
            raise q.pop(0)

    def resting(self, ticker: str | None = None) -> list[VOrder]:
        return [
            o
            for o in self.orders.values()
            if o.status is OrderStatus.RESTING and (ticker is None or o.ticker == ticker)
        ]

    def _fill(self, o: VOrder, price: Price, qty: Qty, taker: bool) -> None:
        o.filled += qty
        o.remaining -= qty
        if o.remaining == 0:
            o.status = OrderStatus.EXECUTED
        f = Fill(
            f"t{next(self._trades)}",
            o.order_id,
            o.ticker,
            o.side,
            price,
            qty,
            0,
            taker,
            self.now(),
            client_order_id=o.client_order_id,
        )
        self.fills.append(f)
        self.stream.append(f)
        self.positions[o.ticker] += o.side.sign * qty

    def trade(self, ticker: str, taker_side: Side, price: Price, qty: Qty) -> None:
        """An outside taker: sells into our bids at >= price or buys our asks at <= price."""
        ours = [
            o
            for o in self.resting(ticker)
            if o.side is taker_side.opposite
            and (o.price >= price if o.side is Side.BID else o.price <= price)
        ]
        ours.sort(key=lambda o: (-o.price if o.side is Side.BID else o.price, o.prio))
        for o in ours:
            if qty <= 0:
                break
            n = min(qty, o.remaining)
            self._fill(o, o.price, n, False)
            qty -= n

    def add_foreign(self, ticker: str, side: Side, price: Price, qty: Qty) -> str:
        oid = f"F{next(self._ids)}"
        self.orders[oid] = VOrder(
            oid, "", ticker, side, price, qty, 0, qty, OrderStatus.RESTING, next(self._prio)
        )
        return oid

    # ---- port -----------------------------------------------------------------------
    async def create_order(self, req: CreateOrder) -> OrderAck:
        self.calls["create"] += 1
        await self._wait("create")
        self._hook("create")
        r = self._create(req)
        if isinstance(r, BaseException):
            raise r
        self._hook("create", after=True)
        return r

    async def batch_create(self, reqs: Sequence[CreateOrder]) -> list[OrderAck | VenueError]:
        self.calls["batch_create"] += 1
        assert len(reqs) <= self.max_batch_create
        await self._wait("batch_create")
        self._hook("batch_create")
        out = [self._create(r) for r in reqs]
        self._hook("batch_create", after=True)
        return out

    def _create(self, req: CreateOrder) -> OrderAck | VenueError:
        if self.on_create:
            self.on_create(req)
        if req.client_order_id in self.burned:
            return OrderRejected("exists", status=409, code="order_already_exists")
        self.burned.add(req.client_order_id)
        if req.client_order_id in self.reject_create:
            return OrderRejected(
                "rejected", status=400, code=self.reject_create[req.client_order_id]
            )
        if req.order_group_id and self.groups.get(req.order_group_id):
            return OrderRejected("group triggered", status=400, code="order_group_triggered")
        bid, ask = self.external.get(req.ticker, (None, None))
        crosses = (
            (ask is not None and req.price >= ask)
            if req.side is Side.BID
            else (bid is not None and req.price <= bid)
        )
        oid = f"O{next(self._ids)}"
        o = VOrder(
            oid,
            req.client_order_id,
            req.ticker,
            req.side,
            req.price,
            req.qty,
            0,
            req.qty,
            OrderStatus.RESTING,
            next(self._prio),
            req.order_group_id,
        )
        if crosses:
            if req.post_only:
                return OrderRejected("post only cross", status=400, code="post_only_cross")
            self.orders[oid] = o
            self._fill(o, ask if req.side is Side.BID else bid, req.qty, True)  # type: ignore[arg-type]
        self.orders[oid] = o
        return OrderAck(oid, req.client_order_id, self.now(), o.filled, o.remaining)

    async def cancel(self, req: CancelOrder) -> CancelAck:
        self.calls["cancel"] += 1
        self._hook("cancel")
        r = self._cancel(req)
        if isinstance(r, BaseException):
            raise r
        self._hook("cancel", after=True)
        return r

    async def batch_cancel(self, reqs: Sequence[CancelOrder]) -> list[CancelAck | VenueError]:
        self.calls["batch_cancel"] += 1
        assert len(reqs) <= self.max_batch_cancel
        self._hook("batch_cancel")
        return [self._cancel(r) for r in reqs]

    def _cancel(self, req: CancelOrder) -> CancelAck | VenueError:
        o = self.orders.get(req.order_id)
        if o is None or o.status is not OrderStatus.RESTING:
            return NotFound("not found", status=404, code="not_found")
        if o.order_id in self.sticky:
            return CancelAck(o.order_id, 0, self.now())  # a lie: it still rests
        n, o.remaining, o.status = o.remaining, 0, OrderStatus.CANCELED
        return CancelAck(o.order_id, n, self.now(), o.client_order_id)

    async def amend(self, req: AmendOrder) -> OrderAck:
        self.calls["amend"] += 1
        if self.on_amend:
            self.on_amend(req)
        await self._wait("amend")
        self._hook("amend")
        o = self.orders.get(req.order_id)
        if o is None or o.status is not OrderStatus.RESTING:
            raise NotFound("not found", status=404, code="not_found")
        if req.side is not o.side or req.count <= o.filled:
            raise OrderRejected("bad amend", status=400, code="invalid_order")
        new_rem = req.count - o.filled
        if req.price != o.price or new_rem > o.remaining:
            o.prio = next(self._prio)  # back of the queue
        o.price, o.remaining, o.initial = req.price, new_rem, req.count
        self._hook("amend", after=True)
        ev = self.hold_answer.get("amend")
        if ev is not None:
            await ev.wait()
        return OrderAck(o.order_id, o.client_order_id, self.now(), o.filled, o.remaining)

    async def decrease(self, req: DecreaseOrder) -> OrderAck:
        self.calls["decrease"] += 1
        self._hook("decrease")
        o = self.orders.get(req.order_id)
        if o is None or o.status is not OrderStatus.RESTING:
            raise NotFound("not found", status=404, code="not_found")
        if req.reduce_by is not None:  # what Kalshi does with reduce_by: never below 0
            o.remaining = max(0, o.remaining - req.reduce_by)
        else:
            o.remaining = min(o.remaining, req.reduce_to)
        o.initial = o.filled + o.remaining
        if o.remaining == 0:
            o.status = OrderStatus.CANCELED
        return OrderAck(o.order_id, o.client_order_id, self.now(), o.filled, o.remaining)

    async def list_orders(
        self,
        *,
        status: OrderStatus | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts_ns: int | None = None,
    ) -> list[OrderUpdate]:
        self.calls["list_orders"] += 1
        self._hook("list_orders")
        out = []
        for o in self.orders.values():
            st = o.status
            if o.order_id in self.stale_resting and self.stale_resting[o.order_id] > 0:
                self.stale_resting[o.order_id] -= 1
                st = OrderStatus.RESTING
            if (status is None or st is status) and (ticker is None or o.ticker == ticker):
                v = o.view(self.now())
                if st is not o.status:
                    v = OrderUpdate(
                        v.order_id,
                        v.client_order_id,
                        v.ticker,
                        v.side,
                        v.price,
                        st,
                        v.initial,
                        v.filled,
                        v.initial - v.filled,
                        v.ts_ns,
                    )
                out.append(v)
        await self._wait("list_orders")  # the answer is computed: it goes stale while held
        return out

    async def get_fills(
        self, *, since_ns: int | None = None, ticker: str | None = None
    ) -> list[Fill]:
        self.calls["get_fills"] += 1
        return [
            f
            for f in self.fills
            if (since_ns is None or f.ts_ns >= since_ns) and (ticker is None or f.ticker == ticker)
        ]

    async def get_positions(self) -> list[PositionSnapshot]:
        self.calls["get_positions"] += 1
        return [PositionSnapshot(t, q, self.now()) for t, q in self.positions.items() if q]

    async def get_balance(self) -> Micros:
        return self.balance

    async def get_settlements(self, tickers: Sequence[str]) -> dict[str, bool]:
        self.calls["get_settlements"] += 1
        return {t: self.settled[t] for t in tickers if t in self.settled}

    def settle(self, ticker: str, yes_won: bool) -> None:
        """The market settles: its position leaves the positions list (as on Kalshi)."""
        self.settled[ticker] = yes_won
        self.positions.pop(ticker, None)

    async def create_order_group(self, contracts_limit: Qty) -> str:
        self._hook("create_order_group")
        gid = f"G{next(self._ids)}"
        self.groups[gid] = False
        return gid

    async def trigger_order_group(self, group_id: str) -> None:
        self.groups[group_id] = True
        for o in self.orders.values():
            if (
                o.group == group_id
                and o.status is OrderStatus.RESTING
                and o.order_id not in self.sticky
            ):
                o.remaining, o.status = 0, OrderStatus.CANCELED

    async def delete_order_group(self, group_id: str) -> None:
        await self.trigger_order_group(group_id)
        self.groups.pop(group_id, None)

    async def reuse_order_group(self, group_id: str, contracts_limit: Qty) -> None:
        self._hook("reuse_order_group")
        if group_id not in self.groups:
            raise NotFound("not found", status=404)
        self.groups[group_id] = False


def unavailable() -> VenueUnavailable:
    return VenueUnavailable("timeout", status=None)
