"""Fair values for a replay: the live bot's own model (`pricing.model.FairValueModel`).

VIX x k on the variance clock, today's realised variance blended in, Student-t shape, one
`LadderPricer` per event, exactly as `app_parts.fair_model` builds it for `pmbot run`. The
calendar is the simulator's NYSE session table (no network, no exchange_calendars import;
the same holidays for 2025-2027) unless one is handed in. With only `vol` given (a synthetic
or simulated index of known volatility) VIX = 100 * vol and k = 1, as the app does on the
embedded simulator. Every index print must reach `on_index` (the realised accumulator).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.pricing.calendar import TradingCalendar
from pmbot.pricing.ladder import Shape
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
    def __init__(self, markets: Sequence[MarketSpec], vol: float = 0.16, shape: str = "t6",
                 start_ns: int | None = None, end_ns: int | None = None, *, vix: float | None = None,
                 k: float | None = None, realised_blend: bool = True,
                 calendar: TradingCalendar | None = None) -> None:  # fmt: skip
        from pmbot.pricing.model import FairValueModel

        by_event: dict[str, list[MarketSpec]] = {}
        for m in markets:
            by_event.setdefault(m.event_ticker, []).append(m)
        self.specs = {e: tuple(v) for e, v in by_event.items()}
        self.ref_ns = {e: max(s.close_ts_ns for s in specs) for e, specs in by_event.items()}
        lo = min(self.ref_ns.values()) if start_ns is None else start_ns
        hi = max(self.ref_ns.values()) if end_ns is None else max(end_ns, max(self.ref_ns.values()))
        self.vix = vix if vix is not None else vol * 100.0
        self.model = FairValueModel(
            calendar or session_calendar(lo, hi),
            k=k if k is not None else (1.0 if vix is None else 0.70),
            shape=shape_from_name(shape),
            prior_strength=0.5 if realised_blend else None,
        )

    def on_index(self, ts_ns: int, level: float) -> None:
        self.model.on_index(ts_ns, level)

    def stdev(self, event: str, ts_ns: int) -> float:
        return self.model.stdev(ts_ns, self.ref_ns[event], self.vix)

    def fair(self, event: str, ts_ns: int, level: float) -> EventFairValue:
        return self.model.fair_value(
            event, self.specs[event], ts_ns, level, self.vix, self.ref_ns[event]
        )
