"""The desired quotes fitted to Polymarket before the order manager sees them (pure).

Two venue rules the venue-neutral gate does not know:

* **Minimum order size** (`MarketInfo.min_size`, the market's `mos`, commonly 5 shares): a
  resting order below it is refused ("Size (x) lower than the minimum: 5"), so a quote the
  position cap or reduce-only cut below it is dropped (raising it would breach the cap the
  gate just applied). A position smaller than the minimum therefore cannot be closed by a
  SELL: it stays as inventory until resolution (or until the other side's fills grow it).
* **Selling tokens we hold**: a side whose tokens we hold (an ask: YES, a bid: NO) places a
  SELL of them (`PolymarketPort._sign` decides per order: SELL when the free tokens cover
  it, else a BUY of the other token, which locks $1 per share in a YES+NO pair). Such a
  side's quotes are capped at the tokens held (one quote = one order; the uncovered rest
  is quoted by a later decision, as a BUY, once the SELL has traded and the tokens are
  gone). Two SELLs must never reserve more tokens than we hold: the planner replaces an
  order by cancel + create in one pass, and the venue may take the create before the
  cancel, so a new SELL waits (its quote is left out this pass, the old order is cancelled)
  while another SELL of ours on that side still reserves tokens; the next pass places it.
  A BUY resting where a SELL is now wanted is replaced likewise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from pmbot.core.money import Qty
from pmbot.core.orders import LiveOrder, Side
from pmbot.strategy.inputs import DesiredQuote
from pmbot.venues.polymarket.convert import parse_micro

__all__ = ["fit_quotes", "min_size_qty"]


def min_size_qty(min_size: str) -> Qty:
    """The market's minimum order size as Qty, rounded up (an order must reach it)."""
    return -(-parse_micro(min_size) // 10_000)


def fit_quotes(
    desired: Sequence[DesiredQuote],
    live: Iterable[LiveOrder],
    *,
    held: Mapping[tuple[str, Side], Qty],
    is_sell: Callable[[str | None], bool | None],
    min_size: Mapping[str, Qty],
) -> list[DesiredQuote]:
    """`desired` as the venue can take it. `held[(ticker, side)]`: the tokens a SELL on that
    side may sell (before our resting SELLs' reservations); `is_sell(order_id)`: whether a
    live order of ours sells (None: unknown, taken as a SELL: it may reserve tokens)."""
    groups: dict[tuple[str, Side], list[DesiredQuote]] = {}
    for q in desired:
        groups.setdefault((q.ticker, Side(q.side)), []).append(q)
    by_group: dict[tuple[str, Side], list[LiveOrder]] = {}
    for o in live:
        if not o.status.terminal and o.remaining > 0:
            by_group.setdefault((o.ticker, o.side), []).append(o)
    out: list[DesiredQuote] = []
    for key, qs in groups.items():
        ticker, side = key
        least = min_size.get(ticker, 0)
        h = held.get(key, 0)
        if h > 0 and h >= least:
            qs = _sell_side(qs, by_group.get(key, []), h, side, is_sell)
        out += [q for q in qs if q.qty >= least and q.qty > 0]
    return out


def _sell_side(
    qs: list[DesiredQuote],
    orders: list[LiveOrder],
    h: Qty,
    side: Side,
    is_sell: Callable[[str | None], bool | None],
) -> list[DesiredQuote]:
    """A side that sells held tokens: cap at `h` (best price first), keep our SELLs that
    already rest as wanted, and hold back new ones while another SELL still reserves."""
    capped: list[DesiredQuote] = []
    left = h
    for q in sorted(qs, key=lambda q: q.price if side is Side.ASK else -q.price):
        n = min(q.qty, left)
        if n <= 0:
            break
        left -= n
        capped.append(q if n == q.qty else _with_qty(q, n))
    twins: set[int] = set()  # live orders kept as they rest (id() of the LiveOrder)
    keep: list[DesiredQuote] = []
    new: list[DesiredQuote] = []
    for q in capped:
        twin = next(
            (
                o
                for o in orders
                if id(o) not in twins
                and o.price == q.price
                and o.remaining == q.qty
                and is_sell(o.order_id) is not False
            ),
            None,
        )
        if twin is not None:
            twins.add(id(twin))
            keep.append(q)
        else:
            new.append(q)
    reserving = any(id(o) not in twins and is_sell(o.order_id) is not False for o in orders)
    # a BUY resting exactly as wanted would be kept by the planner: leave the quote out so
    # it is cancelled, and the SELL goes out next pass
    buy_twin = {(o.price, o.remaining) for o in orders if is_sell(o.order_id) is False}
    if reserving:
        return keep
    return keep + [q for q in new if (q.price, q.qty) not in buy_twin]


def _with_qty(q: DesiredQuote, qty: Qty) -> DesiredQuote:
    return DesiredQuote(q.ticker, q.side, q.price, qty, q.post_only)
