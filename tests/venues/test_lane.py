"""The order lane against raw HTTP/1.1 servers on loopback: keep-alive reuse, one write per
request, and every way a connection can go wrong mapped to the error the callers expect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pmbot.venues.lane import LaneConnectError, LaneError, OrderLane

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class RawServer:
    """Reads requests (headers + Content-Length body) and answers each with `reply(request)`:
    bytes to write, or None to close the connection without answering."""

    def __init__(self, reply: Callable[[bytes], bytes | None]) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.conns = 0
        self.chunks: list[int] = []  # bytes per read, to see one write per request
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.conns += 1
        self.writers.append(w)
        try:
            while True:
                head = await r.readuntil(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":", 1)[1])
                req = head + (await r.readexactly(n) if n else b"")
                self.requests.append(req)
                out = self.reply(req)
                if out is None:
                    w.close()
                    return
                w.write(out)
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/trade-api/v2"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self.writers:
            w.close()
        await self.server.wait_closed()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    made: list[tuple[RawServer, OrderLane]] = []

    async def make(
        reply: Callable[[bytes], bytes | None], **kw: Any
    ) -> tuple[RawServer, OrderLane]:
        srv = RawServer(reply)
        lane = OrderLane(await srv.start(), **kw)
        made.append((srv, lane))
        return srv, lane

    yield make
    for srv, lane in made:
        await lane.aclose()
        await srv.stop()


async def test_requests_reuse_one_keepalive_connection(serve: Any) -> None:
    srv, lane = await serve(lambda req: OK)
    await lane.warm(1)
    assert lane.connects == 1
    for i in range(3):
        status, body = await lane.request(
            "POST",
            f"/trade-api/v2/portfolio/events/orders/o{i}/amend",
            {"KALSHI-ACCESS-KEY": "kid", "Content-Type": "application/json"},
            b'{"count":"1.00"}',
        )
        assert (status, body) == (200, b'{"ok":true}')
    assert lane.connects == 1 and srv.conns == 1
    first = srv.requests[0]
    assert first.startswith(b"POST /trade-api/v2/portfolio/events/orders/o0/amend HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first
    assert b"\r\nKALSHI-ACCESS-KEY: kid\r\n" in first
    assert b"\r\nContent-Length: 16\r\n\r\n" in first and first.endswith(b'{"count":"1.00"}')


async def test_delete_without_body_and_chunked_answer(serve: Any) -> None:
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
    )
    srv, lane = await serve(lambda req: chunked)
    status, body = await lane.request("DELETE", "/trade-api/v2/portfolio/x", {}, None)
    assert (status, body) == (200, b'{"a":1}')
    assert srv.requests[0].endswith(b"\r\n\r\n") and b"Content-Length" not in srv.requests[0]


async def test_error_status_is_returned_not_raised(serve: Any) -> None:
    body = b'{"error":{"code":"post_only_cross"}}'
    ans = b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    srv, lane = await serve(lambda req: ans)
    assert await lane.request("POST", "/p", {}, b"{}") == (400, body)
    assert await lane.request("POST", "/p", {}, b"{}") == (400, body)
    assert srv.conns == 1  # a 4xx with keep-alive keeps the connection


async def test_connection_close_answer_is_not_reused(serve: Any) -> None:
    ans = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    srv, lane = await serve(lambda req: ans)
    assert await lane.request("POST", "/p", {}, b"{}") == (200, b"{}")
    assert await lane.request("POST", "/p", {}, b"{}") == (200, b"{}")
    assert lane.connects == 2 and srv.conns == 2


async def test_closed_before_answering_is_lane_error_and_not_reused(serve: Any) -> None:
    calls = [0]

    def reply(req: bytes) -> bytes | None:
        calls[0] += 1
        return None if calls[0] == 1 else OK

    _, lane = await serve(reply)
    with pytest.raises(LaneError) as e:
        await lane.request("POST", "/p", {}, b"{}")
    assert not isinstance(e.value, LaneConnectError)  # it may have taken effect
    assert await lane.request("POST", "/p", {}, b"{}") == (200, b'{"ok":true}')
    assert lane.connects == 2


async def test_garbage_answer_is_lane_error(serve: Any) -> None:
    _, lane = await serve(lambda req: b"SMTP ready\r\n\r\n")
    with pytest.raises(LaneError, match="malformed"):
        await lane.request("POST", "/p", {}, b"{}")
    assert lane._idle == []


async def test_timeout_closes_the_connection(serve: Any) -> None:
    _, lane = await serve(lambda req: b"", timeout_s=0.05)  # reads, never answers
    with pytest.raises(TimeoutError):
        await lane.request("POST", "/p", {}, b"{}")
    assert lane._idle == [] and lane._open == 0


async def test_refused_connection_is_connect_error() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    lane = OrderLane(f"http://127.0.0.1:{port}")
    with pytest.raises(LaneConnectError):
        await lane.request("POST", "/p", {}, b"{}")
    assert lane._open == 0
    await lane.warm(2)  # warming a dead origin is quiet: the first request reports it
    assert lane.connects == 0


async def test_idle_connections_expire(serve: Any) -> None:
    now = [100.0]
    _, lane = await serve(lambda req: OK, idle_s=30.0, monotonic=lambda: now[0])
    await lane.request("POST", "/p", {}, b"{}")
    now[0] += 29.0
    await lane.request("POST", "/p", {}, b"{}")
    assert lane.connects == 1
    now[0] += 31.0  # unused for longer than idle_s: the server may be closing it
    await lane.request("POST", "/p", {}, b"{}")
    assert lane.connects == 2 and lane._open == 1


async def test_server_closing_an_idle_connection_is_noticed(serve: Any) -> None:
    srv, lane = await serve(lambda req: OK)
    await lane.request("POST", "/p", {}, b"{}")
    for w in srv.writers:
        w.close()
    for _ in range(20):  # let the FIN reach the lane's protocol
        if all(c.closed for c in lane._idle):
            break
        await asyncio.sleep(0)
    assert await lane.request("POST", "/p", {}, b"{}") == (200, b'{"ok":true}')
    assert lane.connects == 2


async def test_concurrent_requests_use_separate_connections(serve: Any) -> None:
    srv, lane = await serve(lambda req: OK)
    out = await asyncio.gather(*(lane.request("POST", f"/p{i}", {}, b"{}") for i in range(4)))
    assert out == [(200, b'{"ok":true}')] * 4
    assert srv.conns == 4 and len(lane._idle) == 4
    await lane.request("POST", "/p", {}, b"{}")
    assert srv.conns == 4


async def test_header_and_target_injection_refused(serve: Any) -> None:
    srv, lane = await serve(lambda req: OK)
    with pytest.raises(ValueError):
        await lane.request("POST", "/p", {"KALSHI-ACCESS-KEY": "kid\r\nX-Evil: 1"}, b"{}")
    with pytest.raises(ValueError):
        await lane.request("POST", "/p HTTP/1.1\r\nX: y", {}, b"{}")
    assert srv.requests == []


def test_bad_base_url() -> None:
    with pytest.raises(ValueError):
        OrderLane("ftp://example.com")


async def _turns_until(pred: Callable[[], bool], turns: int = 200) -> None:
    """Let the loop run (no sleeping) until `pred` holds: loopback connects take a few turns."""
    for _ in range(turns):
        if pred():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_keep_warm_holds_as_many_connections_as_the_largest_burst(serve: Any) -> None:
    now = [0.0]
    srv, lane = await serve(lambda req: OK, idle_s=30.0, monotonic=lambda: now[0])
    await asyncio.gather(*(lane.request("POST", "/p", {}, b"{}") for _ in range(3)))
    assert lane.peak == 3 and len(lane._idle) == 3
    now[0] += 31.0  # all three went stale
    keeper = asyncio.ensure_future(lane.keep_warm(2, period_s=3600.0))
    try:
        await _turns_until(lambda: lane.connects == 6)
        assert len(lane._idle) == 3 and lane._open == 3
        assert all(now[0] - c.used_at < 30.0 for c in lane._idle)
        # the next burst finds its connections open: no handshake on the hot path
        await asyncio.gather(*(lane.request("POST", "/p", {}, b"{}") for _ in range(3)))
        assert lane.connects == 6 and srv.conns == 6
    finally:
        keeper.cancel()
        await asyncio.wait([keeper])


async def test_prune_drops_broken_and_stale_idle_connections(serve: Any) -> None:
    now = [0.0]
    _, lane = await serve(lambda req: OK, idle_s=30.0, monotonic=lambda: now[0])
    await lane.warm(3)
    assert lane._open == 3
    lane._idle[0].close()
    lane.prune()
    assert len(lane._idle) == 2 and lane._open == 2
    now[0] += 30.0
    lane.prune()
    assert lane._idle == [] and lane._open == 0
