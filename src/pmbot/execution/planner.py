"""Desired quotes vs live orders -> the fewest venue calls (pure).

Per (ticker, side) the planner pairs what the strategy wants with what rests:

* same price, same size           -> keep (no call; priority kept)
* same price, smaller size        -> decrease (1 call; the venue keeps queue priority)
* same price, larger size         -> amend (1 call; priority is lost either way)
* different price                 -> amend (1 call instead of cancel + create: a price
                                     change loses priority anyway)
* venue without amend (`can_amend=False`, Polymarket): any change of price or size is
  cancel + create (the cancel and the create go out in the same pass)
* wanted, nothing left to reuse   -> create, batched
* resting, no longer wanted       -> cancel, batched

Safety rules:
* A group (ticker, side) holding an order whose previous action is in flight (PENDING,
  CANCEL_PENDING, UNKNOWN, or listed in `in_flight`) is frozen: no create, amend or decrease
  there until the venue answers, so no duplicate can be born. Pulling quotes is always
  allowed: if nothing is wanted in a frozen group, its settled orders are still cancelled.
* One order per price level; more than one live order per side only when the desired set
  has more than one level on that side.
* Every new order gets a fresh client_order_id from the injected `new_id` (never reused).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, TypeVar

from pmbot.core.money import Price, Qty
from pmbot.core.orders import LiveOrder, OrderStatus, Side

__all__ = [
    "AmendAction",
    "CancelAction",
    "CreateAction",
    "DecreaseAction",
    "Plan",
    "PlannerConfig",
    "QuoteLike",
    "is_busy",
    "plan",
]

_T = TypeVar("_T")
_BUSY = frozenset({OrderStatus.PENDING, OrderStatus.CANCEL_PENDING, OrderStatus.UNKNOWN})
_TERMINAL = frozenset(s for s in OrderStatus if s.terminal)  # OrderStatus.terminal, as a set


class QuoteLike(Protocol):
    """What the planner reads from a desired quote (`strategy.inputs.DesiredQuote`; its side
    may be a `Side` or the strings "bid"/"ask")."""

    @property
    def ticker(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def price(self) -> Price: ...
    @property
    def qty(self) -> Qty: ...
    @property
    def post_only(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class PlannerConfig:
    max_batch_create: int = 20
    max_batch_cancel: int = 20
    amend_reprice: bool = True  # False: a price change is cancel + create
    # cap on amends + creates (items) per pass, so a burst fits the write budget instead of
    # drawing a 429 that pauses everything; cancels and decreases (risk-reducing) are never
    # capped. Amends go first (they fix stale prices), then creates. None: no cap.
    max_new_ops: int | None = None
    can_amend: bool = True  # False (Polymarket): no amend/decrease; any change is cancel + create
    # the venue's write budget available right now, in the venue's tokens (None: unlimited),
    # and what each item costs. Cancels and decreases always go (they reduce risk) and are
    # paid first; amends, then creates, go only while the rest of the budget covers them, so
    # no call of this pass has to wait for the rate limiter; the rest is deferred.
    budget: float | None = None
    op_cost: float = 10.0  # one create / amend / decrease item
    cancel_cost: float = 2.0  # one cancel item
    # (ticker, side, price) -> True when that price meets the other side of the book now.
    # An amend carries no post_only (a Kalshi amend that crosses trades as a taker), so a
    # post_only quote repriced into the book is sent as cancel + post_only create instead,
    # which the venue refuses if it still crosses. None: never checked.
    crosses: Callable[[str, Side, Price], bool] | None = None


class CreateAction(NamedTuple):
    client_order_id: str
    ticker: str
    side: Side
    price: Price
    qty: Qty
    post_only: bool


class CancelAction(NamedTuple):
    client_order_id: str
    order_id: str
    ticker: str


class AmendAction(NamedTuple):
    client_order_id: str
    order_id: str
    ticker: str
    side: Side
    price: Price
    qty: Qty  # desired resting size after the amend
    total: Qty  # the venue's amend count: already filled + qty


class DecreaseAction(NamedTuple):
    client_order_id: str
    order_id: str
    ticker: str
    reduce_to: Qty


@dataclass(slots=True)
class Plan:
    """The actions for one planning pass; `calls` is the number of venue write calls."""

    create_batches: list[list[CreateAction]] = field(default_factory=list)
    cancel_batches: list[list[CancelAction]] = field(default_factory=list)
    amends: list[AmendAction] = field(default_factory=list)
    decreases: list[DecreaseAction] = field(default_factory=list)
    kept: int = 0
    frozen: list[tuple[str, Side]] = field(default_factory=list)  # groups waiting on the venue
    deferred: int = 0  # amends/creates left for the next pass by `max_new_ops` or `budget`

    @property
    def creates(self) -> list[CreateAction]:
        return [c for b in self.create_batches for c in b]

    @property
    def cancels(self) -> list[CancelAction]:
        return [c for b in self.cancel_batches for c in b]

    @property
    def calls(self) -> int:
        return (
            len(self.create_batches)
            + len(self.cancel_batches)
            + len(self.amends)
            + len(self.decreases)
        )

    def __bool__(self) -> bool:
        return bool(self.create_batches or self.cancel_batches or self.amends or self.decreases)


def is_busy(o: LiveOrder, in_flight: Collection[str] = ()) -> bool:
    """An order we must not act on until the venue answers (or reconciliation settles it)."""
    return o.status in _BUSY or o.order_id is None or o.client_order_id in in_flight


def _vfilled(o: LiveOrder) -> Qty:
    """The venue's filled count as last known (fills may still be on their way to us)."""
    return max(o.filled, o.initial - o.remaining)


_SIDES: dict[str, Side] = {s.value: s for s in Side}  # Side is a StrEnum: members hash as text


def plan(
    desired: Iterable[QuoteLike],
    live: Iterable[LiveOrder],
    new_id: Callable[[], str],
    *,
    in_flight: Collection[str] = (),
    tickers: Collection[str] | None = None,
    config: PlannerConfig = PlannerConfig(),
) -> Plan:
    """Diff `desired` against `live` (our non-terminal orders) into the fewest calls.

    Live orders in scope that nothing desires are cancelled; with `tickers`, only those
    markets are in scope (both sides of the diff).
    """
    want: dict[tuple[str, Side], dict[Price, tuple[Qty, bool]]] = {}
    sides = _SIDES
    for q in desired:
        if q.qty <= 0 or (tickers is not None and q.ticker not in tickers):
            continue
        sd = sides.get(q.side)
        k = (q.ticker, sd if sd is not None else Side(q.side))
        lv = want.get(k)
        if lv is None:
            want[k] = {q.price: (q.qty, q.post_only)}
            continue
        prev = lv.get(q.price)
        lv[q.price] = (q.qty + (prev[0] if prev else 0), q.post_only)

    have: dict[tuple[str, Side], list[LiveOrder]] = {}
    terminal = _TERMINAL
    for o in live:
        if o.status in terminal or (tickers is not None and o.ticker not in tickers):
            continue
        k = (o.ticker, o.side)
        g = have.get(k)
        if g is None:
            have[k] = [o]
        else:
            g.append(o)

    creates: list[CreateAction] = []
    cancels: list[CancelAction] = []
    p = Plan()
    busy_st = _BUSY
    for key in sorted(want.keys() | have.keys()):  # Side is a str: (ticker, side) sorts as text
        ticker, side = key
        levels = want.get(key)
        orders = have.get(key)
        if not orders:
            for price, (qty, po) in sorted(levels.items()):  # type: ignore[union-attr]
                creates.append(CreateAction(new_id(), ticker, side, price, qty, po))
            continue
        busy = False
        for o in orders:
            if o.status in busy_st or o.order_id is None or o.client_order_id in in_flight:
                busy = True
                break
        if busy:
            p.frozen.append(key)
            if not levels:  # pulling quotes is always allowed
                for o in orders:
                    if not is_busy(o, in_flight):
                        cancels.append(CancelAction(o.client_order_id, o.order_id or "", ticker))
            continue
        if not levels:
            for o in orders:
                if o.remaining > 0:  # a filled one is EXECUTED on its way; nothing to cancel
                    cancels.append(CancelAction(o.client_order_id, o.order_id or "", ticker))
            continue
        if (
            config.can_amend and len(orders) == 1 and len(levels) == 1 and orders[0].remaining > 0
        ):  # the common case
            o = orders[0]
            oid = o.order_id or ""
            ((price, (qty, _po)),) = levels.items()
            if price == o.price:
                if o.remaining == qty:
                    p.kept += 1
                elif o.remaining > qty:
                    p.decreases.append(DecreaseAction(o.client_order_id, oid, ticker, qty))
                else:
                    p.amends.append(
                        AmendAction(
                            o.client_order_id,
                            oid,
                            ticker,
                            side,
                            price,
                            qty,
                            _vfilled(o) + qty,
                        )
                    )
                continue
            if config.amend_reprice and not (
                _po and config.crosses is not None and config.crosses(ticker, side, price)
            ):
                p.amends.append(
                    AmendAction(
                        o.client_order_id,
                        oid,
                        ticker,
                        side,
                        price,
                        qty,
                        _vfilled(o) + qty,
                    )
                )
                continue
        _plan_group(ticker, side, levels, orders, new_id, config, p, creates, cancels)

    cap = config.max_new_ops
    if config.budget is not None:
        spare = config.budget - config.cancel_cost * len(cancels)
        spare -= config.op_cost * len(p.decreases)
        fit = max(0, int(spare // config.op_cost)) if config.op_cost > 0 else len(creates)
        cap = fit if cap is None else min(cap, fit)
    if cap is not None and len(p.amends) + len(creates) > cap:
        n0 = len(p.amends) + len(creates)
        p.amends = p.amends[: max(0, cap)]
        creates = creates[: max(0, cap - len(p.amends))]
        p.deferred = n0 - len(p.amends) - len(creates)
    p.create_batches = _batches(creates, config.max_batch_create)
    p.cancel_batches = _batches(cancels, config.max_batch_cancel)
    return p


def _plan_group(
    ticker: str,
    side: Side,
    levels: dict[Price, tuple[Qty, bool]],
    orders: list[LiveOrder],
    new_id: Callable[[], str],
    cfg: PlannerConfig,
    p: Plan,
    creates: list[CreateAction],
    cancels: list[CancelAction],
) -> None:
    spare: list[LiveOrder] = []
    todo = dict(levels)
    # oldest first: the order with the best queue position survives at a price
    for o in sorted(orders, key=lambda o: o.created_ns):
        if o.remaining <= 0:
            continue  # fully filled, EXECUTED is on its way; nothing rests
        w = todo.pop(o.price, None)
        if w is None:
            spare.append(o)
            continue
        qty = w[0]
        oid = o.order_id or ""
        if o.remaining != qty and not cfg.can_amend:
            todo[o.price] = w  # resize by cancel + create
            spare.append(o)
            continue
        if o.remaining == qty:
            p.kept += 1
        elif o.remaining > qty:
            p.decreases.append(DecreaseAction(o.client_order_id, oid, ticker, qty))
        else:
            p.amends.append(
                AmendAction(o.client_order_id, oid, ticker, side, o.price, qty, _vfilled(o) + qty)
            )
    rest = sorted(todo.items())
    cx = cfg.crosses
    if cx is not None:  # post_only levels that meet the book now are created, never amended to
        for price, (qty, po) in [r for r in rest if r[1][1] and cx(ticker, side, r[0])]:
            creates.append(CreateAction(new_id(), ticker, side, price, qty, po))
        rest = [r for r in rest if not (r[1][1] and cx(ticker, side, r[0]))]
    spare.sort(key=lambda o: o.price)
    n = min(len(rest), len(spare)) if cfg.amend_reprice and cfg.can_amend else 0
    for (price, (qty, _po)), o in zip(rest[:n], spare[:n], strict=True):
        p.amends.append(
            AmendAction(
                o.client_order_id, o.order_id or "", ticker, side, price, qty, _vfilled(o) + qty
            )
        )
    for price, (qty, po) in rest[n:]:
        creates.append(CreateAction(new_id(), ticker, side, price, qty, po))
    for o in spare[n:]:
        cancels.append(CancelAction(o.client_order_id, o.order_id or "", ticker))


def _batches(items: Sequence[_T], size: int) -> list[list[_T]]:
    size = max(1, size)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
