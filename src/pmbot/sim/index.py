"""The simulator's own S&P 500 index path: seeded synthetic, or replayed from a CSV.

Levels are integers in 1e-4 index points (7650.12 -> 76_501_200) so settlement values are
exact 4-dp strings. The index only moves inside the 09:30-16:00 ET session of trading days;
outside it the last print stands (Kalshi's rule: the last value at or before the reference time).
Synthetic paths are a random walk in log space with a U-shaped intraday volatility profile,
occasional small jumps and an overnight gap, generated one day at a time from a seed, so any
time can be queried in any order and the path is identical run to run. Pure.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "ET",
    "IndexPath",
    "ReplayIndex",
    "SyntheticIndex",
    "close_hour",
    "fmt_level",
    "is_trading_day",
    "session_bounds_ns",
    "session_seconds",
]

ET = ZoneInfo("America/New_York")
SCALE = 10_000  # 1e-4 index points
SESSION_S = 23_400  # 09:30-16:00
EARLY_SESSION_S = 12_600  # 09:30-13:00

# NYSE full-day holidays and 13:00 early closes (the simulator's exchange calendar; equal to
# exchange_calendars' XNYS, which the pricing model uses, over 2025-2027: tested).
HOLIDAYS = {
    date(2025, 1, 1), date(2025, 1, 9), date(2025, 1, 20), date(2025, 2, 17), date(2025, 4, 18), date(2025, 5, 26),
    date(2025, 6, 19), date(2025, 7, 4), date(2025, 9, 1), date(2025, 11, 27), date(2025, 12, 25),
    date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 4, 3), date(2026, 5, 25),
    date(2026, 6, 19), date(2026, 7, 3), date(2026, 9, 7), date(2026, 11, 26), date(2026, 12, 25),
    date(2027, 1, 1), date(2027, 1, 18), date(2027, 2, 15), date(2027, 3, 26), date(2027, 5, 31),
    date(2027, 6, 18), date(2027, 7, 5), date(2027, 9, 6), date(2027, 11, 25), date(2027, 12, 24),
}  # fmt: skip
EARLY_CLOSES = {
    date(2025, 7, 3), date(2025, 11, 28), date(2025, 12, 24),
    date(2026, 11, 27), date(2026, 12, 24), date(2027, 11, 26),
}  # fmt: skip


def is_trading_day(d: date) -> bool:
    return d.weekday() < 5 and d not in HOLIDAYS


def et_ns(d: date, hh: int, mm: int) -> int:
    """Unix ns of a wall-clock time in New York on day d."""
    return int(datetime.combine(d, time(hh, mm), ET).timestamp()) * 1_000_000_000


def close_hour(d: date) -> int:
    """The hour (ET) of day d's close: 13 on an early-close day, else 16."""
    return 13 if d in EARLY_CLOSES else 16


def session_seconds(d: date) -> int:
    return EARLY_SESSION_S if d in EARLY_CLOSES else SESSION_S


def session_bounds_ns(d: date) -> tuple[int, int]:
    return et_ns(d, 9, 30), et_ns(d, close_hour(d), 0)


def et_date(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns / 1e9, ET).date()


def fmt_level(v: int) -> str:
    q, r = divmod(v, SCALE)
    return f"{q}.{r:04d}"


class IndexPath:
    """Interface: level (1e-4 points) at a time, and an annualised volatility guess."""

    vol: float = 0.16

    def level_at(self, ts_ns: int) -> int:
        raise NotImplementedError


class SyntheticIndex(IndexPath):
    """Seeded day-by-day random walk; one sample per second of the session."""

    def __init__(self, seed: int, start: date, level: float = 7650.0, vol: float = 0.16) -> None:
        self.seed = seed
        self.vol = vol
        self.start = start
        self._days: dict[date, list[int]] = {}
        self._close: dict[date, int] = {}
        self._first_close = round(level * SCALE)

    def _prev_close(self, d: date) -> int:
        p = d - timedelta(days=1)
        while p >= self.start:
            if is_trading_day(p):
                return self._day(p)[session_seconds(p)]
            p -= timedelta(days=1)
        return self._first_close

    def _day(self, d: date) -> list[int]:
        path = self._days.get(d)
        if path is not None:
            return path
        prev = self._prev_close(d)
        rng = random.Random(self.seed * 1_000_003 + d.toordinal())
        daily = self.vol / math.sqrt(252)
        x = math.log(prev / SCALE) + rng.gauss(0.0, daily * 0.25)  # overnight gap
        per_s = daily / math.sqrt(SESSION_S)
        out = [0] * (SESSION_S + 1)
        for i in range(SESSION_S + 1):
            u = i / SESSION_S
            m = 0.75 + 1.6 * (u - 0.5) ** 2 * 4 / 2.0  # U shape, mean ~1
            x += rng.gauss(0.0, per_s * m)
            if rng.random() < 1 / 7200:
                x += rng.gauss(0.0, daily * 0.15)
            out[i] = round(math.exp(x) * SCALE)
        self._days[d] = out
        return out

    def level_at(self, ts_ns: int) -> int:
        d = et_date(ts_ns)
        if d < self.start:
            return self._first_close
        if not is_trading_day(d):
            return self._prev_close(d)
        open_ns, _close_ns = session_bounds_ns(d)
        if ts_ns < open_ns:
            return self._prev_close(d)
        i = min(session_seconds(d), (ts_ns - open_ns) // 1_000_000_000)
        return self._day(d)[i]  # the path of a full day, stopped at an early close


class ReplayIndex(IndexPath):
    """Levels from a CSV of `ts_ms,level` rows (header optional); last print at or before t."""

    def __init__(self, path: str, vol: float = 0.16) -> None:
        self.vol = vol
        ts: list[int] = []
        lv: list[int] = []
        with open(path, newline="") as f:
            for row in csv.reader(f):
                if not row or not row[0].strip().lstrip("-").isdigit():
                    continue
                ts.append(int(row[0]) * 1_000_000)
                lv.append(round(float(row[1]) * SCALE))
        if not ts:
            raise ValueError(f"no rows in {path}")
        self._ts, self._lv = ts, lv

    def level_at(self, ts_ns: int) -> int:
        i = bisect.bisect_right(self._ts, ts_ns) - 1
        return self._lv[max(i, 0)]
