"""Fair values for a replay: the live pricer (`pricing.ladder`) on the variance clock.

One `LadderPricer` per event; the log-return stdev to the reference time is
`sigma_session * sqrt(variance units left)` on a `pricing.calendar.TradingCalendar` built
from the simulator's NYSE session table (no network, no exchange_calendars import), with
`sigma_session = vol / sqrt(252)`. A fair value is recomputed only when the index printed
since the last one for that event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.pricing.calendar import TradingCalendar
from pmbot.pricing.ladder import LadderPricer, Shape
from pmbot.sim.index import et_date, is_trading_day, session_bounds_ns

__all__ = ["FairModel", "shape_from_name"]


def shape_from_name(name: str) -> Shape:
    """ "normal", "t4", "t6", ... (variance-matched Student t)."""
    if name == "normal":
        return Shape.normal()
    if name.startswith("t") and name[1:].replace(".", "", 1).isdigit():
        return Shape.student_t(float(name[1:]))
    raise ValueError(f"unknown shape {name!r} (normal, t4, t6, ...)")


def session_calendar(start_ns: int, end_ns: int) -> TradingCalendar:
    d0, d1 = et_date(start_ns) - timedelta(days=10), et_date(end_ns) + timedelta(days=10)
    opens: list[int] = []
    closes: list[int] = []
    d = d0
    while d <= d1:
        if is_trading_day(d):
            o, c = session_bounds_ns(d)
            opens.append(o)
            closes.append(c)
        d += timedelta(days=1)
    return TradingCalendar(opens, closes)


class FairModel:
    def __init__(self, markets: Sequence[MarketSpec], vol: float = 0.16, shape: str = "normal",
                 start_ns: int | None = None, end_ns: int | None = None) -> None:  # fmt: skip
        by_event: dict[str, list[MarketSpec]] = {}
        for m in markets:
            by_event.setdefault(m.event_ticker, []).append(m)
        sh = shape_from_name(shape)
        self.pricers = {e: LadderPricer(e, specs, sh) for e, specs in by_event.items()}
        self.ref_ns = {e: max(s.close_ts_ns for s in specs) for e, specs in by_event.items()}
        lo = min(self.ref_ns.values()) if start_ns is None else start_ns
        hi = max(self.ref_ns.values()) if end_ns is None else max(end_ns, max(self.ref_ns.values()))
        self.calendar = session_calendar(lo, hi)
        self.sigma_session = vol / math.sqrt(252.0)

    def stdev(self, event: str, ts_ns: int) -> float:
        units = self.calendar.variance_time(ts_ns, self.ref_ns[event])
        return self.sigma_session * math.sqrt(units)

    def fair(self, event: str, ts_ns: int, level: float) -> EventFairValue:
        return self.pricers[event].fair_value(ts_ns, level, self.stdev(event, ts_ns))
