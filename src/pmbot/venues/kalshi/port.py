"""`KalshiPort`: the order manager's `VenuePort` on top of `KalshiVenue`'s HTTP client.

Maps the venue-neutral requests of core/requests.py onto Kalshi's V2 order endpoints and
their answers back onto acks, item by item for batches (partial success is normal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pmbot.core.events import Fill, OrderUpdate, PositionSnapshot
from pmbot.core.money import Micros, Qty
from pmbot.core.orders import OrderStatus
from pmbot.core.requests import (
    AmendOrder,
    CancelAck,
    CancelOrder,
    CreateOrder,
    DecreaseOrder,
    OrderAck,
)
from pmbot.errors import VenueError
from pmbot.venues.kalshi import convert, rest
from pmbot.venues.kalshi import wire as w
from pmbot.venues.kalshi.venue import KalshiVenue, _item_error

__all__ = ["KalshiPort"]

_CREATE_COST = 10  # tokens per order in a batch create (default endpoint cost)
_CANCEL_COST = 2  # V2 cancel / batch-cancel item cost (recorded endpoint costs)


class KalshiPort:
    """VenuePort for Kalshi (real exchange or simulator)."""

    def __init__(self, venue: KalshiVenue) -> None:
        self.venue = venue
        self.http = venue.http

    # batch sizes: the whole batch must fit the write bucket at once
    @property
    def max_batch_create(self) -> int:
        # one order's worth of headroom: a batch that needs exactly a full bucket is refused
        # by the venue whenever its refill clock runs a hair behind ours
        return max(1, min(20, int(self.http.write_bucket.capacity // _CREATE_COST) - 1))

    @property
    def max_batch_cancel(self) -> int:
        return max(1, min(100, int(self.http.write_bucket.capacity // _CANCEL_COST)))

    # the client-side write budget, so the order manager plans only what can go out at once
    write_op_cost = float(_CREATE_COST)  # a create / amend / decrease item
    write_cancel_cost = float(_CANCEL_COST)

    def write_budget(self) -> float:
        """Write tokens spendable now, less one item's worth of headroom (the venue's bucket
        refills on its own clock and may be a hair behind ours)."""
        b = self.http.write_bucket
        return b.available(self.http.clock.monotonic()) - _CREATE_COST

    def prepay_writes(self, tokens: float) -> None:
        """Pay for a committed plan's calls now (they go out a moment later, from a task)."""
        self.http.prepay_writes(tokens)

    def presign_paths(self, order_ids: Iterable[str]) -> list[tuple[str, str]]:
        """The signed (method, path) pairs worth a ready-made signature: creating, batch
        cancelling, and amending or cancelling each of these resting orders."""
        sp = self.http.urls.signed_path
        out = [(m, sp(p)) for m, p in rest.WRITE_PATHS]
        for oid in order_ids:
            out += [(m, sp(p)) for m, p in rest.order_write_paths(oid)]
        return out

    def write_wait_s(self, tokens: float) -> float:
        """Seconds until `tokens` (plus the headroom) will be spendable."""
        b = self.http.write_bucket
        return b.wait_for(tokens + _CREATE_COST, self.http.clock.monotonic())

    def _now(self) -> int:
        return self.venue.clock.now_ns()

    def _spec(self, r: CreateOrder) -> rest.OrderSpec:
        return rest.OrderSpec(
            r.ticker, r.side, r.price, r.qty, r.client_order_id, **_create_opts(r)
        )  # type: ignore[arg-type]

    def _ack(self, r: object, coid: str | None) -> OrderAck:
        """Any V2 write answer (create, batch item, amend, decrease) -> OrderAck."""
        g = lambda name: getattr(r, name, None)  # noqa: E731 - the answers share field names
        ts_ms = g("ts_ms")
        return OrderAck(
            order_id=g("order_id"),
            client_order_id=g("client_order_id") or coid or None,
            ts_ns=ts_ms * 1_000_000 if ts_ms else self._now(),
            filled=None
            if g("fill_count") is None
            else convert._count(g("fill_count"), "fill_count"),
            remaining=None
            if g("remaining_count") is None
            else convert._count(g("remaining_count"), "remaining_count"),
            avg_fill_price=None
            if g("average_fill_price") is None
            # FixedPointDollars: answers carry up to 6 dp (1.58 / 3 = "0.526667")
            else convert._money(g("average_fill_price"), "average_fill_price"),
            avg_fee=None
            if g("average_fee_paid") is None
            else convert._money(g("average_fee_paid"), "average_fee_paid"),
        )

    async def create_order(self, req: CreateOrder) -> OrderAck:
        r = await self.http.create_order(
            req.ticker,
            req.side,
            req.price,
            req.qty,
            client_order_id=req.client_order_id,
            **_create_opts(req),
        )
        return self._ack(r, req.client_order_id)

    async def batch_create(self, reqs: Sequence[CreateOrder]) -> list[OrderAck | VenueError]:
        specs = [self._spec(r) for r in reqs]
        resp = await self.http.batch_create(specs)
        out: list[OrderAck | VenueError] = []
        for spec, item in zip(specs, resp.orders, strict=False):
            if item.error is not None or not item.order_id:
                out.append(
                    _item_error(
                        item.error or w.ErrorDetail(code="unknown", message="no order id"),
                        spec.client_order_id,
                    )
                )
            else:
                out.append(self._ack(item, spec.client_order_id))
        while len(out) < len(specs):  # a short answer: the rest's outcome is unknown
            out.append(VenueError("batch create: no answer for this order"))
        return out

    async def cancel(self, req: CancelOrder) -> CancelAck:
        r = await self.http.cancel_order(req.order_id, client_order_id=req.client_order_id)
        return CancelAck(
            r.order_id,
            convert._count(r.reduced_by, "reduced_by"),
            r.ts_ms * 1_000_000 if r.ts_ms else self._now(),
            r.client_order_id,
        )

    async def batch_cancel(self, reqs: Sequence[CancelOrder]) -> list[CancelAck | VenueError]:
        resp = await self.http.batch_cancel(
            [r.order_id for r in reqs],
            client_order_ids={r.order_id: r.client_order_id for r in reqs if r.client_order_id},
        )
        by_id = {i.order_id: i for i in resp.orders}
        out: list[CancelAck | VenueError] = []
        for r in reqs:
            item = by_id.get(r.order_id)
            if item is None:
                out.append(VenueError("batch cancel: no answer for this order"))
            elif item.error is not None:
                out.append(_item_error(item.error, r.order_id))
            else:
                out.append(
                    CancelAck(
                        r.order_id,
                        None
                        if item.reduced_by is None
                        else convert._count(item.reduced_by, "reduced_by"),
                        item.ts_ms * 1_000_000 if item.ts_ms else self._now(),
                        item.client_order_id,
                    )
                )
        return out

    async def amend(self, req: AmendOrder) -> OrderAck:
        r = await self.http.amend_order(
            req.order_id,
            ticker=req.ticker,
            side=req.side,
            price=req.price,
            count=req.count,
            client_order_id=req.client_order_id,
        )
        return self._ack(r, req.client_order_id)

    async def decrease(self, req: DecreaseOrder) -> OrderAck:
        if req.reduce_by is not None:
            r = await self.http.decrease_order(
                req.order_id, reduce_by=req.reduce_by, client_order_id=req.client_order_id
            )
        else:
            r = await self.http.decrease_order(
                req.order_id, reduce_to=req.reduce_to, client_order_id=req.client_order_id
            )
        return self._ack(r, req.client_order_id)

    async def list_orders(
        self,
        *,
        status: OrderStatus | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts_ns: int | None = None,
    ) -> list[OrderUpdate]:
        now = self._now()
        orders = await self.http.orders(
            status=None if status is None else status.value,
            ticker=ticker,
            event_ticker=event_ticker,
            min_ts=None if min_ts_ns is None else min_ts_ns // 1_000_000_000,
        )
        return [convert.order_update(o, now) for o in orders]

    async def get_fills(
        self, *, since_ns: int | None = None, ticker: str | None = None
    ) -> list[Fill]:
        now = self._now()
        fills = await self.http.fills(
            ticker=ticker, min_ts=None if since_ns is None else since_ns // 1_000_000_000
        )
        out = [convert.fill_event(f, now) for f in fills]
        out.sort(key=lambda f: f.ts_ns)
        return out

    async def get_positions(self) -> list[PositionSnapshot]:
        return await self.venue.positions()

    async def get_balance(self) -> Micros:
        return await self.venue.balance()

    async def get_settlements(self, tickers: Sequence[str]) -> dict[str, bool]:
        """/portfolio/settlements per ticker (positions list only unsettled markets)."""
        out: dict[str, bool] = {}
        for t in tickers:
            for s in await self.http.settlements(ticker=t):
                if s.ticker == t and s.market_result in ("yes", "no"):
                    out[t] = s.market_result == "yes"
        return out

    async def create_order_group(self, contracts_limit: Qty) -> str:
        return await self.http.create_order_group(contracts_limit)

    async def trigger_order_group(self, group_id: str) -> None:
        await self.http.trigger_order_group(group_id)

    async def delete_order_group(self, group_id: str) -> None:
        await self.http.delete_order_group(group_id)

    async def reuse_order_group(self, group_id: str, contracts_limit: Qty) -> None:
        await self.http.reset_order_group(group_id)  # 404 (NotFound) once deleted
        await self.http.set_order_group_limit(group_id, contracts_limit)


def _create_opts(r: CreateOrder) -> dict[str, object]:
    opts: dict[str, object] = {"post_only": r.post_only, "time_in_force": r.time_in_force}
    if r.order_group_id:
        opts["order_group_id"] = r.order_group_id
    if r.reduce_only:
        opts["reduce_only"] = True
    if r.expiration_ts_s is not None:
        opts["expiration_time"] = r.expiration_ts_s
    return opts
