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
    fill_pause_ns: int = 1_000_000_000  # after a fill, that side of that market rests this long
    close_ramp_ns: int = 0  # over this last stretch before the reference time (0: off) ...
    close_risk_multiplier: float = 1.0  # ... risk aversion ramps linearly up to x this
    close_edge_multiplier: float = 1.0  # ... and the edge up to x this

    def close_factor(self, ns_to_reference: int) -> float:
        """0 outside the close ramp, rising linearly to 1 at the reference time."""
        if self.close_ramp_ns <= 0 or ns_to_reference >= self.close_ramp_ns:
            return 0.0
        return 1.0 - max(0, ns_to_reference) / self.close_ramp_ns

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
            ("fill_pause_ns", self.fill_pause_ns >= 0, "must be >= 0"),
            ("close_ramp_ns", self.close_ramp_ns >= 0, "must be >= 0"),
            ("close_risk_multiplier", self.close_risk_multiplier >= 1.0, "must be >= 1"),
            ("close_edge_multiplier", self.close_edge_multiplier >= 1.0, "must be >= 1"),
        ]
        for name, ok, why in checks:
            if not ok:
                raise ConfigError(f"strategy.{name}", why)
