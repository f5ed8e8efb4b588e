"""The seed-style baseline: a fixed edge around fair value, no skew, no guards.

It exists to be compared against `MarketMaker` in the simulator and the backtester through
the same interface (`propose`) and the same risk gate. It ignores inventory, fees,
the book and its own resting orders; it only keeps prices on the grid and inside (0, 1).
"""

from __future__ import annotations

import math

from pmbot.core.money import ONE
from pmbot.strategy.inputs import DesiredQuote, Proposal, QuoteInputs
from pmbot.strategy.params import QuoteParams

__all__ = ["BaselineStrategy"]


class BaselineStrategy:
    """bid = floor(fair - edge), ask = ceil(fair + edge), fixed size, every market."""

    name = "baseline"

    def __init__(self, params: QuoteParams | None = None) -> None:
        self.params = params if params is not None else QuoteParams()

    def propose(self, inp: QuoteInputs) -> Proposal:
        fair = inp.fair
        if fair is None:
            return Proposal(())
        edge, size = self.params.edge, self.params.size
        out: list[DesiredQuote] = []
        for m in inp.markets:
            if inp.quotable is not None and m.ticker not in inp.quotable:
                continue
            p = fair.fair.get(m.ticker)
            if p is None:
                continue
            g = m.grid
            lo, hi = g.min_order_price(), g.max_order_price()
            if min(p, 1.0 - p) < self.params.no_quote_band:
                continue  # too near 0 or 1 to quote, as MarketMaker
            bid = g.floor(math.floor(p * ONE - edge))
            ask = g.ceil(math.ceil(p * ONE + edge))
            # a side whose price falls off the grid is dropped, not clamped onto it (a bid
            # clamped up to the lowest price would sit above the fair value)
            if bid < lo or ask > hi:
                continue
            if bid < ask:
                out.append(DesiredQuote(m.ticker, "bid", bid, size))
                out.append(DesiredQuote(m.ticker, "ask", ask, size))
        return Proposal(tuple(out))
