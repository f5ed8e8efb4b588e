"""S&P ladders (ticker grammar, strikes), the index path, and the background flow."""

from __future__ import annotations

import random
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pmbot.core.market import StrikeType
from pmbot.sim.exchange import Exchange
from pmbot.sim.flow import Flow, FlowConfig, fair_value
from pmbot.sim.index import SCALE, IndexPath, ReplayIndex, SyntheticIndex, et_ns
from pmbot.sim.markets import build_day, yes_wins

NY = ZoneInfo("America/New_York")
DAY = date(2026, 11, 24)


def test_kxinx_ladder_grammar() -> None:
    evs, ms = build_day(DAY, 7_661 * SCALE, et_ns(DAY, 9, 0), inx_buckets=2, inxu_strikes=1)
    inx = [m for m in ms if m.series_ticker == "KXINX"]
    assert evs[0].event_ticker == "KXINX-26NOV24H1600"
    assert [m.ticker.split("-")[-1] for m in inx] == [
        "T7599.9999",
        "B7612",
        "B7637",
        "B7662",
        "B7687",
        "B7712",
        "T7725",
    ]
    b = next(m for m in inx if m.ticker.endswith("B7662"))
    assert (b.strike_type, b.floor_strike, b.cap_strike) == (
        StrikeType.BETWEEN,
        7650 * SCALE,
        7674_9999,
    )
    assert yes_wins(b, 7650 * SCALE) and yes_wins(b, 7674_9999) and not yes_wins(b, 7675 * SCALE)
    lo, hi = inx[0], inx[-1]
    assert (
        lo.strike_type is StrikeType.LESS
        and yes_wins(lo, 7599_9999)
        and not yes_wins(lo, 7600 * SCALE)
    )
    assert (
        hi.strike_type is StrikeType.GREATER
        and yes_wins(hi, 7725 * SCALE)
        and not yes_wins(hi, 7724_9999)
    )
    # exactly one bucket wins for any value (MECNET)
    for v in (
        7000 * SCALE,
        7599_9999,
        7600 * SCALE,
        7662_5000,
        7724_9999,
        7725 * SCALE,
        9000 * SCALE,
    ):
        assert sum(yes_wins(m, v) for m in inx) == 1
    inxu = [m for m in ms if m.event_ticker == "KXINXU-26NOV24H1100"]
    assert [m.ticker.split("-")[-1] for m in inxu] == ["T7654.9999", "T7659.9999", "T7664.9999"]
    assert (
        inxu[1].strike_type is StrikeType.GREATER_OR_EQUAL and inxu[1].floor_strike == 7660 * SCALE
    )
    assert {e.event_ticker.split("-")[1][-5:] for e in evs[1:]} == {
        f"H{h}00" for h in range(10, 17)
    }
    assert inxu[0].close_ns == et_ns(DAY, 11, 0)
    assert build_day(date(2026, 11, 26), 7_661 * SCALE, 0) == ([], [])  # Thanksgiving: no events


def test_synthetic_index_is_seeded_and_session_only() -> None:
    a, b = SyntheticIndex(1, date(2026, 11, 16)), SyntheticIndex(1, date(2026, 11, 16))
    t = et_ns(DAY, 12, 0)
    assert a.level_at(t) == b.level_at(t)
    assert SyntheticIndex(2, date(2026, 11, 16)).level_at(t) != a.level_at(t)
    assert (
        a.level_at(et_ns(DAY, 17, 0))
        == a.level_at(et_ns(DAY, 20, 0))
        == a.level_at(et_ns(DAY, 16, 0))
    )
    assert a.level_at(et_ns(date(2026, 11, 25), 8, 0)) == a.level_at(et_ns(DAY, 16, 0))
    # realistic scale: daily moves of order 1%, not 10%
    opens = [a.level_at(et_ns(date(2026, 11, d), 9, 31)) for d in (17, 18, 19, 20, 23, 24)]
    closes = [a.level_at(et_ns(date(2026, 11, d), 16, 0)) for d in (17, 18, 19, 20, 23, 24)]
    assert all(abs(c / o - 1) < 0.05 for o, c in zip(opens, closes, strict=True))


def test_replay_index(tmp_path: Path) -> None:
    f = tmp_path / "idx.csv"
    t0 = int(datetime(2026, 11, 24, 9, 30, tzinfo=NY).timestamp() * 1000)
    f.write_text(f"ts_ms,level\n{t0},7650.12\n{t0 + 1000},7651.5\n")
    r = ReplayIndex(str(f))
    assert r.level_at(t0 * 10**6) == 7650_1200 and r.level_at((t0 + 1500) * 10**6) == 7651_5000


class Flat(IndexPath):
    def __init__(self, v: int) -> None:
        self.v = v

    def level_at(self, ts_ns: int) -> int:
        return self.v


def _world(seed: int) -> tuple[Exchange, Flow, Flat, list]:
    x = Exchange(seed=seed)
    evs, ms = build_day(DAY, 7_661 * SCALE, et_ns(DAY, 10, 0), inx_buckets=3, inxu_strikes=0)
    x.add_markets(evs, ms)
    idx = Flat(7_661 * SCALE)
    fl = Flow(x, idx, FlowConfig(noise_per_market_s=0.2), random.Random(seed))
    return x, fl, idx, ms


def _run(x: Exchange, fl: Flow, start: int, n: int) -> None:
    for i in range(n):
        t = start + i * 10**9
        x.tick(t, fl.index.level_at)
        fl.step(t, 1.0)
        x.drain()


def test_flow_is_reproducible_and_alive() -> None:
    start = et_ns(DAY, 10, 30)
    runs = []
    for _ in range(2):
        x, fl, _, _ = _world(5)
        _run(x, fl, start, 120)
        runs.append([(t[1], t[2], t[3], t[4]) for t in x.trades])
    assert runs[0] == runs[1] and len(runs[0]) > 10
    x, fl, _, ms = _world(5)
    _run(x, fl, start, 5)
    b = next(m for m in ms if m.ticker.endswith("B7662"))
    book = x.engine.book(b.ticker)
    fair = fair_value(b, 7_661 * SCALE, start, 0.16)
    assert book.best_bid() < fair * 10_000 < book.best_ask()


def test_informed_traders_pick_off_stale_quotes() -> None:
    x, fl, idx, ms = _world(9)
    idx.v = 7_640 * SCALE  # below the 7650-7674.9999 bucket: YES is cheap
    fl.cfg.noise = False
    start = et_ns(DAY, 15, 50)
    _run(x, fl, start, 2)
    b = next(m for m in ms if m.ticker.endswith("B7662"))
    x.ledger.open("slow-mm", 10**12)
    book = x.engine.book(b.ticker)
    ask = book.best_ask()
    stale = x.create(
        "slow-mm",
        ticker=b.ticker,
        side="ask",
        price=ask - 100,
        count=500,
        tif="good_till_canceled",
        stp="maker",
        ts_ns=start + 2 * 10**9,
    )
    idx.v = (
        7_662 * SCALE + 5000
    )  # index jumps into the middle of the bucket: YES is now worth much more
    _run(x, fl, start + 3 * 10**9, 1)
    assert stale.status == "executed"
    assert any(f[4] == "bid" for f in x.trades)


def test_the_simulator_calendar_is_xnys_with_its_early_closes() -> None:
    """Regression (review): the simulator had no early closes (and missed 2025-01-09), while
    the pricing model's calendar (exchange_calendars XNYS) closes at 13:00 on half days: on
    2026-11-27 the model priced the 16:00 events as settled from 13:00 while the simulated
    index kept moving. The two calendars are now the same, and a half day lists events only
    up to H1300 (protocol §8.3)."""
    import warnings
    from datetime import timedelta

    from pmbot.sim.index import is_trading_day, session_bounds_ns

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import exchange_calendars as xc

        cal = xc.get_calendar("XNYS", start="2025-01-01", end="2027-12-31")
        want = {s.date(): (int(o.value), int(c.value)) for s, o, c in zip(
            cal.sessions, cal.opens, cal.closes, strict=True)}  # fmt: skip
    d, got = date(2025, 1, 1), {}
    while d <= date(2027, 12, 31):
        if is_trading_day(d):
            got[d] = session_bounds_ns(d)
        d += timedelta(days=1)
    assert got == want

    half = date(2026, 11, 27)
    evs, mks = build_day(half, 6800 * SCALE, et_ns(half, 3, 0))
    closes = {e.event_ticker: e.strike_ns for e in evs}
    assert closes == {
        "KXINX-26NOV27H1300": et_ns(half, 13, 0),
        **{f"KXINXU-26NOV27H{h}00": et_ns(half, h, 0) for h in (10, 11, 12, 13)},
    }
    assert all(m.close_ns <= et_ns(half, 13, 0) for m in mks)
    assert "at 1pm EST" in evs[0].title
    idx = SyntheticIndex(3, date(2026, 11, 20))
    at_close = idx.level_at(et_ns(half, 13, 0))
    assert idx.level_at(et_ns(half, 14, 30)) == idx.level_at(et_ns(half, 16, 0)) == at_close
    assert idx.level_at(et_ns(date(2026, 11, 30), 9, 0)) == at_close  # the next open's prev
