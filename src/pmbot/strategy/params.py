"""Quoting parameters, in units a user can reason about.

Prices and edges are in `Price` units (1e-4 $; 100 = 1 cent), sizes in `Qty` (1e-2
contracts; 100 = one contract), times in nanoseconds, probabilities as floats in [0, 1].

Risk aversion is the CARA coefficient `gamma` per dollar of settlement payoff (utility
`-exp(-gamma * W)`). To second order the certainty-equivalent cost of holding a payoff with
variance V ($^2) is `gamma * V / 2` dollars, so gamma = 0.002 means "a position whose payoff
has a standard deviation of $50 costs me $2.50 of certainty equivalent". With 100 contracts
long at p = 0.5 the reservation price skew is about gamma * 100 * 0.25 = 5 cents.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmbot.errors import ConfigError

__all__ = ["QuoteParams"]


@dataclass(frozen=True, slots=True)
class QuoteParams:
    """Parameters of the market maker (and, where they apply, of the baseline)."""

    risk_aversion: float = 0.002  # CARA gamma per $ of payoff
    edge: int = 100  # Price units: minimum distance of a quote from its reservation price
    adverse_selection: int = 0  # Price units added to the edge (markout allowance m_AS)
    min_spread_ticks: int = 2  # never quote bid and ask closer than this many grid ticks
    size: int = 1000  # Qty: base quote size per side (10 contracts)
    lot: int = 100  # Qty: sizes are whole multiples of this (1 contract)
    no_quote_band: float = 0.03  # no quotes where fair P(YES) < band or > 1 - band
    price_tolerance_ticks: int = 1  # hysteresis: keep a resting quote this close to desired
    size_tolerance: float = 0.5  # hysteresis: keep a resting size within this share of desired
    min_rest_ns: int = 500_000_000  # a resting quote younger than this is not repriced
    debounce_ns: int = 250_000_000  # at most one requote per window for small changes
    debounce_bypass: float = 0.02  # a fair-value move (probability) that skips the debounce

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("risk_aversion", self.risk_aversion >= 0.0, "must be >= 0 (per $)"),
            ("edge", self.edge >= 0, "must be >= 0 (Price units, 100 = 1c)"),
            ("adverse_selection", self.adverse_selection >= 0, "must be >= 0"),
            ("min_spread_ticks", self.min_spread_ticks >= 1, "must be >= 1"),
            ("size", self.size > 0, "must be > 0 (Qty, 100 = 1 contract)"),
            ("lot", self.lot > 0, "must be > 0"),
            ("no_quote_band", 0.0 <= self.no_quote_band < 0.5, "must be in [0, 0.5)"),
            ("price_tolerance_ticks", self.price_tolerance_ticks >= 0, "must be >= 0"),
            ("size_tolerance", 0.0 <= self.size_tolerance < 1.0, "must be in [0, 1)"),
            ("min_rest_ns", self.min_rest_ns >= 0, "must be >= 0"),
            ("debounce_ns", self.debounce_ns >= 0, "must be >= 0"),
            ("debounce_bypass", self.debounce_bypass >= 0.0, "must be >= 0"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise ConfigError(f"strategy.{name}", why)
