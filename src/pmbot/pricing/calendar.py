"""Time measured in trading variance: NYSE sessions, an intraday U-shaped clock, overnights.

The width of the index distribution at a reference time depends on how much variance is
still to come, not on wall-clock time (pricing notes §2.2). One full regular session is one
unit. Inside a session variance arrives along an intraday intensity curve `w(u)` (high at
the open, a midday trough, a rise into the close); an overnight between sessions adds
`overnight` units (≈0.24 from the notes' own ratios: (0.78² − 0.70²)/0.70² close-to-close
versus open-to-close); weekend and holiday days add `closed_day` units each (≈0). A half
day (early close) carries `hours/6.5` units on the same curve compressed onto its hours.

The session table comes from exchange_calendars once, at construction; `variance_time` is
then arithmetic on arrays and reads no clock.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_SLOT_SHARES",
    "IntradayCurve",
    "TradingCalendar",
]

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
_FULL_SESSION_NS = int(6.5 * 3600 * _NS)

# Share of a regular session's variance per 30-minute slot, 9:30-16:00 ET. 10:30-16:00 is
# the measured ES curve of the notes (§2.2, 12.0 ... 10.6 %, rescaled to 11 of 13 slots);
# the first hour is not in that data: 16 % and 13 % extend the U shape (the literature puts
# the most variance there). Refit from the bot's own recorded minutes.
_MEASURED = [12.0, 9.9, 8.3, 7.2, 6.9, 7.7, 8.6, 10.4, 8.9, 9.4, 10.6]
_FIRST_HOUR = [16.0, 13.0]
DEFAULT_SLOT_SHARES: tuple[float, ...] = tuple(
    float(x) for x in np.array(_FIRST_HOUR + _MEASURED) / sum(_FIRST_HOUR + _MEASURED)
)


@dataclass(frozen=True)
class IntradayCurve:
    """Piecewise-constant variance intensity over equal slots of a session.

    `cum(u)` is the share of the session's variance that has arrived by fraction `u` of the
    session's length (0 at the open, 1 at the close), linear inside each slot.
    """

    shares: tuple[float, ...] = DEFAULT_SLOT_SHARES

    def __post_init__(self) -> None:
        a = np.asarray(self.shares, dtype=np.float64)
        if a.ndim != 1 or len(a) == 0 or (a < 0).any() or a.sum() <= 0:
            raise ValueError("slot shares must be non-negative with a positive sum")
        knots = np.concatenate([[0.0], np.cumsum(a / a.sum())])
        # Python floats: `cum` runs per index tick, where numpy scalars cost more than the math
        object.__setattr__(self, "_knots", tuple(knots.tolist()))

    @staticmethod
    def flat() -> IntradayCurve:
        return IntradayCurve((1.0,))

    def cum(self, u: float) -> float:
        knots: tuple[float, ...] = self._knots  # type: ignore[attr-defined]
        if u <= 0.0:
            return 0.0
        if u >= 1.0:
            return 1.0
        n = len(knots) - 1
        x = u * n
        i = int(x)
        return knots[i] + (knots[i + 1] - knots[i]) * (x - i)


class TradingCalendar:
    """Sessions of one exchange over a date range and the variance clock on them.

    `opens_ns`/`closes_ns` are UTC epoch nanoseconds. `variance_time(t, ref)` is the number
    of regular-session variance units between two instants.
    """

    def __init__(
        self,
        opens_ns: Sequence[int],
        closes_ns: Sequence[int],
        curve: IntradayCurve | None = None,
        overnight: float = 0.24,
        closed_day: float = 0.0,
    ) -> None:
        if len(opens_ns) != len(closes_ns) or not opens_ns:
            raise ValueError("need matching, non-empty opens and closes")
        self.opens = [int(x) for x in opens_ns]
        self.closes = [int(x) for x in closes_ns]
        if any(c <= o for o, c in zip(self.opens, self.closes, strict=True)):
            raise ValueError("every session must close after it opens")
        if any(b <= a for a, b in zip(self.closes, self.opens[1:], strict=False)):
            raise ValueError("sessions must be ordered and disjoint")
        self.curve = curve or IntradayCurve()
        self.overnight = overnight
        self.closed_day = closed_day
        n = len(self.opens)
        self.weights = [
            (c - o) / _FULL_SESSION_NS for o, c in zip(self.opens, self.closes, strict=True)
        ]
        # cumulative variance at each open (V_open) and close (V_close)
        self.v_open = [0.0] * n
        self.v_close = [0.0] * n
        v = 0.0
        for i in range(n):
            if i:
                gap_days = max(0, round((self.opens[i] - self.opens[i - 1]) / _DAY_NS) - 1)
                v += overnight + closed_day * gap_days
            self.v_open[i] = v
            v += self.weights[i]
            self.v_close[i] = v
        self._last_ref = (-1, 0.0)  # (ref_ns, cumulative(ref_ns)) of the last variance_time

    @classmethod
    def nyse(cls, start: str, end: str, **kw: object) -> TradingCalendar:
        """XNYS sessions (holidays and early closes included) from exchange_calendars."""
        import exchange_calendars as xc

        cal = xc.get_calendar("XNYS", start=start, end=end)
        opens = [int(t.value) for t in cal.opens]  # Timestamp.value: UTC epoch ns
        closes = [int(t.value) for t in cal.closes]
        return cls(opens, closes, **kw)  # type: ignore[arg-type]

    def session_index(self, t_ns: int) -> int:
        """Index of the last session opening at or before t (-1 before the first)."""
        return bisect.bisect_right(self.opens, t_ns) - 1

    def is_open(self, t_ns: int) -> bool:
        i = self.session_index(t_ns)
        return i >= 0 and t_ns < self.closes[i]

    def next_close(self, t_ns: int) -> int:
        """Close of the session in progress at t, else of the next session."""
        i = bisect.bisect_right(self.closes, t_ns)
        if i >= len(self.closes):
            raise ValueError("t is past the calendar's last session")
        return self.closes[i]

    def cumulative(self, t_ns: int) -> float:
        """Variance units since the first session's open (monotone; flat overnight, the
        overnight share added as a step at the next open)."""
        i = self.session_index(t_ns)
        if i < 0:
            raise ValueError("t is before the calendar's first session")
        o, c = self.opens[i], self.closes[i]
        if t_ns < c:
            return self.v_open[i] + self.weights[i] * self.curve.cum((t_ns - o) / (c - o))
        if i + 1 >= len(self.opens):
            if t_ns > c:
                raise ValueError("t is past the calendar's last session")
            return self.v_close[i]
        # overnight: the cash index does not move between the close and the next open (the
        # level priced is still the close), so the overnight variance arrives as a step at
        # the open: from any overnight time, all of it is still to come
        return self.v_close[i]

    def variance_time(self, t_ns: int, ref_ns: int) -> float:
        """Regular-session variance units from t to the reference time (0 if ref <= t)."""
        if ref_ns <= t_ns:
            return 0.0
        ref, v_ref = self._last_ref
        if ref != ref_ns:  # the reference is an event's close: the same on every tick
            v_ref = self.cumulative(ref_ns)
            self._last_ref = (ref_ns, v_ref)
        return max(0.0, v_ref - self.cumulative(t_ns))

    def session_elapsed(self, t_ns: int) -> float:
        """Share of the current session's variance already realised (0 outside a session)."""
        i = self.session_index(t_ns)
        if i < 0 or t_ns >= self.closes[i]:
            return 0.0
        o, c = self.opens[i], self.closes[i]
        return self.curve.cum((t_ns - o) / (c - o))
