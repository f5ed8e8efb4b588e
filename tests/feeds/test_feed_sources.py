"""Synthetic, replay and simulator feeds, and the staleness watchdog, on a ManualClock."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from feed_clock import T0, ParkingClock

from pmbot.backoff import Backoff
from pmbot.clock import ManualClock
from pmbot.core.events import FeedStale, IndexTick, VolTick
from pmbot.feeds.base import FeedEvent
from pmbot.feeds.replay import ReplayFeed, read_levels
from pmbot.feeds.sim import SimIndexFeed, parse_sim_index
from pmbot.feeds.synthetic import SyntheticFeed, SyntheticPath
from pmbot.pricing.calendar import IntradayCurve


async def nxt(it: AsyncIterator[FeedEvent]) -> FeedEvent:
    return await asyncio.wait_for(anext(it), 10)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def test_synthetic_path_daily_vol_and_fat_tails() -> None:
    p = SyntheticPath(seed=42, sigma_session=0.008)
    r = []
    for _ in range(20_000):
        a = p.level
        r.append(math.log(p.advance(1.0) / a))
        p.level = 6800.0
    r_arr = np.array(r)
    assert r_arr.std() == pytest.approx(0.008, rel=0.05)
    kurt = ((r_arr - r_arr.mean()) ** 4).mean() / r_arr.var() ** 2 - 3
    assert kurt > 1.0  # t4 innovations: fat tails
    assert SyntheticPath(1).advance(0.5) == SyntheticPath(1).advance(0.5)  # seeded


def test_synthetic_intraday_u_shape() -> None:
    curve = IntradayCurve()
    n = 13 * 200
    open_var = mid_var = 0.0
    for seed in range(40):
        p = SyntheticPath(seed)
        for i in range(n):
            a = p.level
            dv = curve.cum((i + 1) / n) - curve.cum(i / n)
            r2 = math.log(p.advance(dv) / a) ** 2
            if i < 200:
                open_var += r2
            elif 6 * 200 <= i < 7 * 200:
                mid_var += r2
    assert open_var > 1.5 * mid_var


async def test_synthetic_feed_ticks_on_the_clock() -> None:
    clock = ManualClock(T0)
    feed = SyntheticFeed(clock, seed=3, interval=1.0, vix=17.5)
    it = feed.stream()
    assert await nxt(it) == VolTick(T0, "VIX", 17.5)
    first = await nxt(it)
    assert isinstance(first, IndexTick) and first.level == 6800.0 and first.ts_ns == T0
    levels = []
    for _ in range(5):
        clock.advance(1.0)
        ev = await nxt(it)
        assert isinstance(ev, IndexTick)
        levels.append(ev.level)
    assert len(set(levels)) > 1 and all(6700 < x < 6900 for x in levels)
    await it.aclose()


def test_replay_reads_formats_and_skips_bad_rows(tmp_path: Path) -> None:
    f = tmp_path / "levels.csv"
    f.write_text(
        "ts,level\n"
        "2026-11-30T09:30:00-05:00,6840.25\n"
        "1796049001.5,6840.50\n"
        "garbage,6840.75\n"
        "1796049003,-1\n"
        "1796049002,nan\n"
        "1796049000,6800\n"  # goes backwards
        "2026-11-30T09:30:04-05:00,6841\n"
    )
    rows = list(read_levels(f))
    assert rows == [(T0, 6840.25), (T0 + 1_500_000_000, 6840.5), (T0 + 4 * 10**9, 6841.0)]
    g = tmp_path / "ms.csv"
    g.write_text("ts_ms,level\n1796049000000,1.5\n")
    assert list(read_levels(g)) == [(T0, 1.5)]


async def test_replay_paced_on_the_clock(tmp_path: Path) -> None:
    f = tmp_path / "levels.csv"
    f.write_text("ts_ns,level\n" + "".join(f"{T0 + i * 10**9},{6800 + i}\n" for i in range(3)))
    clock = ManualClock(T0)
    it = ReplayFeed(clock, f, speed=2.0).stream()
    assert (await nxt(it)).level == 6800  # type: ignore[union-attr]
    nxt_task = asyncio.ensure_future(nxt(it))
    await settle()
    assert not nxt_task.done()  # waits 0.5 s of clock time at speed 2
    clock.advance(0.5)
    ev = await nxt_task
    assert isinstance(ev, IndexTick) and ev.ts_ns == T0 + 10**9 and ev.level == 6801
    await it.aclose()


async def test_replay_unpaced_ends(tmp_path: Path) -> None:
    f = tmp_path / "levels.csv"
    f.write_text("ts,level\n" + "".join(f"{1796049000 + i},{6800 + i}\n" for i in range(2500)))
    events = [ev async for ev in ReplayFeed(ManualClock(T0), f).stream()]
    assert len(events) == 2500 and all(isinstance(e, IndexTick) for e in events)


def test_parse_sim_index() -> None:
    assert parse_sim_index({"ts_ms": 1796049000000, "level": "7650.1200"}) == (T0, 7650.12)
    for bad in (
        {"ts_ms": "1", "level": "1"},
        {"ts_ms": 1, "level": 7650.12},
        [],
        {"ts_ms": 1, "level": "-3"},
    ):
        with pytest.raises(ValueError):
            parse_sim_index(bad)


async def test_sim_feed_survives_bad_responses_and_reports_stale(clock: ParkingClock) -> None:
    replies: list[tuple[int, object]] = [
        (200, {"ts_ms": 1796049000000, "level": "7650.1200"}),
        (200, {"ts_ms": 1796049000000, "level": "7650.1200"}),  # same ts: no new tick
        (500, {"error": "boom"}),
        (200, "not json"),
        (200, {"ts_ms": 1796049001000, "level": "7651.0000"}),
    ]
    hits = 0

    async def index(request: web.Request) -> web.Response:
        nonlocal hits
        status, body = replies[min(hits, len(replies) - 1)]
        hits += 1
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/sim/index", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    events: list[FeedEvent] = []
    feed = SimIndexFeed(
        clock, f"http://127.0.0.1:{port}", interval=1.0, stale_after=10.0, backoff=Backoff(1.0, 1.0)
    )
    task = asyncio.create_task(feed.run(events.append))
    try:
        await clock.idle(2)  # watchdog + poll loop parked
        assert events == [IndexTick(T0, 7650.12, "sim")]
        for _ in range(4):  # dup, 500, garbage, then the new level
            await clock.step(1.0, 2)
        assert hits == 5 and feed.errors == 2
        assert events[1:] == [IndexTick(T0 + 10**9, 7651.0, "sim")]
        tick_at = feed.last_tick_ns
        assert tick_at == T0 + 4 * 10**9
        # the server now repeats the last ts: stale exactly stale_after after that tick
        for _ in range(9):
            await clock.step(1.0, 2)
        assert len(events) == 2 and not feed.stale
        await clock.step(1.0, 2)
        ev = events[-1]
        assert isinstance(ev, FeedStale) and ev.stale and ev.feed == "sim" and feed.stale
        assert ev.ts_ns - tick_at == 10 * 10**9
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()


def test_build_feed_from_settings(tmp_path: Path) -> None:
    from pmbot.errors import ConfigError
    from pmbot.feeds.factory import build_feed
    from pmbot.feeds.yahoo import YahooFeed
    from pmbot.settings import FeedSettings

    c = ParkingClock()
    assert isinstance(build_feed(FeedSettings(kind="synthetic"), c), SyntheticFeed)
    assert isinstance(build_feed(FeedSettings(kind="yahoo", stale_after_s=20.0), c), YahooFeed)
    sim = build_feed(FeedSettings(kind="sim"), c, sim_base_url="http://127.0.0.1:9/")
    assert isinstance(sim, SimIndexFeed) and sim.url == "http://127.0.0.1:9/sim/index"
    rp = build_feed(FeedSettings(kind="replay", replay_path=str(tmp_path / "x.csv")), c)
    assert isinstance(rp, ReplayFeed)
    with pytest.raises(ConfigError):
        build_feed(FeedSettings(kind="sim"), c)
    with pytest.raises(ConfigError):
        build_feed(FeedSettings(kind="replay"), c)


async def test_synthetic_with_calendar_prints_only_in_sessions(clock: ParkingClock) -> None:
    from pmbot.pricing.calendar import TradingCalendar

    cal = TradingCalendar.nyse("2026-11-01", "2026-12-31")
    close = cal.next_close(T0)
    clock.set(close - 2 * 10**9)
    events: list[FeedEvent] = []
    feed = SyntheticFeed(clock, seed=5, interval=1.0, calendar=cal, stale_after=1e6)
    task = asyncio.create_task(feed.run(events.append))
    try:
        await clock.idle(2)
        for _ in range(5):  # two seconds of session, then after the close: silence
            await clock.step(1.0, 2)
        assert [e.ts_ns for e in events] == [close - 2 * 10**9, close - 10**9]
        clock.set(T0 + 86_400 * 10**9 - 10**9)  # just before the next open
        await clock.step(1.0, 2)
        assert events[-1].ts_ns == T0 + 86_400 * 10**9  # first print of the next session
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_configured_synthetic_feed_keeps_nyse_hours() -> None:
    """Regression (review): `feed.kind = "synthetic"` built the feed without a calendar, so
    the index printed and moved 24/7 on sessions of 6.5 h anchored at the Unix epoch, while
    the model it feeds assumes NYSE sessions: over a weekend the model's variance was ~1/6
    of the feed's. It now prints only in session, on the model's XNYS calendar."""
    from datetime import UTC, datetime

    from pmbot.feeds.factory import build_feed
    from pmbot.settings import FeedSettings

    sat = int(datetime(2026, 11, 28, 17, 0, tzinfo=UTC).timestamp() * 1e9)  # Saturday noon ET
    clock = ParkingClock(sat)
    feed = build_feed(FeedSettings(kind="synthetic", poll_interval_s=60.0), clock)
    assert isinstance(feed, SyntheticFeed) and feed.calendar is not None
    got: list[object] = []
    task = asyncio.create_task(feed.run(got.append))
    try:
        await clock.idle(2)
        first = [e for e in got if isinstance(e, IndexTick)]
        for _ in range(30):  # half an hour of Saturday
            await clock.step(60.0, 2)
        assert [e for e in got if isinstance(e, IndexTick)] == first  # the start print only
        mon = int(datetime(2026, 11, 30, 15, 0, tzinfo=UTC).timestamp() * 1e9)  # 10:00 ET
        await clock.step((mon - clock.now_ns()) / 1e9, 2)
        ticks = [e for e in got if isinstance(e, IndexTick)]
        assert len(ticks) == len(first) + 1 and ticks[-1].level != first[0].level
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
