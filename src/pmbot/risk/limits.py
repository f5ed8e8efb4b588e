"""Hard limits and the exact arithmetic that trims desired quotes to fit them.

Limits hold whatever subset of the desired quotes fills, in full (the adversary picks):

* per market: `|position after a fill| <= max_position` for each side alone;
* per event: worst-case loss over index outcomes, `max_o(cost - Q_o)` after the fills,
  at most `max_event_loss`; the capital in the event's positions at most `max_event_cost`;
* per account: capital in open positions at most `max_account_exposure` (this event's quotes
  counted on top of the account's current exposure); daily loss is the kill switch's job.

Everything is integer Micros (Price x Qty), so a trimmed set provably fits. Maker fees not
yet paid are not counted (zero on plain `quadratic` series such as the S&P ladders).
A fill of a bid (b, x) on market j changes the loss in cell o by `x (b - [o in j])`, an ask
(a, x) by `x ([o in j] - a)`; the worst case adds only the positive parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pmbot.core.money import ONE, Micros, Qty
from pmbot.errors import ConfigError
from pmbot.strategy.inputs import DesiredQuote

__all__ = [
    "CostParts",
    "RiskLimits",
    "added_cost",
    "cap_positions",
    "fill_loss_units",
    "gross_fill_cost",
    "harm_by_cell",
    "opened",
    "opened_parts",
    "reduce_only",
    "trim_cost",
    "trim_cost_parts",
    "trim_event_loss",
    "trim_to_lot",
]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Hard limits (Qty in 1e-2 contracts, money in Micros = 1e-6 $)."""

    max_position: Qty = 10_000  # per market, |signed contracts| (100 contracts)
    max_event_loss: Micros = 100_000_000  # $100 worst case per event at settlement
    max_event_cost: Micros = 200_000_000  # $200 of capital in one event's positions
    max_account_exposure: Micros = 1_000_000_000  # $1,000 across the account
    max_daily_loss: Micros = 100_000_000  # $100: the kill switch trips at this daily loss
    lot: Qty = 100  # desired sizes are floored to whole multiples of this
    count_resting: bool = True  # live orders not among the desired quotes count as fills too
    # the venue's amend sets an order's total: a live order amended into a desired quote
    # counts max(rest, new size), not both (see RiskGate._unmatched); False: a change is a
    # cancel + create, both may fill
    amends_in_place: bool = False

    def __post_init__(self) -> None:
        for name in (
            "max_position",
            "max_event_loss",
            "max_event_cost",
            "max_account_exposure",
            "max_daily_loss",
            "lot",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"risk.{name}", "must be > 0")


def opened(q: Qty, side: str, x: Qty) -> Qty:
    """The part of a fill of `x` that opens new exposure rather than closing position `q`."""
    closable = max(0, -q) if side == "bid" else max(0, q)
    return max(0, x - closable)


def added_cost(q: Qty, quote: DesiredQuote) -> Micros:
    """Capital a full fill would add: a bid buys YES at p, an ask buys NO at 1 - p."""
    unit = quote.price if quote.side == "bid" else ONE - quote.price
    return unit * opened(q, quote.side, quote.qty)


def fill_loss_units(quote: DesiredQuote) -> tuple[int, bool]:
    """(loss per 1e-2 contract, in cells where YES wins?) of the harmful part of a fill."""
    if quote.side == "bid":
        return quote.price, False  # pays b; loses it where YES does not win
    return ONE - quote.price, True  # sells at a; owes 1 - a where YES wins


def gross_fill_cost(quotes: Sequence[DesiredQuote]) -> Micros:
    """`sum(unit * qty)`: a bound on what full fills of `quotes` can add to any limit.

    A fill of (p, x) adds at most `unit * x` (unit p for a bid, 1 - p for an ask) to the
    capital (`added_cost`: only its opening part counts) and to the loss of any one cell
    (`fill_loss_units`: a bid loses p where YES does not win, an ask 1 - p where it does).
    So when `used + gross_fill_cost(quotes) <= cap`, the capital and loss trims of these
    quotes (or of smaller ones) change nothing. Negative units or sizes count as 0.
    """
    total = 0
    for d in quotes:
        x = d.qty
        if x > 0:
            u = d.price if d.side == "bid" else ONE - d.price
            if u > 0:
                total += u * x
    return total


def _side_totals(quotes: Sequence[DesiredQuote]) -> dict[tuple[str, str], Qty]:
    tot: dict[tuple[str, str], Qty] = {}
    for d in quotes:
        k = (d.ticker, d.side)
        tot[k] = tot.get(k, 0) + d.qty
    return tot


def cap_positions(
    quotes: Sequence[DesiredQuote],
    pos: Mapping[str, Qty],
    max_position: Qty,
    committed: Sequence[DesiredQuote] = (),
) -> list[DesiredQuote]:
    """Shrink each side so that full fills keep |position| within the per-market cap.

    Several quotes on one side share the room in order (their fills add up); `committed`
    orders (live, not ours to trim) use it up first.
    """
    room: dict[tuple[str, str], Qty] = {}
    used = _side_totals(committed) if committed else {}
    out: list[DesiredQuote] = []
    append = out.append
    for d in quotes:
        k = (d.ticker, d.side)
        left = room.get(k)
        if left is None:
            q = pos.get(d.ticker, 0)
            r = max_position - q if d.side == "bid" else max_position + q
            left = r - used.get(k, 0)
            if left < 0:
                left = 0
        x = d.qty
        if x <= left:
            room[k] = left - x
            append(d)
        else:
            room[k] = 0
            append(replace(d, qty=left))
    return out


def reduce_only(
    quotes: Sequence[DesiredQuote],
    pos: Mapping[str, Qty],
    committed: Sequence[DesiredQuote] = (),
) -> list[DesiredQuote]:
    """Keep only quotes whose full fills shrink |position| in their market (never flip it).

    `committed` orders on the same side count against what is left to close.
    """
    room: dict[tuple[str, str], Qty] = {}
    used = _side_totals(committed)
    out = []
    for d in quotes:
        k = (d.ticker, d.side)
        if k not in room:
            q = pos.get(d.ticker, 0)
            room[k] = max(0, (-q if d.side == "bid" else q) - used.get(k, 0))
        x = min(d.qty, room[k])
        room[k] -= x
        out.append(d if x == d.qty else replace(d, qty=x))
    return out


def harm_by_cell(
    quotes: Sequence[DesiredQuote], cells: Sequence[Sequence[int]], n_cells: int
) -> list[Micros]:
    """Per cell, the loss that full fills of the harmful quotes there would add."""
    add = [0] * n_cells
    bid_total = 0
    for d, w in zip(quotes, cells, strict=True):
        u, in_w = fill_loss_units(d)
        v = u * d.qty
        if in_w:
            for o in w:
                add[o] += v
        else:
            bid_total += v
            for o in w:
                add[o] -= v
    return [a + bid_total for a in add]


def trim_event_loss(
    quotes: Sequence[DesiredQuote],
    cells: Sequence[Sequence[int]],
    loss: Sequence[Micros],
    cap: Micros,
    worst: Micros | None = None,
) -> list[DesiredQuote]:
    """Shrink quotes so that `loss_o + harmful fills_o <= max(cap, worst)` in every cell:
    within the cap, or, once the positions' worst case is over it, never above that worst
    case. `worst`: the positions' own worst case (default `max(loss)`); the gate passes it
    when `loss` includes live orders' harm, which must not lift the bound.

    Over the cap the gate admits only reducing quotes; they move loss between cells (selling
    held YES costs in its win cell, saves elsewhere) and may not raise the worst case, but a
    cell over the cap that is not the worst one may take some (it used to allow none, which
    blocked reductions that lower the worst case).

    `cells[i]` are the cells where quote i's market pays YES; `loss[o] = cost - Q_o`. A quote
    harmful in an over-budget cell o is scaled by `(bound - loss_o) / C_o` (C_o: the harmful
    total there), floored, taking the tightest such cell; the sum then fits exactly.
    """
    n = len(loss)
    add = [0] * n
    bid_total = 0
    units: list[tuple[int, bool]] = []
    for d, w in zip(quotes, cells, strict=True):
        if d.side == "bid":  # `fill_loss_units`, inlined
            u = d.price  # pays b; loses it where YES does not win
            units.append((u, False))
            v = u * d.qty
            bid_total += v
            for o in w:
                add[o] -= v
        else:
            u = ONE - d.price  # sells at a; owes 1 - a where YES wins
            units.append((u, True))
            v = u * d.qty
            for o in w:
                add[o] += v
    tot = [loss[o] + add[o] + bid_total for o in range(n)]
    bound = max(cap, (max(loss) if worst is None else worst) if n else cap)
    if max(tot, default=0) <= bound:
        return list(quotes)
    harm = [add[o] + bid_total for o in range(n)]
    tight = [o for o in range(n) if tot[o] > bound and harm[o] > 0]
    out = []
    for d, w, (u, in_w) in zip(quotes, cells, units, strict=True):
        x = d.qty
        if u > 0 and x > 0:
            ws = set(w)
            for o in tight:
                if (o in ws) == in_w:
                    x = min(x, d.qty * max(0, bound - loss[o]) // harm[o])
        out.append(d if x == d.qty else replace(d, qty=x))
    return out


def opened_parts(quotes: Sequence[DesiredQuote], pos: Mapping[str, Qty]) -> list[Qty]:
    """Per quote, the size that opens exposure; same-side quotes share what can be closed."""
    closable: dict[tuple[str, str], Qty] = {}
    out: list[Qty] = []
    append = out.append
    for d in quotes:
        k = (d.ticker, d.side)
        c = closable.get(k)
        if c is None:
            q = pos.get(d.ticker, 0)
            c = -q if d.side == "bid" else q
            if c < 0:
                c = 0
        x = d.qty
        if c >= x:
            closable[k] = c - x
            append(0)
        else:
            closable[k] = 0
            append(x - c)
    return out


def _unit_cost(d: DesiredQuote) -> int:
    return d.price if d.side == "bid" else ONE - d.price


class CostParts:
    """What `trim_cost` derives from (quotes, positions, committed), whatever the cap.

    The gate checks two caps (event cost, account exposure) against the same set; it
    computes this once and reuses it when the first trim leaves the quotes as they were.
    """

    __slots__ = ("committed_used", "ops", "total", "units")

    def __init__(
        self,
        quotes: Sequence[DesiredQuote],
        pos: Mapping[str, Qty],
        committed: Sequence[DesiredQuote] = (),
    ) -> None:
        # `opened_parts([*committed, *quotes], pos)` and the unit costs, in one pass
        closable: dict[tuple[str, str], Qty] = {}
        get = closable.get
        used: Micros = 0
        ops: list[Qty] = []
        units: list[int] = []
        total: Micros = 0
        nc = len(committed)
        for i, d in enumerate([*committed, *quotes] if nc else quotes):
            k = (d.ticker, d.side)
            bid = d.side == "bid"
            c = get(k)
            if c is None:
                q = pos.get(d.ticker, 0)
                c = -q if bid else q
                if c < 0:
                    c = 0
            x = d.qty
            if c >= x:
                closable[k] = c - x
                op = 0
            else:
                closable[k] = 0
                op = x - c
            u = d.price if bid else ONE - d.price
            if i < nc:
                used += u * op
            else:
                ops.append(op)
                units.append(u)
                total += u * op
        self.committed_used = used
        self.ops = ops
        self.units = units
        self.total = total


def trim_cost_parts(
    quotes: Sequence[DesiredQuote],
    parts: CostParts,
    used: Micros,
    cap: Micros,
    lot: Qty = 1,
) -> tuple[list[DesiredQuote], bool]:
    """`trim_cost` with its parts precomputed; also says whether any quote changed.

    Each opening part keeps its share of the room, floored to whole lots; what the floors
    leave is handed out a lot at a time, quote by quote in order, while it lasts (a room of a
    few contracts spread over many quotes used to floor every one of them to nothing).
    """
    used += parts.committed_used
    total = parts.total
    if used + total <= cap:
        return list(quotes), False
    room = max(0, cap - used)
    ops, units = parts.ops, parts.units
    keep = [0 if op <= 0 else op * room // total for op in ops]
    if lot > 1:
        keep = [k - k % lot for k in keep]
    left = room - sum(k * u for k, u in zip(keep, units, strict=True))
    more = True
    while more and left > 0:
        more = False
        for i, (op, u) in enumerate(zip(ops, units, strict=True)):
            if op > 0 and keep[i] + lot <= op and u * lot <= left:
                keep[i] += lot
                left -= u * lot
                more = True
    out = []
    for d, op, k in zip(quotes, ops, keep, strict=True):
        out.append(d if op <= 0 else replace(d, qty=d.qty - op + k))
    return out, True


def trim_cost(
    quotes: Sequence[DesiredQuote],
    pos: Mapping[str, Qty],
    used: Micros,
    cap: Micros,
    committed: Sequence[DesiredQuote] = (),
    lot: Qty = 1,
) -> list[DesiredQuote]:
    """Shrink the opening parts of quotes so that `used + capital added <= max(cap, used)`.

    A bid opens YES at p per contract, an ask opens NO at 1 - p; closing parts add nothing.
    `committed` orders fill first (they close first and their capital counts as used).
    """
    return trim_cost_parts(quotes, CostParts(quotes, pos, committed), used, cap, lot)[0]


def trim_to_lot(quotes: Sequence[DesiredQuote], lot: Qty) -> list[DesiredQuote]:
    """Floor sizes to whole lots and drop empty quotes."""
    out = []
    for d in quotes:
        x = d.qty - d.qty % lot
        if x > 0:
            out.append(d if x == d.qty else replace(d, qty=x))
    return out
