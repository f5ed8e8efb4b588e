"""KalshiWs against a tiny real WebSocket server on loopback: signed (re)connects, explicit
use_yes_price, answered pings, reconnect after a reset or after silence, resubscription."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from pmbot.backoff import Backoff
from pmbot.clock import LiveClock
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.core.state import TradingState
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.stream import BOOK, KalshiStream
from pmbot.venues.kalshi.urls import KalshiUrls
from pmbot.venues.kalshi.ws import KalshiWs

T = "KXINXU-26NOV24H1600-T7649.9999"


class WsServer:
    def __init__(self) -> None:
        self.handshakes: list[dict[str, str]] = []
        self.commands: list[dict[str, Any]] = []
        self.pongs = 0
        self.silent = False
        self.socks: list[web.WebSocketResponse] = []
        self.sid = 0

    async def handler(self, r: web.Request) -> web.StreamResponse:
        self.handshakes.append({k: v for k, v in r.headers.items() if k.startswith("KALSHI")})
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(r)
        self.socks.append(ws)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.PONG:
                self.pongs += 1
            elif msg.type == aiohttp.WSMsgType.TEXT and not self.silent:
                c = json.loads(msg.data)
                self.commands.append(c)
                if c["cmd"] == "subscribe":
                    self.sid += 1
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "subscribed",
                                "id": c["id"],
                                "msg": {"channel": BOOK, "sid": self.sid},
                            }
                        )
                    )
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "orderbook_snapshot",
                                "sid": self.sid,
                                "seq": 1,
                                "msg": {
                                    "market_ticker": T,
                                    "yes_dollars_fp": [["0.4700", "3.00"]],
                                    "no_dollars_fp": [["0.5200", "1.00"]],
                                },
                            }
                        )
                    )
        return ws


@pytest.fixture
async def rig() -> AsyncIterator[Callable[..., Any]]:
    srv = WsServer()
    app = web.Application()
    app.router.add_get("/trade-api/ws/v2", srv.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    made: list[tuple[KalshiWs, asyncio.Task[None]]] = []
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def make(
        yield_to: Callable[[], bool] | None = None, **kw: Any
    ) -> tuple[WsServer, KalshiWs, TradingState]:
        state = TradingState()
        state.add_market(
            MarketSpec(
                T,
                "E",
                "S",
                StrikeType.GREATER,
                1.0,
                None,
                PriceGrid.linear_cent(),
                FeeSchedule(),
                0,
            )
        )
        stream = KalshiStream(state.apply, use_yes_price=True, **kw)
        urls = KalshiUrls(
            f"http://127.0.0.1:{port}/trade-api/v2", f"ws://127.0.0.1:{port}/trade-api/ws/v2"
        )
        client = KalshiWs(
            urls,
            KalshiSigner("kid", key),
            stream,
            clock=LiveClock(),
            backoff=Backoff(0.05, 0.2, random.Random(3)),
            tick_s=0.02,
            yield_to=yield_to,
        )
        stream.want(BOOK, [T])
        made.append((client, asyncio.create_task(client.run())))
        return srv, client, state

    yield make
    for client, task in made:
        await client.aclose()
        await asyncio.wait_for(task, 5)
    await runner.cleanup()


async def until(pred: Callable[[], bool], what: str, limit: float = 5.0) -> None:
    t0 = time.monotonic()
    while not pred():
        assert time.monotonic() - t0 < limit, f"timed out: {what}"
        await asyncio.sleep(0.01)


async def test_signed_connect_subscribe_and_pong(rig: Any) -> None:
    srv, _client, state = rig()
    await until(lambda: state.book_fresh.get(T, False), "snapshot")
    assert srv.commands[0] == {
        "id": 1,
        "cmd": "subscribe",
        "params": {"channels": [BOOK], "market_tickers": [T], "use_yes_price": True},
    }
    assert set(srv.handshakes[0]) == {
        "KALSHI-ACCESS-KEY",
        "KALSHI-ACCESS-TIMESTAMP",
        "KALSHI-ACCESS-SIGNATURE",
    }
    assert state.books[T].best_yes_ask() == (5200, 100)
    await srv.socks[0].ping(b"heartbeat")
    await until(lambda: srv.pongs == 1, "pong")


async def test_reset_reconnects_resigned_and_resubscribes(rig: Any) -> None:
    srv, client, state = rig()
    await until(lambda: state.book_fresh.get(T, False), "snapshot")
    await asyncio.sleep(0.002)  # a later millisecond for the second signature
    await srv.socks[0].close()
    await until(lambda: client.connects == 2 and state.book_fresh[T], "reconnect")
    assert (
        srv.handshakes[0]["KALSHI-ACCESS-SIGNATURE"] != srv.handshakes[1]["KALSHI-ACCESS-SIGNATURE"]
    )
    assert [c["cmd"] for c in srv.commands] == ["subscribe", "subscribe"]
    assert state.connections["kalshi.ws"] is True


async def test_silence_forces_reconnect(rig: Any) -> None:
    srv, client, state = rig(silence_timeout_s=0.3)
    await until(lambda: state.book_fresh.get(T, False), "snapshot")
    srv.silent = True
    t0 = time.monotonic()
    await until(lambda: client.connects == 2, "reconnect after silence")
    assert 0.3 <= time.monotonic() - t0 < 2.0
    assert client.stream.stats.reconnects_requested == 1
    assert T in state.take_changes().stale


async def test_the_reader_gives_the_loop_a_turn_inside_a_burst_when_asked(rig: Any) -> None:
    """A burst of frames already in the socket buffer is read in one go unless `yield_to`
    says a decision has waited long enough: then the loop runs it before the next frame."""
    n = 20
    asked: list[int] = []
    applied: list[int] = []
    seen_by_decision: list[int] = []
    decide = asyncio.Event()

    def yield_to() -> bool:
        asked.append(len(applied))
        return len(applied) == 1  # the burst's first delta has waited long enough

    srv, _client, state = rig(yield_to=yield_to)
    await until(lambda: state.book_fresh.get(T, False), "snapshot")
    apply = state.apply

    def counting_apply(e: Any) -> None:
        apply(e)
        if type(e).__name__ == "BookDelta":
            applied.append(1)
            decide.set()

    _client.stream.sink = counting_apply

    async def decision() -> None:
        await decide.wait()
        seen_by_decision.append(len(applied))

    waiter = asyncio.create_task(decision())
    asked.clear()
    frames = [
        json.dumps(
            {
                "type": "orderbook_delta",
                "sid": srv.sid,
                "seq": 2 + i,
                "msg": {
                    "market_ticker": T,
                    "price_dollars": "0.4700",
                    "delta_fp": "1.00",
                    "side": "yes",
                },
            }
        )
        for i in range(n)
    ]
    sock = srv.socks[0]
    await asyncio.gather(*(sock.send_str(f) for f in frames))
    await until(lambda: len(applied) == n, "the whole burst")
    await waiter
    assert seen_by_decision == [1]  # it ran between the first and the second frame
    assert len(asked) == n  # asked once per frame
    assert state.books[T].best_yes_bid() == (4700, 300 + 100 * n)


class _InstantSleep(LiveClock):
    """Real time, but the reconnect backoff is recorded instead of waited out."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


async def _serve_once(handler: Callable[[web.Request], Any]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/trade-api/ws/v2", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"127.0.0.1:{port}"


def _client(host: str, clock: LiveClock, **kw: Any) -> KalshiWs:
    from pmbot.venues.kalshi.stream import FILL

    stream = KalshiStream(lambda e: None)
    stream.want(FILL, None)
    return KalshiWs(
        KalshiUrls(f"http://{host}/trade-api/v2", f"ws://{host}/trade-api/ws/v2"),
        KalshiSigner("kid", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        stream,
        clock=clock,
        backoff=Backoff(0.5, 30.0, random.Random(0)),
        tick_s=0.02,
        **kw,
    )


async def test_a_ping_answered_on_a_dead_socket_reconnects_instead_of_ending_the_run() -> None:
    """Regression (review): Kalshi pings every ~10 s and drops connections mid-stream; a TCP
    close right behind a Ping made the unguarded pong raise out of `run()` (the venue-ws
    task, so the whole bot) instead of reconnecting."""
    connects = 0

    async def handler(r: web.Request) -> web.StreamResponse:
        nonlocal connects
        connects += 1
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(r)
        await ws.send_str('{"type":"ticker","sid":9,"msg":{"market_ticker":"X"}}')
        await ws.ping(b"heartbeat")
        assert r.transport is not None
        r.transport.close()  # FIN right behind the ping, no close frame
        return ws

    runner, host = await _serve_once(handler)
    # the app's reader yields a loop turn after a frame in a burst: the Ping is then still
    # queued when the FIN is read
    client = _client(host, _InstantSleep(), yield_to=lambda: True)
    task = asyncio.create_task(client.run())
    try:
        await until(lambda: connects >= 3 or task.done(), "reconnects")
        assert not task.done(), task.exception()
    finally:
        await client.aclose()
        await asyncio.wait_for(task, 5)
        await runner.cleanup()


@pytest.mark.parametrize("mode", ["close", "refuse_27"])
async def test_connections_lost_at_once_back_off_instead_of_storming(mode: str) -> None:
    """Regression (review): the backoff was reset on every handshake, so a server that
    accepts and drops at once (or refuses our subscribes with code 27, Too many requests)
    was reconnected to every 0.25-0.5 s for ever, each time resubscribing and reconciling.
    It restarts only after a connection that stayed up (`stable_s`)."""
    connects = 0

    async def handler(r: web.Request) -> web.StreamResponse:
        nonlocal connects
        connects += 1
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(r)
        if mode == "close":
            await ws.close(code=1011, message=b"try again later")
            return ws
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                c = json.loads(msg.data)
                err = {"code": 27, "msg": "Too many requests"}
                await ws.send_str(json.dumps({"type": "error", "id": c["id"], "msg": err}))
        return ws

    runner, host = await _serve_once(handler)
    clock = _InstantSleep()
    client = _client(host, clock)
    task = asyncio.create_task(client.run())
    try:
        await until(lambda: connects >= 5, "reconnects")
    finally:
        await client.aclose()
        await asyncio.wait_for(task, 5)
        await runner.cleanup()
    waits = clock.slept[:4]
    assert client.backoff.failures >= 4
    # 0.5 s doubling, jitter at most halves a wait: the fourth is at least 2 s
    assert len(waits) == 4 and waits[3] >= 2.0, waits
