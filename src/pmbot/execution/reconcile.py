"""Venue truth vs our ledger/state -> a report and the actions that settle them (pure).

Inputs are what the shell fetched: the venue's resting orders (`list_orders(status=resting)`),
for the markets where one of ours went missing the orders list in any status (`history`),
the venue's fills since the last one we hold, and its positions. Never a single-order GET:
right after a cancel it may still say resting, and its 404 is identical for canceled,
executed and unknown (protocol §9 items 5-6).

Rules:
* ours, venue lists it resting          -> RESTING with the venue's price/sizes
* ours, not resting, found in history   -> the status the list gives (canceled / executed)
* ours, acknowledged, nowhere in lists  -> not resting (the resting list is complete):
                                           EXECUTED if the venue's fills cover it, else CANCELED
* ours, never acknowledged, nowhere     -> REJECTED once older than `grace_ns` (never arrived),
                                           unresolved before that
* resting at the venue, ours but terminal here (the cancel race, a late arrival) -> cancel again
* resting at the venue, not ours        -> cancel, or adopt (config)
* venue fills we lack                   -> backfill
* positions differing after backfill    -> flagged; the bot must not quote (`ok` is False)
* unresolved orders leave `clean` False (reconcile again soon) but not `ok`
Orders with an action in flight are left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from pmbot.core.events import Fill, OrderUpdate
from pmbot.core.money import Micros, Price, Qty, fmt_count, fmt_price
from pmbot.core.orders import LiveOrder, OrderStatus

__all__ = [
    "OrderFix",
    "PositionMismatch",
    "ReconcileConfig",
    "ReconcileReport",
    "VenueSnapshot",
    "orders_to_resolve",
    "reconcile",
]


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    unknown_orders: str = "cancel"  # "cancel" or "adopt" venue orders we never sent
    grace_ns: int = (
        10_000_000_000  # an unacknowledged create absent everywhere after this never arrived
    )
    position_tolerance: Qty = 0


@dataclass(frozen=True, slots=True)
class VenueSnapshot:
    ts_ns: int
    resting: Sequence[OrderUpdate]
    history: Sequence[OrderUpdate] = ()  # any status, for the markets in history_tickers
    history_tickers: Collection[str] = ()
    fills: Sequence[Fill] = ()
    positions: Mapping[str, Qty] | None = None  # None: not compared
    balance: Micros | None = None


def _differs(o: LiveOrder, v: OrderUpdate) -> str:
    """What the venue's resting order changes in ours, for people reading the report."""
    out = []
    if o.status is not OrderStatus.RESTING:
        out.append(f"status {o.status.value} -> resting")
    if o.remaining != v.remaining:
        out.append(f"remaining {fmt_count(o.remaining)} -> {fmt_count(v.remaining)}")
    if o.price != v.price:
        out.append(f"price {fmt_price(o.price)} -> {fmt_price(v.price)}")
    if o.order_id != v.order_id:
        out.append("venue order id learned")
    return ", ".join(out)


@dataclass(frozen=True, slots=True)
class OrderFix:
    """Set one of our orders to the venue's view."""

    client_order_id: str
    status: OrderStatus
    order_id: str | None
    remaining: Qty
    filled: Qty | None
    price: Price | None
    reason: str


@dataclass(frozen=True, slots=True)
class PositionMismatch:
    ticker: str
    local: Qty  # ours after the backfill
    venue: Qty


@dataclass(slots=True)
class ReconcileReport:
    ts_ns: int
    fixes: list[OrderFix] = field(default_factory=list)
    cancel: list[OrderUpdate] = field(default_factory=list)
    adopt: list[OrderUpdate] = field(default_factory=list)
    backfill: list[Fill] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # client_order_ids
    position_mismatches: list[PositionMismatch] = field(default_factory=list)
    foreign: int = 0
    balance: Micros | None = None

    @property
    def ok(self) -> bool:
        """Positions agree (after the backfill): quoting may (re)start.

        Unresolved orders do not block it: they stay UNKNOWN, which freezes their own
        (ticker, side) in the planner, and their fills still reach us through the account's
        fills, so positions stay right.
        """
        return not self.position_mismatches

    @property
    def clean(self) -> bool:
        """Nothing left to settle: ok and every order's fate known."""
        return self.ok and not self.unresolved

    @property
    def changed(self) -> bool:
        return bool(self.fixes or self.cancel or self.adopt or self.backfill)

    def summary(self) -> str:
        return (
            f"fixes={len(self.fixes)} cancel={len(self.cancel)} adopt={len(self.adopt)}"
            f" backfill={len(self.backfill)} unresolved={len(self.unresolved)}"
            f" position_mismatches={len(self.position_mismatches)} foreign={self.foreign}"
        )


def _index(orders: Sequence[OrderUpdate]) -> tuple[dict[str, OrderUpdate], dict[str, OrderUpdate]]:
    by_oid: dict[str, OrderUpdate] = {}
    by_coid: dict[str, OrderUpdate] = {}
    for u in orders:
        by_oid[u.order_id] = u
        if u.client_order_id:
            by_coid[u.client_order_id] = u
    return by_oid, by_coid


def _find(
    o: LiveOrder, idx: tuple[dict[str, OrderUpdate], dict[str, OrderUpdate]]
) -> OrderUpdate | None:
    if o.order_id and o.order_id in idx[0]:
        return idx[0][o.order_id]
    return idx[1].get(o.client_order_id)


def orders_to_resolve(
    live: Sequence[LiveOrder], resting: Sequence[OrderUpdate], in_flight: Collection[str] = ()
) -> list[LiveOrder]:
    """Our live orders the venue does not list as resting: fetch history for their markets."""
    idx = _index(resting)
    return [o for o in live if o.client_order_id not in in_flight and _find(o, idx) is None]


def reconcile(
    venue: VenueSnapshot,
    live: Sequence[LiveOrder],
    *,
    known_client_ids: Collection[str],
    known_order_ids: Collection[str],
    fill_keys: Collection[tuple[str, str]],
    positions: Mapping[str, Qty],
    in_flight: Collection[str] = (),
    config: ReconcileConfig = ReconcileConfig(),
) -> ReconcileReport:
    """Compare; return the report. Applying it is the shell's job."""
    rep = ReconcileReport(ts_ns=venue.ts_ns, balance=venue.balance)
    resting = _index(venue.resting)
    history = _index(venue.history)

    # fills first: they settle executed-vs-canceled for orders missing from every list
    seen: set[tuple[str, str]] = set()
    venue_filled: dict[str, Qty] = {}
    for f in venue.fills:
        key = (f.trade_id, f.order_id)
        if key in seen:
            continue
        seen.add(key)
        venue_filled[f.order_id] = venue_filled.get(f.order_id, 0) + f.qty
        if key not in fill_keys:
            rep.backfill.append(f)

    live_oids = {o.order_id for o in live if o.order_id}
    live_coids = {o.client_order_id for o in live}
    for o in live:
        if o.client_order_id in in_flight:
            continue
        v = _find(o, resting)
        if v is not None:
            if (
                o.status is not OrderStatus.RESTING
                or o.remaining != v.remaining
                or o.price != v.price
                or o.order_id != v.order_id
            ):
                rep.fixes.append(
                    OrderFix(
                        o.client_order_id,
                        OrderStatus.RESTING,
                        v.order_id,
                        v.remaining,
                        v.filled,
                        v.price,
                        "venue lists it resting: " + _differs(o, v),
                    )
                )
            continue
        h = _find(o, history)
        if h is not None:
            st = (
                h.status
                if h.status.terminal or h.status is OrderStatus.RESTING
                else OrderStatus.CANCELED
            )
            rep.fixes.append(
                OrderFix(
                    o.client_order_id,
                    st,
                    h.order_id,
                    h.remaining if st is OrderStatus.RESTING else 0,
                    h.filled,
                    h.price,
                    f"orders list says {h.status.value}",
                )
            )
            continue
        if o.ticker not in venue.history_tickers:
            rep.unresolved.append(o.client_order_id)  # the shell did not look it up yet
            continue
        if o.order_id:
            done = venue_filled.get(o.order_id, 0)
            filled = max(o.filled, done)
            st = OrderStatus.EXECUTED if filled >= o.initial else OrderStatus.CANCELED
            rep.fixes.append(
                OrderFix(
                    o.client_order_id,
                    st,
                    o.order_id,
                    0,
                    filled,
                    None,
                    "not listed resting; settled by fills",
                )
            )
        elif venue.ts_ns - max(o.updated_ns, o.created_ns) >= config.grace_ns:
            rep.fixes.append(
                OrderFix(
                    o.client_order_id,
                    OrderStatus.REJECTED,
                    None,
                    0,
                    None,
                    None,
                    "never reached the venue",
                )
            )
        else:
            rep.unresolved.append(o.client_order_id)

    for v in venue.resting:
        if v.order_id in live_oids or (v.client_order_id and v.client_order_id in live_coids):
            continue
        if v.client_order_id and v.client_order_id in in_flight:
            continue  # acted upon since the list was taken: the list may predate it
        if v.order_id in known_order_ids or (
            v.client_order_id and v.client_order_id in known_client_ids
        ):
            rep.cancel.append(v)  # ours, already terminal here: the cancel race or a late arrival
            continue
        rep.foreign += 1
        if config.unknown_orders == "adopt":
            rep.adopt.append(v)
        else:
            rep.cancel.append(v)

    if venue.positions is not None:
        expect = dict(positions)
        for f in rep.backfill:
            expect[f.ticker] = expect.get(f.ticker, 0) + f.side.sign * f.qty
        for t in sorted(expect.keys() | venue.positions.keys()):
            a, b = expect.get(t, 0), venue.positions.get(t, 0)
            if abs(a - b) > config.position_tolerance:
                rep.position_mismatches.append(PositionMismatch(t, a, b))
    return rep
