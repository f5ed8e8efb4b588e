"""The v1 fair-value model in one place: VIX × k, variance clock, realised blend, t shape.

    σ²_session = blend((k·VIX/100)²/252, today's realised so far)     (volatility.py)
    s          = sqrt(σ²_session · variance_time(now, reference))      (calendar.py)
    P(YES)     = one CDF over the event's strikes, Student-t ν=6         (ladder.py)

ν=6 variance-matched is what `pmbot calibrate` recommends on 2014-2018 open→close ladders
(log loss 1.764 vs climatology 1.897 and raw VIX 1.885; PIT outer-10 % share 10.4 %).
k is fitted (`volatility.rolling_k`) and handed in; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.pricing.calendar import TradingCalendar
from pmbot.pricing.ladder import LadderPricer, Shape
from pmbot.pricing.volatility import (
    TRADING_DAYS,
    LiveRealisedVariance,
    blend_session_variance,
)

__all__ = ["RECOMMENDED_SHAPE", "FairValueModel"]

RECOMMENDED_SHAPE = Shape.student_t(6.0)


@dataclass
class FairValueModel:
    """Prices events from the live level, the latest VIX and the realised path so far.

    `k` is the horizon factor for VIX (≈0.70 open→close on 2014-2018 data; refit weekly
    from recorded closes). `prior_strength` sets how fast today's realised variance takes
    over from the implied level (see `blend_session_variance`); None disables the blend.
    """

    calendar: TradingCalendar
    k: float = 0.70
    shape: Shape = field(default_factory=lambda: RECOMMENDED_SHAPE)
    prior_strength: float | None = 0.5
    realised: LiveRealisedVariance = field(default_factory=LiveRealisedVariance)
    _pricers: dict[str, LadderPricer] = field(default_factory=dict)
    # per event: the specs last priced (as a tuple) and their default reference time
    _pricer_specs: dict[str, tuple[tuple[MarketSpec, ...], int]] = field(default_factory=dict)
    _session: int = -1

    def on_index(self, ts_ns: int, level: float) -> None:
        """Feed every index tick (resets the realised accumulator at each new session)."""
        i = self.calendar.session_index(ts_ns)
        if i != self._session:
            self._session = i
            self.realised.new_session()
        if self.calendar.is_open(ts_ns):
            self.realised.update(level, self.calendar.cumulative(ts_ns))

    def session_variance(self, ts_ns: int, vix: float) -> float:
        # `vix_session_sigma` on scalars, without its array round trip (the same IEEE ops)
        implied = (self.k * vix / 100.0 / math.sqrt(TRADING_DAYS)) ** 2
        if (
            self.prior_strength is None
            or not self.calendar.is_open(ts_ns)
            or self._session != self.calendar.session_index(ts_ns)
        ):
            return implied  # (nor before today's first print: the accumulator is yesterday's)
        return blend_session_variance(
            implied,
            self.realised.rv_session,
            self.realised.elapsed_session,
            self.prior_strength,
        )

    def stdev(self, ts_ns: int, ref_ns: int, vix: float) -> float:
        """Log-return stdev of the index from now to the reference time."""
        v = self.calendar.variance_time(ts_ns, ref_ns)
        return math.sqrt(self.session_variance(ts_ns, vix) * v)

    def pricer(self, event_ticker: str, specs: Sequence[MarketSpec]) -> LadderPricer:
        """The event's pricer, built once (rebuild by calling `forget` when markets change)."""
        return self._event(event_ticker, specs)[0]

    def _event(self, event_ticker: str, specs: Sequence[MarketSpec]) -> tuple[LadderPricer, int]:
        """(pricer, latest close of the specs). Specs equal to the last ones (the same
        immutable objects, usually: one C-level tuple compare) skip the per-market checks."""
        key = tuple(specs)
        p = self._pricers.get(event_ticker)
        last = self._pricer_specs.get(event_ticker)
        if p is not None and last is not None and last[0] == key:
            return p, last[1]
        # the edges depend on the strikes: rebuilt when a market is added or a strike changes
        # under the same ticker (Kalshi's metadata_updated), kept when only a close moved
        if p is None or last is None or _strikes(last[0]) != _strikes(key):
            p = self._pricers[event_ticker] = LadderPricer(event_ticker, key, self.shape)
        ref = max(m.close_ts_ns for m in key)
        self._pricer_specs[event_ticker] = (key, ref)
        return p, ref

    def forget(self, event_ticker: str) -> None:
        self._pricers.pop(event_ticker, None)
        self._pricer_specs.pop(event_ticker, None)

    def fair_value(
        self,
        event_ticker: str,
        specs: Sequence[MarketSpec],
        ts_ns: int,
        level: float,
        vix: float,
        ref_ns: int | None = None,
    ) -> EventFairValue:
        """Price the event at `ts_ns`; the reference time defaults to the markets' close."""
        pricer, close = self._event(event_ticker, specs)
        ref = ref_ns if ref_ns is not None else close
        return pricer.fair_value(ts_ns, level, self.stdev(ts_ns, ref, vix))


def _strikes(specs: Sequence[MarketSpec]) -> list[tuple[str, object, float | None, float | None]]:
    return [(m.ticker, m.strike_type, m.floor_strike, m.cap_strike) for m in specs]
