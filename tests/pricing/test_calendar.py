"""Variance clock: sessions, half days, holidays, weekends, intraday U shape."""

from __future__ import annotations

import pandas as pd
import pytest

from pmbot.pricing.calendar import DEFAULT_SLOT_SHARES, IntradayCurve, TradingCalendar

NS = 1_000_000_000


def ts(s: str) -> int:
    return int(pd.Timestamp(s, tz="America/New_York").value)


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar.nyse("2026-11-01", "2026-12-31")


def test_full_session_is_one_unit_and_u_shaped(cal: TradingCalendar) -> None:
    assert cal.variance_time(ts("2026-11-24 09:30"), ts("2026-11-24 16:00")) == pytest.approx(1.0)
    first = cal.variance_time(ts("2026-11-24 09:30"), ts("2026-11-24 10:00"))
    midday = cal.variance_time(ts("2026-11-24 12:30"), ts("2026-11-24 13:00"))
    last = cal.variance_time(ts("2026-11-24 15:30"), ts("2026-11-24 16:00"))
    assert first > last > midday
    assert first == pytest.approx(DEFAULT_SLOT_SHARES[0])
    # remaining variance falls monotonically to zero at the close
    rem = [
        cal.variance_time(ts(f"2026-11-24 {h}"), ts("2026-11-24 16:00"))
        for h in ("09:30", "11:00", "14:00", "15:59", "16:00")
    ]
    assert rem == sorted(rem, reverse=True) and rem[-1] == 0.0


def test_zero_or_negative_time_left(cal: TradingCalendar) -> None:
    t = ts("2026-11-24 16:00")
    assert cal.variance_time(t, t) == 0.0
    assert cal.variance_time(t + NS, t) == 0.0


def test_half_day_and_holiday(cal: TradingCalendar) -> None:
    # Thanksgiving 2026-11-26 closed; 2026-11-27 closes 13:00 (3.5 h of 6.5)
    assert not cal.is_open(ts("2026-11-26 12:00"))
    assert cal.next_close(ts("2026-11-27 10:00")) == ts("2026-11-27 13:00")
    half = cal.variance_time(ts("2026-11-27 09:30"), ts("2026-11-27 13:00"))
    assert half == pytest.approx(3.5 / 6.5)
    # Wed close -> Fri close: one overnight (plus the closed Thursday at weight 0) + half day
    v = cal.variance_time(ts("2026-11-25 16:00"), ts("2026-11-27 13:00"))
    assert v == pytest.approx(cal.overnight + 3.5 / 6.5)


def test_weekend_counts_one_overnight(cal: TradingCalendar) -> None:
    fri_close, mon_close = ts("2026-11-20 16:00"), ts("2026-11-23 16:00")
    assert cal.variance_time(fri_close, mon_close) == pytest.approx(1.0 + cal.overnight)
    # the cash index does not move until Monday's open: from a Saturday instant (or Monday
    # 08:00) all of the overnight variance is still to come, as a step at the open
    sat = cal.variance_time(ts("2026-11-21 12:00"), mon_close)
    assert sat == pytest.approx(1.0 + cal.overnight)
    assert cal.variance_time(ts("2026-11-23 08:00"), mon_close) == pytest.approx(sat)
    assert cal.variance_time(ts("2026-11-23 08:00"), ts("2026-11-23 10:00")) > cal.overnight
    with_weekend = TradingCalendar(cal.opens, cal.closes, closed_day=0.05)
    assert with_weekend.variance_time(fri_close, mon_close) == pytest.approx(
        1.0 + cal.overnight + 0.1
    )


def test_week_to_friday_close(cal: TradingCalendar) -> None:
    # Monday noon to Friday close, 2026-11-30 .. 2026-12-04
    t = ts("2026-11-30 12:00")
    rem_today = cal.variance_time(t, ts("2026-11-30 16:00"))
    v = cal.variance_time(t, ts("2026-12-04 16:00"))
    assert v == pytest.approx(rem_today + 4 + 4 * cal.overnight)
    assert 0 < cal.session_elapsed(t) < 1
    assert cal.session_elapsed(t) + rem_today == pytest.approx(1.0)


def test_flat_curve_is_wall_clock() -> None:
    c = IntradayCurve.flat()
    assert c.cum(0.25) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        IntradayCurve((-1.0, 2.0))


def test_variance_time_is_a_difference_of_cumulatives_whatever_the_last_reference(
    cal: TradingCalendar,
) -> None:
    refs = [ts("2026-11-24 16:00"), ts("2026-11-24 11:00"), ts("2026-11-25 16:00")]
    t = ts("2026-11-24 09:45")
    for ref in [*refs, *refs[::-1], refs[0], refs[0]]:
        want = max(0.0, cal.cumulative(ref) - cal.cumulative(t))
        assert cal.variance_time(t, ref) == want
    with pytest.raises(ValueError):
        cal.variance_time(t, ts("2027-06-01 16:00"))  # past the calendar: still an error
