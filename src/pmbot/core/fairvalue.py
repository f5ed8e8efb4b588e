"""The contract between pricing and strategy: one event's fair values from one distribution.

The pricer turns the index level, volatility and time into a distribution of the index at
the event's reference time, summarised on a partition of the line by `edges` (ascending,
the distinct strikes of the event): cell 0 is (-inf, edges[0]], cell i is
(edges[i-1], edges[i]], the last is (edges[-1], +inf). `cell_probs` sums to 1. The
strategy measures inventory by what it pays in each cell (payoff vector), so the two must
share this partition. `fair` is each market's P(YES); `delta` its dP/dS per index point.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

__all__ = ["EventFairValue"]


@dataclass(frozen=True, slots=True)
class EventFairValue:
    event_ticker: str
    ts_ns: int
    index_level: float
    edges: tuple[float, ...]
    cell_probs: tuple[float, ...]
    fair: dict[str, float] = field(default_factory=dict)
    delta: dict[str, float] = field(default_factory=dict)
    sigma: float = 0.0  # stdev of the index at the reference time, index points

    def cell_points(self) -> tuple[float, ...]:
        """One representative index value inside each cell (for payoff evaluation)."""
        e = self.edges
        if not e:
            return (self.index_level,)
        width = max((e[-1] - e[0]) / max(len(e) - 1, 1), 1.0)
        pts = [e[0] - width / 2]
        pts += [(a + b) / 2 for a, b in itertools.pairwise(e)]
        pts.append(e[-1] + width / 2)
        return tuple(pts)
