"""Inventory measured in outcome space: payoff vectors over the event's index cells.

The pricer summarises the index at the reference time on a partition of the line (cells,
`EventFairValue.edges`). Every market of the event pays $1 on YES in a fixed set of cells
(`win_cells`), so the whole event book is one payoff vector `Q_o` (dollars received if the
index settles in cell o). Risk is a property of that vector, not of per-market counts:

* worst-case loss `max_o(cost - Q_o)` is exact integer arithmetic (Micros);
* reservation prices come from the exact CARA certainty equivalent
  `CE(Q) = -(1/g) ln sum_o pi_o exp(-g Q_o)`: buying x contracts of market j is worth
  `CE(Q + x a_j) - CE(Q) = -(1/g) ln(1 - rho_j (1 - exp(-g x)))` where
  `rho_j = sum_{o in j} w_o / sum_o w_o`, `w_o = pi_o exp(-g Q_o)` is the probability of j
  under the inventory-tilted measure. A long position in bucket j raises `Q` where j wins,
  which lowers `w` there and so lowers `rho` (and the bid) of j and of every market that
  shares those cells (the tails, the thresholds), and raises it for the other buckets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import ONE, Micros, Price, Qty

__all__ = [
    "cash_cost",
    "cells_prob",
    "certainty_equivalent",
    "payoff_dollars",
    "payoff_micros",
    "positions_of",
    "positions_vector",
    "price_of",
    "reservation_ask",
    "reservation_bid",
    "tilt_weights",
    "tilted_probs",
    "win_cells",
    "worst_case_loss",
]

CONTRACT: Qty = 100  # Qty units per contract


def win_cells(markets: Sequence[MarketSpec], fair: EventFairValue) -> list[tuple[int, ...]]:
    """For each market, the indices of the cells where its YES pays."""
    pts = fair.cell_points()
    return [tuple(o for o, v in enumerate(pts) if m.yes_wins(v)) for m in markets]


def payoff_micros(
    n_cells: int, wins: Sequence[Sequence[int]], positions: Sequence[Qty]
) -> list[Micros]:
    """Exact settlement payoff per cell: a YES pays $1 where it wins, a NO where it loses."""
    q_out = [0] * n_cells
    base = 0
    for w, q in zip(wins, positions, strict=True):
        if q > 0:
            v = q * ONE
            for o in w:
                q_out[o] += v
        elif q < 0:
            v = -q * ONE
            base += v
            for o in w:
                q_out[o] -= v
    return [x + base for x in q_out] if base else q_out


def cash_cost(qty: Qty, yes_terms_cash: Micros) -> Micros:
    """Net cash in a market, NO legs counted at what the NO cost, from YES-terms books.

    `yes_terms_cash` is the net YES-terms cash paid (buys minus sells; with
    core.positions.Position it is `cost - realized`, plus `fees` to count them too). A short
    YES of n at p is held as n NO bought at 1 - p: YES-terms cash -n p, cash paid n (1 - p).
    `QuoteInputs.event_cost` is the sum of this over the event's markets, so the event's
    worst-case loss is its whole settlement P&L (realised gains cushion it, losses count),
    and a fill moves it exactly as the gate's linear model says.
    """
    return yes_terms_cash + (-qty * ONE if qty < 0 else 0)


def worst_case_loss(payoff: Sequence[Micros], cost: Micros) -> Micros:
    """`max_o(cost - Q_o)`: the most the event can lose at settlement (negative = locked gain)."""
    return cost - min(payoff)


def payoff_dollars(
    n_cells: int, wins: Sequence[Sequence[int]], positions: Sequence[Qty]
) -> list[float]:
    """YES-equivalent payoff in dollars per cell (a constant shift is irrelevant under CARA)."""
    out = [0.0] * n_cells
    for w, q in zip(wins, positions, strict=True):
        if q:
            v = q / CONTRACT
            for o in w:
                out[o] += v
    return out


def certainty_equivalent(probs: Sequence[float], payoff: Sequence[float], gamma: float) -> float:
    """Exact CARA certainty equivalent of a payoff vector in dollars (expectation at gamma 0)."""
    if gamma <= 0.0:
        return math.fsum(p * q for p, q in zip(probs, payoff, strict=True))
    lo = min(payoff)
    s = math.fsum(p * math.exp(-gamma * (q - lo)) for p, q in zip(probs, payoff, strict=True))
    return lo - math.log(s) / gamma


def tilt_weights(
    probs: Sequence[float], payoff: Sequence[float], gamma: float
) -> tuple[list[float], float]:
    """`w_o = pi_o exp(-g (Q_o - min Q))` and their sum (pi itself at gamma 0 or no payoff)."""
    if gamma > 0.0 and payoff:
        lo = min(payoff)
        w = [p * math.exp(-gamma * (q - lo)) for p, q in zip(probs, payoff, strict=True)]
    else:
        w = list(probs)
    return w, sum(w)


def cells_prob(w: Sequence[float], s: float, cells: Sequence[int]) -> float:
    """`rho_j` of one market from `tilt_weights`: its cells' share of the total weight."""
    if s <= 0.0:
        return 0.0
    return sum(map(w.__getitem__, cells)) / s  # in cell order, without a generator


def tilted_probs(
    probs: Sequence[float],
    payoff: Sequence[float],
    wins: Sequence[Sequence[int]],
    gamma: float,
) -> list[float]:
    """`rho_j`: each market's P(YES) under the inventory-tilted measure (pi at zero inventory)."""
    w, s = tilt_weights(probs, payoff, gamma)
    return [cells_prob(w, s, cells) for cells in wins]


def reservation_bid(rho: float, gamma: float, qty: Qty) -> float:
    """Most to pay per contract for `qty` more YES: `(CE(Q + x a) - CE(Q)) / x`."""
    x = qty / CONTRACT
    gx = gamma * x
    if gx < 1e-12:
        return rho
    return -math.log1p(-rho * -math.expm1(-gx)) / gx


def reservation_ask(rho: float, gamma: float, qty: Qty) -> float:
    """Least to accept per contract for selling `qty` YES: `(CE(Q) - CE(Q - x a)) / x`."""
    x = qty / CONTRACT
    gx = gamma * x
    if gx < 1e-12:
        return rho
    return math.log1p(rho * math.expm1(gx)) / gx


def positions_vector(markets: Sequence[MarketSpec], positions: Mapping[str, Qty]) -> list[Qty]:
    """Positions aligned with `markets` (missing tickers are flat)."""
    return positions_of([m.ticker for m in markets], positions)


def positions_of(tickers: Sequence[str], positions: Mapping[str, Qty]) -> list[Qty]:
    """Positions aligned with `tickers` (missing tickers are flat)."""
    get = positions.get
    return [get(t, 0) for t in tickers]


def price_of(p: float) -> Price:
    """Probability -> Price units, rounded to nearest (for display and tests)."""
    return round(p * ONE)
