"""`PolyWs(yield_to=...)`: a burst of frames already buffered is read in one go unless the
hook says a decision has waited long enough; then the loop gets a turn before the next frame."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestServer

from pmbot.venues.polymarket.ws import PolyWs


async def _burst(n: int, hook_after: int | None) -> tuple[list[int], int]:
    """Serve one socket that sends `n` frames at once; return (what a waiting task saw,
    how often the hook was asked)."""
    sent = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # the subscription
        await asyncio.gather(*(ws.send_str(json.dumps({"i": i})) for i in range(n)))
        sent.set()
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws/market", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    port = server.port

    got: list[int] = []
    asked = 0
    first = asyncio.Event()
    seen_by_decision: list[int] = []
    done = asyncio.Event()

    async def on_frame(data: str) -> None:
        got.append(json.loads(data)["i"])
        first.set()
        if len(got) == n:
            done.set()

    def yield_to() -> bool:
        nonlocal asked
        asked += 1
        return hook_after is not None and len(got) == hook_after

    async def decision() -> None:
        await first.wait()
        seen_by_decision.append(len(got))

    ws = PolyWs(f"ws://127.0.0.1:{port}/ws/market", dict, on_frame, yield_to=yield_to)
    waiter = asyncio.create_task(decision())
    reader = asyncio.create_task(ws.run())
    try:
        await asyncio.wait_for(done.wait(), 5)
        await waiter
    finally:
        await ws.stop()
        await asyncio.wait_for(reader, 5)
        await server.close()
    assert got == list(range(n))
    return seen_by_decision, asked


async def test_the_reader_gives_the_loop_a_turn_inside_a_burst_when_asked() -> None:
    seen, asked = await _burst(20, hook_after=1)
    assert seen == [1]  # the waiting decision ran between the first and the second frame
    assert asked == 20  # asked once per frame


async def test_without_the_hook_a_buffered_burst_is_read_in_one_go() -> None:
    seen, _ = await _burst(20, hook_after=None)
    assert seen[0] > 1
