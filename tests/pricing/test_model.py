"""The assembled v1 model: variance clock × VIX·k × realised blend → EventFairValue."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from pmbot.pricing.calendar import TradingCalendar
from pmbot.pricing.ladder import kalshi_style_ladder
from pmbot.pricing.model import FairValueModel

E = "KXINX-26NOV30H1600"


def ts(s: str) -> int:
    return int(pd.Timestamp(s, tz="America/New_York").value)


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar.nyse("2026-11-01", "2026-12-31")


def test_open_to_close_width_and_point_mass_at_close(cal: TradingCalendar) -> None:
    m = FairValueModel(cal, k=0.7, prior_strength=None)
    close = ts("2026-11-30 16:00")
    specs = kalshi_style_ladder(E, 6700, 25, 10, close_ts_ns=close)
    s_open = m.stdev(ts("2026-11-30 09:30"), close, 20.0)
    assert s_open == pytest.approx(0.7 * 0.20 / math.sqrt(252))
    fv = m.fair_value(E, specs, ts("2026-11-30 09:30"), 6812.0, 20.0)
    assert sum(fv.cell_probs) == pytest.approx(1.0)
    assert fv.sigma == pytest.approx(6812 * s_open, rel=1e-3)
    at_close = m.fair_value(E, specs, close, 6812.0, 20.0)
    assert at_close.fair[f"{E}-B6812"] == 1.0 and at_close.sigma == 0.0
    # later in the day the distribution is narrower
    later = m.fair_value(E, specs, ts("2026-11-30 14:00"), 6812.0, 20.0)
    assert later.fair[f"{E}-B6812"] > fv.fair[f"{E}-B6812"]
    assert m.pricer(E, specs) is m.pricer(E, specs)  # built once per event


def test_weekend_and_half_day_horizons(cal: TradingCalendar) -> None:
    m = FairValueModel(cal, k=0.7, prior_strength=None)
    day = (0.7 * 0.2) ** 2 / 252
    fri, mon = ts("2026-11-20 16:00"), ts("2026-11-23 16:00")
    assert m.stdev(fri, mon, 20.0) ** 2 == pytest.approx(day * (1 + cal.overnight))
    half = m.stdev(ts("2026-11-27 09:30"), ts("2026-11-27 13:00"), 20.0) ** 2
    assert half == pytest.approx(day * 3.5 / 6.5)


def test_realised_variance_pulls_the_width(cal: TradingCalendar) -> None:
    close = ts("2026-11-30 16:00")
    quiet = FairValueModel(cal, k=0.7)
    wild = FairValueModel(cal, k=0.7)
    t, lvl = ts("2026-11-30 09:30"), 6800.0
    for i in range(180):  # 3 hours of minutes: wild swings ±0.3 % a minute
        t += 60 * 10**9
        quiet.on_index(t, 6800.0 + (i % 2) * 0.01)
        lvl = 6800.0 * (1.003 if i % 2 else 1.0)
        wild.on_index(t, lvl)
    s_implied = FairValueModel(cal, k=0.7, prior_strength=None).stdev(t, close, 16.0)
    assert quiet.stdev(t, close, 16.0) < s_implied < wild.stdev(t, close, 16.0)
    # a new session resets today's realised variance
    wild.on_index(ts("2026-12-01 09:31"), 6800.0)
    assert wild.realised.rv_session == 0.0


def test_a_changed_market_list_is_seen_without_forget(cal: TradingCalendar) -> None:
    """The per-event cache keys on the specs' contents, not on the (mutable) list."""
    m = FairValueModel(cal, k=0.7, prior_strength=None)
    close = ts("2026-11-30 16:00")
    now = ts("2026-11-30 10:00")
    specs = kalshi_style_ladder(E, 6700, 25, 10, close_ts_ns=close)
    first = m.fair_value(E, specs, now, 6812.0, 20.0)
    p = m.pricer(E, specs)
    assert m.fair_value(E, list(specs), now, 6812.0, 20.0) == first  # equal specs: same
    assert m.pricer(E, tuple(specs)) is p
    # same tickers, a later close (the next morning): the same pricer, the new reference time
    specs[:] = [dataclasses.replace(s, close_ts_ns=close + 18 * 3600 * 10**9) for s in specs]
    wider = m.fair_value(E, specs, now, 6812.0, 20.0)
    assert m.pricer(E, specs) is p and wider.sigma > first.sigma
    # a market more: a new pricer
    more = kalshi_style_ladder(E, 6700, 25, 11, close_ts_ns=close)
    assert len(m.fair_value(E, more, now, 6812.0, 20.0).fair) == len(more)
    assert m.pricer(E, more) is not p
    # the same tickers, every strike 100 points up (metadata_updated): priced on the new edges
    moved = [
        dataclasses.replace(
            s,
            floor_strike=None if s.floor_strike is None else s.floor_strike + 100,
            cap_strike=None if s.cap_strike is None else s.cap_strike + 100,
        )
        for s in more
    ]
    again = m.fair_value(E, moved, now, 6812.0, 20.0)
    fresh = FairValueModel(cal, k=0.7, prior_strength=None).fair_value(E, moved, now, 6812.0, 20.0)
    assert again.edges == fresh.edges and again.fair == fresh.fair


def test_yesterdays_realised_variance_is_not_blended_into_todays_open(
    cal: TradingCalendar,
) -> None:
    """From the open until today's first print the accumulator still holds Friday's: the
    implied level alone is used (it doubled the variance at 09:30:00)."""
    m = FairValueModel(cal, k=0.7, prior_strength=0.5)
    t = ts("2026-11-27 09:30")  # the Friday half day
    level = 6800.0
    for i in range(600):  # a wild morning: 0.3 % moves every 30 s
        level *= 1.003 if i % 2 else 0.997
        m.on_index(t + i * 30 * 10**9, level)
    friday = m.session_variance(t + 300 * 30 * 10**9, 20.0)
    implied = m.session_variance(ts("2026-11-30 09:29:59"), 20.0)  # closed: implied
    assert friday > 1.5 * implied
    assert m.session_variance(ts("2026-11-30 09:30"), 20.0) == implied  # Monday, no print yet
    m.on_index(ts("2026-11-30 09:30:01"), level)
    assert m.session_variance(ts("2026-11-30 09:31"), 20.0) == pytest.approx(implied, rel=0.05)
