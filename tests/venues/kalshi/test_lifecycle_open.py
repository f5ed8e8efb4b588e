"""A market the bot saw `created` on market_lifecycle_v2 opens later WITHOUT a frame
(protocol §4.4: "Implicit transitions emit nothing: initialized->active at open_time").
The bot keeps its last status ('initialized') forever, so the quote loop lists the market
as inactive (app_parts._TRADING) and never quotes it."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from pmbot.app_parts import _TRADING
from pmbot.clock import LiveClock
from pmbot.core import events as ev
from pmbot.core.state import TradingState
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.stream import LIFECYCLE
from pmbot.venues.kalshi.urls import KalshiUrls
from pmbot.venues.kalshi.venue import KalshiVenue

ET = ZoneInfo("America/New_York")
# 10 s before the next trading day's events are created (16:00 ET the day before)
START = int(datetime(2026, 11, 24, 15, 59, 50, tzinfo=ET).timestamp()) * 10**9


async def test_a_created_market_that_opens_without_a_frame_is_not_kept_inactive(
    sim_factory,
) -> None:
    sim = await sim_factory(start_ns=START)
    state = TradingState()
    got: list[ev.Event] = []

    def sink(e: ev.Event) -> None:
        got.append(e)
        state.apply(e)

    v = KalshiVenue(
        KalshiUrls(sim.rest_url, sim.ws_url),
        KalshiSigner.from_pem(sim.key_id, sim.private_key_pem),
        sink,
        clock=LiveClock(),
        configure_limits=False,
    )
    await v.start()
    task = asyncio.create_task(v.run())
    try:
        await v.ws.want(LIFECYCLE)
        for _ in range(200):
            await sim.step(0)
            await asyncio.sleep(0.01)
            if v.stream._by_channel.get(LIFECYCLE):
                break
        for _ in range(30):  # 16:00 ET passes: tomorrow's markets are created, then open
            await sim.step(1)
            await asyncio.sleep(0.01)
        t = "KXINXU-26NOV25H1000-T" + next(
            m.ticker.split("-T")[1]
            for m in sim.exchange.markets.values()
            if m.event_ticker == "KXINXU-26NOV25H1000"
        )
        venue_status = (await v.http.market(t)).status
        ms = state.market_status.get(t)
        bot_status = None if ms is None else ms.status

        assert venue_status == "active"
        # the bot must not treat an open market as not trading
        assert bot_status is None or bot_status in _TRADING, bot_status
    finally:
        await v.aclose()
        await asyncio.wait_for(task, 5)
