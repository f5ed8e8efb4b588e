"""The Yahoo feed through yfinance's own HTTP and parsing, against a loopback Yahoo.

yfinance gets a real `requests.Session` whose adapter sends every https://*.yahoo.com
request to a loopback aiohttp server (path prefixed with the original host). The server
answers with recorded-shape chart bodies from tests/fixtures/yahoo, errors and garbage;
the websocket endpoint sends base64 `PricingData` frames encoded with yfinance's protobuf.
Nothing of ours is mocked; time is a ManualClock.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from aiohttp import web
from feed_clock import T0, ParkingClock
from requests.adapters import HTTPAdapter

from pmbot.backoff import Backoff
from pmbot.core.events import FeedStale, IndexTick, VolTick
from pmbot.feeds.base import FeedEvent
from pmbot.feeds.yahoo import YahooFeed

yf = pytest.importorskip("yfinance")

FIX = Path(__file__).parents[1] / "fixtures" / "yahoo"
GSPC = json.loads((FIX / "chart__gspc_1m.json").read_text())
VIX = json.loads((FIX / "chart__vix_1m.json").read_text())
MARKET_TIME_NS = 1_796_050_781 * 10**9


def later(body: dict[str, Any], seconds: int, price: float) -> dict[str, Any]:
    b = copy.deepcopy(body)
    m = b["chart"]["result"][0]["meta"]
    m["regularMarketTime"] += seconds
    m["regularMarketPrice"] = price
    return b


class LoopbackYahoo:
    """Programmable Yahoo: a queue of replies per symbol (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Any]] = {"^GSPC": [GSPC], "^VIX": [VIX]}
        self.hits: dict[str, int] = {}
        self.ws_frames: list[str] = []
        self.ws_subscribed: list[Any] = []
        self.port = 0
        self.hold: dict[str, asyncio.Event] = {}  # a symbol's replies wait for its event

    async def chart(self, request: web.Request) -> web.StreamResponse:
        sym = request.match_info["sym"]
        if request.query.get("interval") != "1m":  # yfinance's one-off timezone lookup
            return web.json_response(GSPC if sym == "^GSPC" else VIX)
        n = self.hits.get(sym, 0)
        self.hits[sym] = n + 1
        if sym in self.hold:
            await self.hold[sym].wait()
        queue = self.replies.get(
            sym,
            [
                {
                    "chart": {
                        "result": None,
                        "error": {"code": "Not Found", "description": "No data found"},
                    }
                }
            ],
        )
        reply = queue[min(n, len(queue) - 1)]
        if isinstance(reply, int):
            return web.Response(status=reply, text="<html>Service unavailable</html>")
        if isinstance(reply, str):
            return web.Response(text=reply, content_type="application/json")
        return web.json_response(reply)

    async def crumb(self, request: web.Request) -> web.Response:
        return web.Response(text="Xq8bFake.crumb")

    async def cookie(self, request: web.Request) -> web.Response:
        return web.Response(text="")

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        msg = await ws.receive()
        self.ws_subscribed.append(json.loads(msg.data))
        for f in self.ws_frames:
            await ws.send_str(f)
        async for _ in ws:  # keep the connection open until the client goes
            pass
        return ws


@pytest.fixture
async def yahoo(tmp_path: Path) -> AsyncIterator[LoopbackYahoo]:
    yf.set_tz_cache_location(str(tmp_path / "yf"))
    y = LoopbackYahoo()
    app = web.Application()
    app.router.add_get("/{host}/v8/finance/chart/{sym}", y.chart)
    app.router.add_get("/{host}/v1/test/getcrumb", y.crumb)
    app.router.add_get("/ws", y.ws)
    app.router.add_get("/{host}/", y.cookie)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    y.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield y
    await runner.cleanup()


class ToLoopback(HTTPAdapter):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        u = urlsplit(request.url or "")
        request.url = f"http://127.0.0.1:{self.port}/{u.netloc}{u.path or '/'}" + (
            f"?{u.query}" if u.query else ""
        )
        return super().send(request, **kw)


def session_for(y: LoopbackYahoo) -> requests.Session:
    s = requests.Session()
    s.mount("https://", ToLoopback(y.port))
    return s


async def start(feed: YahooFeed) -> tuple[list[FeedEvent], asyncio.Task[None]]:
    events: list[FeedEvent] = []
    return events, asyncio.create_task(feed.run(events.append))


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def make(clock: ParkingClock, y: LoopbackYahoo, **kw: Any) -> YahooFeed:
    args: dict[str, Any] = dict(
        session=session_for(y),
        stream_url=None,
        poll_interval=1.0,
        vol_poll_interval=1.0,
        stale_after=10.0,
        backoff=Backoff(1.0, 1.0),
        vol_symbols={"^VIX": "VIX"},
    )
    args.update(kw)
    return YahooFeed(clock, **args)


async def test_polls_index_and_vix_through_yfinance(
    clock: ParkingClock, yahoo: LoopbackYahoo
) -> None:
    yahoo.replies["^GSPC"] = [GSPC, GSPC, later(GSPC, 5, 6844.5)]
    feed = make(clock, yahoo)
    events, task = await start(feed)
    try:
        await clock.idle(3)
        assert sorted(events, key=repr) == [  # two tasks: either may print first
            IndexTick(MARKET_TIME_NS, 6843.06, "yahoo"),
            VolTick(MARKET_TIME_NS, "VIX", 17.24),
        ]
        await clock.step(1.0, 3)  # same regularMarketTime: not a new tick
        assert len(events) == 2
        await clock.step(1.0, 3)
        assert events[2] == IndexTick(MARKET_TIME_NS + 5 * 10**9, 6844.5, "yahoo")
        assert feed.errors == 0 and not feed.stale
    finally:
        await stop(task)


async def test_bad_responses_never_end_the_feed(clock: ParkingClock, yahoo: LoopbackYahoo) -> None:
    chart_error = {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }
    all_null = copy.deepcopy(GSPC)
    r = all_null["chart"]["result"][0]
    del r["meta"]["regularMarketPrice"]
    r["indicators"]["quote"][0] = {
        k: [None] * len(r["timestamp"]) for k in ("open", "high", "low", "close", "volume")
    }
    yahoo.replies["^GSPC"] = [500, "{not json", chart_error, all_null, 429, GSPC]
    yahoo.replies["^VIX"] = ["garbage"]
    feed = make(clock, yahoo, stale_after=60.0)
    events, task = await start(feed)
    try:
        await clock.idle(3)
        for _ in range(8):
            if any(isinstance(e, IndexTick) for e in events):
                break
            await clock.step(1.0, 3)
        assert [e for e in events if isinstance(e, IndexTick)] == [
            IndexTick(MARKET_TIME_NS, 6843.06, "yahoo")
        ]
        # every bad reply was served (yfinance itself retries some, e.g. after a 5xx) and
        # each failed poll was counted, for the index and for every VIX poll
        assert yahoo.hits["^GSPC"] >= 6 and feed.errors >= 3 + 3
        assert not task.done()
    finally:
        await stop(task)


async def test_stale_reported_within_its_silence(clock: ParkingClock, yahoo: LoopbackYahoo) -> None:
    yahoo.replies["^GSPC"] = [GSPC, 503]  # one print, then an outage
    feed = make(clock, yahoo, stale_after=5.0, vol_symbols={})
    events, task = await start(feed)
    try:
        await clock.idle(2)
        tick_at = feed.last_tick_ns
        assert tick_at == T0 and isinstance(events[0], IndexTick)
        for _ in range(4):
            await clock.step(1.0, 2)
        assert not feed.stale and len(events) == 1
        await clock.step(1.0, 2)
        assert feed.stale
        ev = events[-1]
        assert isinstance(ev, FeedStale) and ev.stale and ev.feed == "yahoo"
        assert ev.ts_ns - tick_at <= 5 * 10**9
        assert "no index tick" in ev.reason
        # recovery: a new print clears it
        yahoo.replies["^GSPC"] = [later(GSPC, 30, 6850.0)]
        await clock.step(1.0, 2)
        assert events[-2:] == [
            FeedStale(clock.now_ns(), "yahoo", False, "ticks resumed"),
            IndexTick(MARKET_TIME_NS + 30 * 10**9, 6850.0, "yahoo"),
        ]
        assert not feed.stale
    finally:
        await stop(task)


def frame(sym: str, price: float, ts_ms: int) -> str:
    from yfinance.pricing_pb2 import PricingData

    msg = PricingData(id=sym, price=price, time=ts_ms, exchange="SNP", quote_type=9, market_hours=1)
    return json.dumps(
        {"type": "pricing", "message": base64.b64encode(msg.SerializeToString()).decode()}
    )


async def test_stream_ticks_decoded_by_yfinance(clock: ParkingClock, yahoo: LoopbackYahoo) -> None:
    stream_ms = 1_796_050_800_000
    yahoo.ws_frames = [
        "not json",
        json.dumps({"type": "pricing", "message": "!!not base64!!"}),
        frame("^GSPC", 6843.75, stream_ms),
        frame("^VIX", 17.31, stream_ms + 500),
        frame("^GSPC", 6843.70, stream_ms - 1000),  # older than what we have: dropped
    ]
    got = asyncio.Event()
    events: list[FeedEvent] = []

    def sink(e: FeedEvent) -> None:
        events.append(e)
        if isinstance(e, VolTick) and e.ts_ns == (stream_ms + 500) * 10**6:
            got.set()

    feed = make(clock, yahoo, stream_url=f"http://127.0.0.1:{yahoo.port}/ws")
    task = asyncio.create_task(feed.run(sink))
    try:
        await asyncio.wait_for(got.wait(), 10)
        assert yahoo.ws_subscribed == [{"subscribe": ["^GSPC", "^VIX"]}]
        ticks = [e for e in events if isinstance(e, IndexTick)]
        assert IndexTick(stream_ms * 10**6, 6843.75, "yahoo") in ticks
        assert all(t.level != 6843.70 for t in ticks)
        assert feed.stream_connected and feed.errors >= 2
        # while the stream is fresh the index is not polled
        await clock.idle(4)
        polled = yahoo.hits.get("^GSPC", 0)
        await clock.step(0.5, 4)
        assert yahoo.hits.get("^GSPC", 0) == polled
    finally:
        await stop(task)


async def test_a_stream_of_vix_only_does_not_stop_the_index_polls(
    clock: ParkingClock, yahoo: LoopbackYahoo
) -> None:
    """The stream counts as live for the index only while it carries the index."""
    stream_ms = 1_796_050_800_000
    yahoo.ws_frames = [frame("^VIX", 17.31, stream_ms + i) for i in range(3)]
    got = asyncio.Event()
    events: list[FeedEvent] = []

    def sink(e: FeedEvent) -> None:
        events.append(e)
        if isinstance(e, VolTick):
            got.set()

    feed = make(clock, yahoo, stream_url=f"http://127.0.0.1:{yahoo.port}/ws")
    task = asyncio.create_task(feed.run(sink))
    try:
        await asyncio.wait_for(got.wait(), 10)
        assert feed._last_stream_msg is None  # no index frame yet: the poll loop goes on
        await clock.idle(4)
        polled = yahoo.hits.get("^GSPC", 0)
        await clock.step(1.0, 4)
        assert yahoo.hits.get("^GSPC", 0) > polled  # polled over HTTP
        assert any(isinstance(e, IndexTick) for e in events)
    finally:
        await stop(task)


async def test_stream_down_falls_back_to_polling(clock: ParkingClock, yahoo: LoopbackYahoo) -> None:
    feed = make(
        clock, yahoo, stream_url=f"http://127.0.0.1:{yahoo.port}/no-such-ws", vol_symbols={}
    )
    events, task = await start(feed)
    try:
        await clock.idle(3)  # watchdog, poll loop, stream retry backoff
        assert events == [IndexTick(MARKET_TIME_NS, 6843.06, "yahoo")]
        assert not feed.stream_connected
    finally:
        await stop(task)


def test_constructor_does_no_io() -> None:
    feed = YahooFeed(ParkingClock(), stream_url=None)
    assert feed.vol_symbols == {"^VIX": "VIX", "^VIX1D": "VIX1D"} and feed.last_tick_ns is None


async def test_missing_vol_symbol_backs_off(clock: ParkingClock, yahoo: LoopbackYahoo) -> None:
    # ^VIX1D answered with Yahoo's "No data found" chart error on every poll
    feed = make(clock, yahoo, vol_symbols={"^VIX1D": "VIX1D"}, stale_after=60.0)
    events, task = await start(feed)
    try:
        await clock.idle(3)
        for _ in range(10):
            await clock.step(1.0, 3)
        # polled at t = 0, 1, 3, 7 s (backoff 1, 2, 4 s), not every second
        assert yahoo.hits.get("^VIX1D", 0) == 4
        assert not any(isinstance(e, VolTick) for e in events)
        assert isinstance(events[0], IndexTick)
    finally:
        await stop(task)


async def test_a_slow_vix_reply_never_holds_up_the_index_polls(
    clock: ParkingClock, yahoo: LoopbackYahoo
) -> None:
    """Regression (review): the VIX polls ran in the index's poll loop, so one slow reply
    (yfinance waits up to 10 s, the default staleness limit) held the index polls and made
    the feed stale, halting quoting, with ^GSPC answering at once."""
    yahoo.hold["^VIX"] = asyncio.Event()
    yahoo.replies["^GSPC"] = [later(GSPC, k, 6843.0 + k) for k in range(20)]
    feed = make(clock, yahoo, stale_after=3.0)
    events, task = await start(feed)
    try:
        await clock.idle(2)  # the watchdog and the index poll loop; the VIX poll hangs
        for _ in range(6):
            await clock.step(1.0, 2)
        ticks = [e for e in events if isinstance(e, IndexTick)]
        assert len(ticks) >= 6 and not feed.stale
        assert not any(isinstance(e, FeedStale) for e in events)
    finally:
        yahoo.hold["^VIX"].set()
        await stop(task)


async def test_a_stream_that_goes_silent_is_dropped_and_reconnected(
    clock: ParkingClock, yahoo: LoopbackYahoo
) -> None:
    """Regression (review): a peer that takes the subscription and then sends nothing was
    kept for the whole run (no receive deadline); the polls stood in for good. It is given
    up after max(stale_after, 2 heartbeats) of silence and reconnected, backed off."""
    yahoo.ws_frames = []  # the loopback stream subscribes us and then says nothing
    feed = make(clock, yahoo, stream_url=f"http://127.0.0.1:{yahoo.port}/ws", vol_symbols={})
    _events, task = await start(feed)
    try:
        await clock.idle(3)  # watchdog, poll loop, stream heartbeat
        assert feed.stream_connected and len(yahoo.ws_subscribed) == 1
        for _ in range(29):  # 2 x 15 s heartbeats: not yet
            await clock.step(1.0, 3)
        assert len(yahoo.ws_subscribed) == 1
        for _ in range(5):
            await clock.step(1.0, 3)
        assert len(yahoo.ws_subscribed) == 2  # dropped at 30 s, back after the 1 s backoff
    finally:
        await stop(task)
