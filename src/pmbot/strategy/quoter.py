"""The ladder market maker: fair value -> inventory-aware reservation -> bid/ask on the grid.

Per market j of the event (pricing-notes §3.3-§3.4):

1. No quotes where fair P(YES) is within `no_quote_band` of 0 or 1.
2. Sizes from the risk budget: the base size shrinks linearly to 0 as the market's position
   approaches `max_position` or the event's worst-case loss approaches `max_event_loss`
   (only on the side that adds exposure).
3. Reservation prices from the exact CARA certainty equivalent of the whole event book for a
   clip of that size (`inventory.reservation_bid/ask`), applied as a skew to the pricer's fair.
4. Quote = reservation -/+ (edge + adverse-selection allowance + the maker fee the series
   charges at that price; makers pay no taker fee), bid floored and ask ceiled to the grid,
   at least `min_spread_ticks` apart, strictly inside the market's best opposite price
   (post-only never takes), strictly inside (0, 1).
5. A side that just filled rests for `fill_pause_ns` (not swept twice); toward the reference
   time risk aversion and edge ramp up over `close_ramp_ns`.
6. Stability: a resting quote within `price_tolerance_ticks` (and `size_tolerance`) of the
   new one, or younger than `min_rest_ns`, is kept while it still is safe; small changes
   inside `debounce_ns` of the last requote return the previous quotes and a wake-up time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pmbot.core.book import BinaryBook
from pmbot.core.market import FeeSchedule, MarketSpec
from pmbot.core.money import ONE, Price, PriceGrid, Qty
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.inputs import DesiredQuote, Proposal, QuoteInputs, RestingOrder, Side
from pmbot.strategy.inventory import (
    payoff_dollars,
    payoff_micros,
    positions_vector,
    reservation_ask,
    reservation_bid,
    tilted_probs,
    win_cells,
)
from pmbot.strategy.params import QuoteParams

__all__ = ["MarketMaker", "maker_fee_per_contract", "snap_ask", "snap_bid"]


def maker_fee_per_contract(fees: FeeSchedule | None, qty: Qty, price: Price) -> float:
    """The maker fee of a fill of `qty` at `price`, per contract, in Price units.

    `fees=None` stands for a schedule known to charge makers nothing (the fast path).
    """
    if fees is None or qty <= 0:
        return 0.0
    return fees.fee(qty, price, maker=True) / qty  # micros / (1e-2 contracts) = 1e-4 $ each


def snap_bid(grid: PriceGrid, fees: FeeSchedule | None, qty: Qty, target: float) -> Price | None:
    """Highest valid grid price b with b + maker fee <= target (Price units), or None."""
    if target <= 0:
        return None
    px = grid.floor(math.floor(target))
    i = grid.tick(px)
    while i >= 0:
        px = grid.prices[i]
        if px <= 0:
            return None
        if px + maker_fee_per_contract(fees, qty, px) <= target:
            return px
        i -= 1
    return None


def snap_ask(grid: PriceGrid, fees: FeeSchedule | None, qty: Qty, target: float) -> Price | None:
    """Lowest valid grid price a with a - maker fee >= target (Price units), or None."""
    if target >= ONE:
        return None
    px = grid.ceil(math.ceil(target))
    i = grid.tick(px)
    n = len(grid.prices)
    while i < n:
        px = grid.prices[i]
        if px >= ONE:
            return None
        if px - maker_fee_per_contract(fees, qty, px) >= target:
            return px
        i += 1
    return None


class MarketMaker:
    """Inventory-skewed, fee-aware, hysteretic quoter for one event (implements Strategy)."""

    name = "market_maker"

    def __init__(self, params: QuoteParams | None = None, limits: RiskLimits | None = None) -> None:
        self.params = params if params is not None else QuoteParams()
        self.limits = limits if limits is not None else RiskLimits()
        self._cells_key: tuple[object, ...] | None = None
        self._cells: list[tuple[int, ...]] = []
        self._last: Proposal | None = None
        self._last_ts = 0
        self._last_fair: dict[str, float] = {}
        self._last_pos: dict[str, Qty] = {}

    # ---- debounce -------------------------------------------------------------------
    def _debounced(self, inp: QuoteInputs) -> Proposal | None:
        last, prm = self._last, self.params
        if last is None or inp.fair is None or inp.ts_ns - self._last_ts >= prm.debounce_ns:
            return None
        if inp.ts_ns < self._last_ts or dict(inp.positions) != self._last_pos:
            return None
        fair = inp.fair.fair
        if fair.keys() != self._last_fair.keys():
            return None
        bypass = prm.debounce_bypass
        for t, p in fair.items():
            if abs(p - self._last_fair[t]) >= bypass:
                return None
        for d in last.quotes:
            b = inp.books.get(d.ticker)
            if b is None:
                return None
            opp = b.yes_ask_price() if d.side == "bid" else b.yes_bid_price()
            if opp is not None and (d.price >= opp if d.side == "bid" else d.price <= opp):
                return None
        wake = self._last_ts + prm.debounce_ns
        if last.wake_at_ns is not None and inp.ts_ns < last.wake_at_ns < wake:
            wake = last.wake_at_ns
        return Proposal(last.quotes, wake, last.notes)

    # ---- main -----------------------------------------------------------------------
    def propose(self, inp: QuoteInputs) -> Proposal:
        """Desired quotes for every market of the event (before the risk gate)."""
        held = self._debounced(inp)
        if held is not None:
            return held
        prop = self._quote(inp)
        self._last = prop
        self._last_ts = inp.ts_ns
        self._last_fair = dict(inp.fair.fair) if inp.fair is not None else {}
        self._last_pos = dict(inp.positions)
        return prop

    def _win_cells(self, inp: QuoteInputs) -> list[tuple[int, ...]]:
        assert inp.fair is not None
        key = (inp.fair.edges, tuple(m.ticker for m in inp.markets))
        if key != self._cells_key:
            self._cells = win_cells(inp.markets, inp.fair)
            self._cells_key = key
        return self._cells

    def _quote(self, inp: QuoteInputs) -> Proposal:
        fair = inp.fair
        if fair is None:
            return Proposal((), None, {m.ticker: "no_fair_value" for m in inp.markets})
        prm, lim = self.params, self.limits
        cells = self._win_cells(inp)
        k = len(fair.cell_probs)
        pos_v = positions_vector(inp.markets, inp.positions)
        close = prm.close_factor(inp.reference_ts_ns - inp.ts_ns)
        gamma = prm.risk_aversion * (1.0 + (prm.close_risk_multiplier - 1.0) * close)
        edge = prm.edge * (1.0 + (prm.close_edge_multiplier - 1.0) * close)
        p_cells = tilted_probs(fair.cell_probs, (), cells, 0.0)
        if any(pos_v):
            rho = tilted_probs(fair.cell_probs, payoff_dollars(k, cells, pos_v), cells, gamma)
            pay = payoff_micros(k, cells, pos_v)
            loss = inp.event_cost - min(pay)
        else:
            rho, loss = p_cells, inp.event_cost
        f_loss = min(1.0, max(0.0, 1.0 - loss / lim.max_event_loss))
        half = edge + prm.adverse_selection
        pause, fills = prm.fill_pause_ns, inp.last_fill_ns
        wake: int | None = None
        band = prm.no_quote_band
        out: list[DesiredQuote] = []
        notes: dict[str, str] = {}
        sel = inp.quotable
        for j, m in enumerate(inp.markets):
            t = m.ticker
            if sel is not None and t not in sel:
                notes[t] = "not_selected"
                continue
            p = fair.fair.get(t)
            if p is None:
                notes[t] = "no_fair_value"
                continue
            if p < band or p > 1.0 - band:
                notes[t] = "no_quote_band"
                continue
            q = pos_v[j]
            bq = self._size(q, "bid", f_loss)
            aq = self._size(q, "ask", f_loss)
            if pause and fills:
                for side in ("bid", "ask"):
                    until = fills.get((t, side), -pause) + pause
                    if until > inp.ts_ns:
                        wake = until if wake is None else min(wake, until)
                        if side == "bid":
                            bq = 0
                        else:
                            aq = 0
            skew_b = reservation_bid(rho[j], gamma, bq) - p_cells[j] if bq else 0.0
            skew_a = reservation_ask(rho[j], gamma, aq) - p_cells[j] if aq else 0.0
            r_bid = (p + skew_b) * ONE
            r_ask = (p + skew_a) * ONE
            fees = m.fees if m.fees.maker_share() else None
            bid = snap_bid(m.grid, fees, bq, r_bid - half) if bq else None
            ask = snap_ask(m.grid, fees, aq, r_ask + half) if aq else None
            bid, ask = self._place(m, inp.books.get(t), bid, ask)
            bid, ask, bq, aq = self._stick(inp, m, fees, bid, ask, bq, aq, r_bid, r_ask)
            if bid is not None:
                out.append(DesiredQuote(t, "bid", bid, bq))
            if ask is not None:
                out.append(DesiredQuote(t, "ask", ask, aq))
            if bid is None and ask is None:
                notes[t] = "no_valid_price"
        return Proposal(tuple(out), wake, notes)

    def _size(self, q: Qty, side: Side, f_loss: float) -> Qty:
        """Base size shrunk linearly toward the position cap and the event loss budget."""
        prm, lim = self.params, self.limits
        opening = q >= 0 if side == "bid" else q <= 0
        if not opening:
            return prm.size
        room = max(0, lim.max_position - abs(q))
        f = min(1.0, room / lim.max_position, f_loss)
        lots = math.floor(prm.size * f / prm.lot + 0.5)  # nearest whole lot
        return min(lots * prm.lot, room - room % prm.lot)

    def _place(
        self, m: MarketSpec, book: BinaryBook | None, bid: Price | None, ask: Price | None
    ) -> tuple[Price | None, Price | None]:
        """Enforce the minimum spread, then keep strictly inside the opposite best price."""
        g = m.grid
        need = self.params.min_spread_ticks
        if bid is not None and ask is not None:
            bi, ai = g.tick(bid), g.tick(ask)
            turn = 0
            while ai - bi < need:
                if turn % 2 == 0:
                    bi -= 1
                else:
                    ai += 1
                turn += 1
            bid = g.prices[bi] if bi >= 0 and g.prices[bi] > 0 else None
            ask = g.prices[ai] if ai < len(g.prices) and g.prices[ai] < ONE else None
        if book is not None:
            best_ask = book.yes_ask_price()
            if bid is not None and best_ask is not None and bid >= best_ask:
                px = g.floor(best_ask - 1)
                bid = px if 0 < px < best_ask else None
            best_bid = book.yes_bid_price()
            if ask is not None and best_bid is not None and ask <= best_bid:
                px = g.ceil(best_bid + 1)
                ask = px if best_bid < px < ONE else None
        return bid, ask

    def _stick(
        self,
        inp: QuoteInputs,
        m: MarketSpec,
        fees: FeeSchedule | None,
        bid: Price | None,
        ask: Price | None,
        bq: Qty,
        aq: Qty,
        r_bid: float,
        r_ask: float,
    ) -> tuple[Price | None, Price | None, Qty, Qty]:
        """Hysteresis and minimum resting time against our live orders in this market."""
        rest = inp.resting.get(m.ticker, ())
        if not rest:
            return bid, ask, bq, aq
        book = inp.books.get(m.ticker)
        best_ask = None if book is None else book.yes_ask_price()
        best_bid = None if book is None else book.yes_bid_price()
        now = inp.ts_ns
        nb, nbq = self._keep(now, m, fees, _one(rest, "bid"), bid, bq, r_bid, best_ask, "bid")
        na, naq = self._keep(now, m, fees, _one(rest, "ask"), ask, aq, r_ask, best_bid, "ask")
        if (
            nb is not None
            and na is not None
            and (m.grid.tick(na) - m.grid.tick(nb) < self.params.min_spread_ticks)
        ):
            return bid, ask, bq, aq
        return nb, na, nbq, naq

    def _keep(
        self,
        now: int,
        m: MarketSpec,
        fees: FeeSchedule | None,
        r: RestingOrder | None,
        px: Price | None,
        qty: Qty,
        res: float,
        opp: Price | None,
        side: Side,
    ) -> tuple[Price | None, Qty]:
        if r is None or px is None or r.remaining <= 0 or not m.grid.valid_order_price(r.price):
            return px, qty
        prm = self.params
        fee = maker_fee_per_contract(fees, qty, r.price)
        if side == "bid":
            safe = r.price + fee <= res and (opp is None or r.price < opp)
        else:
            safe = r.price - fee >= res and (opp is None or r.price > opp)
        if not safe:
            return px, qty
        young = now - r.placed_ts_ns < prm.min_rest_ns
        close = abs(m.grid.tick(r.price) - m.grid.tick(px)) <= prm.price_tolerance_ticks
        if not (young or close):
            return px, qty
        if young or abs(r.remaining - qty) <= prm.size_tolerance * qty:
            return r.price, r.remaining
        return r.price, qty


def _one(rest: Sequence[RestingOrder], side: Side) -> RestingOrder | None:
    """The single resting order on a side (None when there are none or several)."""
    found = None
    for r in rest:
        if r.side == side:
            if found is not None:
                return None
            found = r
    return found
