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
from bisect import bisect_right
from collections.abc import Sequence

from pmbot.core.market import FeeSchedule, MarketSpec
from pmbot.core.money import ONE, Price, PriceGrid, Qty
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.inputs import DesiredQuote, Proposal, QuoteInputs, RestingOrder, Side
from pmbot.strategy.inventory import (
    cells_prob,
    payoff_dollars,
    payoff_micros,
    positions_of,
    reservation_ask,
    reservation_bid,
    tilt_weights,
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
    target = min(target, ONE - 1)  # never a bid at $1
    prices = grid.prices
    i = max(bisect_right(prices, math.floor(target)) - 1, 0)  # tick of grid.floor(...)
    if fees is None or qty <= 0:  # no maker fee: the first grid price <= target
        while i >= 0:
            px = prices[i]
            if px <= 0:
                return None
            if px <= target:
                return px
            i -= 1
        return None
    while i >= 0:
        px = prices[i]
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
    start = max(target, 1)  # never an ask at $0: the search starts above it
    prices = grid.prices
    n = len(prices)
    i = min(bisect_right(prices, math.ceil(start) - 1), n - 1)  # tick of grid.ceil(...)
    if fees is None or qty <= 0:
        while i < n:
            px = prices[i]
            if px >= ONE:
                return None
            if px >= start:
                return px
            i += 1
        return None
    while i < n:
        px = prices[i]
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
        # what depends on the market list alone (`_layout`): kept while it holds the same specs
        self._markets: tuple[MarketSpec, ...] | None = None
        self._market_ids: tuple[int, ...] = ()
        self._tickers: tuple[str, ...] = ()
        self._fees_list: list[FeeSchedule | None] = []
        # per market, the last bid / ask quote made: handed out again while it is unchanged
        self._made_bid: list[DesiredQuote | None] = []
        self._made_ask: list[DesiredQuote | None] = []
        self._pc_probs: tuple[float, ...] | None = None
        self._pc: tuple[list[float], float] = ([], 0.0)
        self._tilt_probs: tuple[float, ...] | None = None
        self._tilt_cells: list[tuple[int, ...]] | None = None
        self._tilt_key: tuple[object, ...] | None = None
        self._tilt_val: tuple[list[float], float, int] = ([], 0.0, 0)
        self._pay_cells: list[tuple[int, ...]] | None = None
        self._pay_key: tuple[int, tuple[Qty, ...]] | None = None
        self._pay: tuple[list[float], int] = ([], 0)
        self._last: Proposal | None = None
        self._last_ts = 0
        self._last_fair: dict[str, float] = {}
        self._last_pos: dict[str, Qty] = {}

    # ---- debounce -------------------------------------------------------------------
    def _debounced(self, inp: QuoteInputs) -> Proposal | None:
        last, prm = self._last, self.params
        if last is None or inp.fair is None or inp.ts_ns - self._last_ts >= prm.debounce_ns:
            return None
        pos = inp.positions  # compared as a dict (no copy when it is one)
        if inp.ts_ns < self._last_ts or (pos if type(pos) is dict else dict(pos)) != self._last_pos:
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
            # a quote the new fair value has reached or passed (the bypass may exceed the
            # edge): no edge left at all, so decide anew rather than hold it
            fv = fair.get(d.ticker)
            if fv is not None and (d.price >= fv * ONE if d.side == "bid" else d.price <= fv * ONE):
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
        if self.params.debounce_ns <= 0:  # nothing is ever held: no need to remember
            self._last = None
            return prop
        self._last = prop
        self._last_ts = inp.ts_ns
        self._last_fair = dict(inp.fair.fair) if inp.fair is not None else {}
        self._last_pos = dict(inp.positions)
        return prop

    def _layout(self, markets: tuple[MarketSpec, ...]) -> None:
        """Tickers and, per market, its fee schedule or None where makers pay nothing.

        Redone only when the market list holds other specs: the live shell builds a new
        tuple per decision, of the same (frozen) MarketSpec objects.
        """
        if markets is self._markets:
            return
        ids = tuple(map(id, markets))
        if ids != self._market_ids:
            self._tickers = tuple(m.ticker for m in markets)
            self._fees_list = [m.fees if m.fees.maker_share() else None for m in markets]
            self._made_bid = [None] * len(markets)
            self._made_ask = [None] * len(markets)
            self._market_ids = ids
        self._markets = markets  # held, so that the ids above stay these objects'

    def _win_cells(self, inp: QuoteInputs) -> list[tuple[int, ...]]:
        assert inp.fair is not None
        key = (inp.fair.edges, self._tickers)
        if key != self._cells_key:
            self._cells = win_cells(inp.markets, inp.fair)
            self._cells_key = key
        return self._cells

    def _tilt(
        self,
        probs: tuple[float, ...],
        cells: list[tuple[int, ...]],
        pos_v: list[Qty],
        gamma: float,
    ) -> tuple[list[float], float, int]:
        """`tilt_weights` of the position and its minimum payoff, for these inputs.

        Both are pure functions of (cell probabilities, cells, positions, gamma); between
        index ticks and fills the strategy is woken many times with the same ones.
        """
        key = (tuple(pos_v), gamma)
        if probs is not self._tilt_probs or cells is not self._tilt_cells or key != self._tilt_key:
            k = len(probs)
            pkey = (k, key[0])
            if cells is not self._pay_cells or pkey != self._pay_key:
                # the payoff vectors depend on the positions only: they outlive index ticks
                self._pay = (payoff_dollars(k, cells, pos_v), min(payoff_micros(k, cells, pos_v)))
                self._pay_cells, self._pay_key = cells, pkey
            pay, min_pay = self._pay
            self._tilt_val = (*tilt_weights(probs, pay, gamma), min_pay)
            self._tilt_probs, self._tilt_cells, self._tilt_key = probs, cells, key
        return self._tilt_val

    def _p_weights(self, probs: tuple[float, ...]) -> tuple[list[float], float]:
        """Untilted `tilt_weights`; the same cell probabilities give the same answer."""
        if probs is not self._pc_probs:
            self._pc = tilt_weights(probs, (), 0.0)
            self._pc_probs = probs
        return self._pc

    def _quote(self, inp: QuoteInputs) -> Proposal:
        fair = inp.fair
        if fair is None:
            return Proposal((), None, {m.ticker: "no_fair_value" for m in inp.markets})
        prm, lim = self.params, self.limits
        self._layout(inp.markets)
        cells = self._win_cells(inp)
        # the market list's specs are read only where quoted (`_layout` holds the tickers)
        markets, tickers = inp.markets, self._tickers
        pos_v = positions_of(tickers, inp.positions)
        close = prm.close_factor(inp.reference_ts_ns - inp.ts_ns)
        gamma = prm.risk_aversion * (1.0 + (prm.close_risk_multiplier - 1.0) * close)
        edge = prm.edge * (1.0 + (prm.close_edge_multiplier - 1.0) * close)
        # P(YES) per market, untilted and tilted by the position: only quoted markets need them
        pc_w, pc_s = self._p_weights(fair.cell_probs)
        if any(pos_v):
            rho_w, rho_s, min_pay = self._tilt(fair.cell_probs, cells, pos_v, gamma)
            loss = inp.event_cost - min_pay
        else:
            rho_w, rho_s, loss = pc_w, pc_s, inp.event_cost
        f_loss = min(1.0, max(0.0, 1.0 - loss / lim.max_event_loss))
        half = edge + prm.adverse_selection
        pause, fills = prm.fill_pause_ns, inp.last_fill_ns
        now = inp.ts_ns
        wake: int | None = None
        band = prm.no_quote_band
        hi_band = 1.0 - band
        out: list[DesiredQuote] = []
        notes: dict[str, str] = {}
        sel = inp.quotable
        fair_of = fair.fair
        books, resting = inp.books, inp.resting
        base, lot, max_pos = prm.size, prm.lot, lim.max_position
        size_of: dict[int, Qty] = {}  # |position| -> opening-side size (f_loss is fixed here)
        fee_list = self._fees_list
        made_bid, made_ask = self._made_bid, self._made_ask
        for j, t in enumerate(tickers):
            if sel is not None and t not in sel:
                notes[t] = "not_selected"
                continue
            p = fair_of.get(t)
            if p is None:
                notes[t] = "no_fair_value"
                continue
            if p < band or p > hi_band:
                notes[t] = "no_quote_band"
                continue
            q = pos_v[j]
            # `_size` for both sides: the opening side's size depends on |q| only
            aq_abs = -q if q < 0 else q
            op = size_of.get(aq_abs)
            if op is None:
                op = size_of[aq_abs] = _open_size(aq_abs, base, lot, max_pos, f_loss)
            bq = op if q >= 0 else base
            aq = op if q <= 0 else base
            if pause and fills:  # the post-fill pause, bid side then ask side
                until = fills.get((t, "bid"), -pause) + pause
                if until > now:
                    wake = until if wake is None else min(wake, until)
                    bq = 0
                until = fills.get((t, "ask"), -pause) + pause
                if until > now:
                    wake = until if wake is None else min(wake, until)
                    aq = 0
            cj = cells[j]
            pc = cells_prob(pc_w, pc_s, cj)
            rho = pc if rho_w is pc_w else cells_prob(rho_w, rho_s, cj)
            skew_b = reservation_bid(rho, gamma, bq) - pc if bq else 0.0
            skew_a = reservation_ask(rho, gamma, aq) - pc if aq else 0.0
            r_bid = (p + skew_b) * ONE
            r_ask = (p + skew_a) * ONE
            fees = fee_list[j]
            m = markets[j]
            g = m.grid
            bid = snap_bid(g, fees, bq, r_bid - half) if bq else None
            ask = snap_ask(g, fees, aq, r_ask + half) if aq else None
            book = books.get(t)
            if book is None:
                best_bid = best_ask = None
            else:
                best_bid, best_ask = book.yes_bid_price(), book.yes_ask_price()
            if bid is not None or ask is not None:
                bid, ask = self._place(g, best_bid, best_ask, bid, ask)
            rest = resting.get(t)
            if rest:
                bid, ask, bq, aq = self._stick(
                    now, rest, best_bid, best_ask, m, fees, bid, ask, bq, aq, r_bid, r_ask, q
                )
            # DesiredQuote is frozen: an unchanged quote is the object made last time
            if bid is not None:
                d = made_bid[j]
                if d is None or d.price != bid or d.qty != bq:
                    d = made_bid[j] = DesiredQuote(t, "bid", bid, bq)
                out.append(d)
            if ask is not None:
                d = made_ask[j]
                if d is None or d.price != ask or d.qty != aq:
                    d = made_ask[j] = DesiredQuote(t, "ask", ask, aq)
                out.append(d)
            if bid is None and ask is None:
                notes[t] = "no_valid_price"
        return Proposal(tuple(out), wake, notes)

    def _size(self, q: Qty, side: Side, f_loss: float) -> Qty:
        """Base size shrunk linearly toward the position cap and the event loss budget."""
        prm, lim = self.params, self.limits
        opening = q >= 0 if side == "bid" else q <= 0
        if not opening:
            return prm.size
        return _open_size(abs(q), prm.size, prm.lot, lim.max_position, f_loss)

    def _place(
        self,
        g: PriceGrid,
        best_bid: Price | None,
        best_ask: Price | None,
        bid: Price | None,
        ask: Price | None,
    ) -> tuple[Price | None, Price | None]:
        """Enforce the minimum spread, then keep strictly inside the opposite best price."""
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
        if bid is not None and best_ask is not None and bid >= best_ask:
            px = g.floor(best_ask - 1)
            bid = px if 0 < px < best_ask else None
        if ask is not None and best_bid is not None and ask <= best_bid:
            px = g.ceil(best_bid + 1)
            ask = px if best_bid < px < ONE else None
        return bid, ask

    def _stick(
        self,
        now: int,
        rest: Sequence[RestingOrder],
        best_bid: Price | None,
        best_ask: Price | None,
        m: MarketSpec,
        fees: FeeSchedule | None,
        bid: Price | None,
        ask: Price | None,
        bq: Qty,
        aq: Qty,
        r_bid: float,
        r_ask: float,
        q: Qty = 0,
    ) -> tuple[Price | None, Price | None, Qty, Qty]:
        """Hysteresis and minimum resting time against our live orders in this market.

        A side keeps its single resting order (price, and size when within tolerance) if
        that order is still safe (inside the reservation price and the opposite best) and
        either young or within `price_tolerance_ticks` of the new price. On the side that
        reduces the position (asks when long, bids when short) youth keeps an order only if
        it is at least as aggressive as the new price: the unwind is never held back.
        """
        rb = ra = None
        nb_ = na_ = 0
        for r in rest:  # the single resting order per side (None when none or several)
            if r.side == "bid":
                nb_ += 1
                rb = r
            elif r.side == "ask":
                na_ += 1
                ra = r
        prm, g = self.params, m.grid
        nb, nbq = bid, bq
        if nb_ == 1 and bid is not None and rb is not None:
            px = rb.price
            if rb.remaining > 0 and g.valid_order_price(px):
                fee = 0.0 if fees is None else maker_fee_per_contract(fees, bq, px)
                if px + fee <= r_bid and (best_ask is None or px < best_ask):
                    young = now - rb.placed_ts_ns < prm.min_rest_ns and (q >= 0 or px >= bid)
                    if young or abs(g.tick(px) - g.tick(bid)) <= prm.price_tolerance_ticks:
                        nb = px
                        if young or abs(rb.remaining - bq) <= prm.size_tolerance * bq:
                            nbq = rb.remaining
        na, naq = ask, aq
        if na_ == 1 and ask is not None and ra is not None:
            px = ra.price
            if ra.remaining > 0 and g.valid_order_price(px):
                fee = 0.0 if fees is None else maker_fee_per_contract(fees, aq, px)
                if px - fee >= r_ask and (best_bid is None or px > best_bid):
                    young = now - ra.placed_ts_ns < prm.min_rest_ns and (q <= 0 or px <= ask)
                    if young or abs(g.tick(px) - g.tick(ask)) <= prm.price_tolerance_ticks:
                        na = px
                        if young or abs(ra.remaining - aq) <= prm.size_tolerance * aq:
                            naq = ra.remaining
        if nb is not None and na is not None and (g.tick(na) - g.tick(nb) < prm.min_spread_ticks):
            return bid, ask, bq, aq
        return nb, na, nbq, naq


def _open_size(aq: Qty, base: Qty, lot: Qty, max_position: Qty, f_loss: float) -> Qty:
    """The size of the side that adds exposure at |position| `aq` (see `MarketMaker._size`)."""
    room = max(0, max_position - aq)
    f = min(1.0, room / max_position, f_loss)
    lots = math.floor(base * f / lot + 0.5)  # nearest whole lot
    return min(lots * lot, room - room % lot)
