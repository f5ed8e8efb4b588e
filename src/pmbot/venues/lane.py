"""The order lane: keep-alive HTTP/1.1 connections for order writes, one socket write each.

aiohttp builds a request through many layers (URL object, header multidict, timers, trace
signals, a request and a response object, the connector): about 60 µs from the call to the
socket when warm and 250-350 µs on the cold caches of a live decision, measured on loopback
(`benchmarks/tick_to_order.py`). An order write needs none of that: its method, path,
headers and body are known, so the lane formats the request as one bytes object and hands
it to an already open connection with one `transport.write`. Responses are parsed by
`httptools` (llhttp, the parser uvicorn uses): status, body, keep-alive.

Everything that is not an order write (reads, pagination, the WebSocket) stays on aiohttp.

Semantics the callers rely on (the same as aiohttp's, so `KalshiHttp.call` treats both alike):
* `LaneConnectError` (an `OSError`): the connection could not be opened, nothing was sent;
* `LaneError` (an `OSError`): the connection broke after the request may have been sent
  (the outcome is unknown), or the response was malformed;
* `TimeoutError`: no complete response within `timeout_s` (the outcome is unknown);
* a connection is reused only after a complete response that allows keep-alive; one that
  timed out, broke or was cancelled mid-request is closed, never reused.

Connections are opened ahead of need (`warm`, and `keep_warm` in the background: as many as
the largest burst so far), so an order does not pay the TCP and TLS handshakes, and dropped
after `idle_s` unused (before a server's keep-alive timeout can close one under a request).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httptools

__all__ = ["LaneConnectError", "LaneError", "OrderLane"]


class LaneError(OSError):
    """The connection broke or answered garbage; a request on it may have taken effect."""


class LaneConnectError(LaneError):
    """No connection could be opened: nothing was sent."""


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\n" in name or ":" in name:
        raise ValueError(f"order lane: header {name!r} holds a line break")


class _Conn(asyncio.Protocol):
    """One keep-alive connection; at most one request on it at a time."""

    def __init__(self, now: float = 0.0) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.body: list[bytes] = []
        self.closed = False
        self.used_at = now

    # ---- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(LaneError(f"order lane: malformed response: {e}"))

    def eof_received(self) -> bool | None:
        self._fail(LaneError("order lane: the server closed the connection"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(LaneError(f"order lane: connection lost: {exc or 'closed'}"))

    # ---- httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        keep = self.parser.should_keep_alive()
        body, self.body = b"".join(self.body), []
        w, self.waiter = self.waiter, None
        if w is None or w.done():  # an answer nobody waits for: the connection is out of step
            self.close()
            return
        w.set_result((status, body, keep))

    # ----
    def _fail(self, err: LaneError) -> None:
        self.close()
        w, self.waiter = self.waiter, None
        if w is not None and not w.done():
            w.set_exception(err)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class OrderLane:
    """Keep-alive HTTP/1.1 connections to one origin, for requests whose bytes are ready."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        idle_s: float = 30.0,
        max_conns: int = 16,
        user_agent: str = "pmbot",
        ssl_context: ssl.SSLContext | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        u = urlsplit(base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"order lane: not an http(s) URL: {base_url!r}")
        self.host = u.hostname
        self.tls = u.scheme == "https"
        self.port = u.port or (443 if self.tls else 80)
        self.authority = u.netloc.rsplit("@", 1)[-1]  # host[:port], as the URL gives it
        self.ssl: ssl.SSLContext | None = None
        if self.tls:
            self.ssl = ssl_context or ssl.create_default_context()
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.idle_s, self.max_conns = idle_s, max_conns
        self._now = monotonic
        self._prefix = f"\r\nHost: {self.authority}\r\nUser-Agent: {user_agent}\r\n"
        self._idle: list[_Conn] = []
        self._open = 0  # connections open or being opened
        self._slots = asyncio.Semaphore(max_conns)
        self.connects = 0
        self.requests = 0
        self._busy = 0  # requests on the wire now
        self.peak = 0  # the most requests ever on the wire at once (what a burst needs)
        self._closed = False

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, conn = await loop.create_connection(
                    lambda: _Conn(self._now()),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.tls else None,
                )
        except (OSError, TimeoutError) as e:
            raise LaneConnectError(f"order lane: cannot connect to {self.authority}: {e}") from e
        self.connects += 1
        return conn

    async def _new_conn(self) -> _Conn:
        self._open += 1  # counted while it opens: `max_conns` holds for concurrent opens too
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            raise

    def _take_idle(self) -> _Conn | None:
        now = self._now()
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the least likely to be stale
            if not conn.closed and now - conn.used_at < self.idle_s:
                return conn
            conn.close()
            self._open -= 1
        return None

    def prune(self) -> None:
        """Close the idle connections that broke or went unused for `idle_s`."""
        now = self._now()
        keep = [c for c in self._idle if not c.closed and now - c.used_at < self.idle_s]
        for c in self._idle:
            if c not in keep:
                c.close()
                self._open -= 1
        self._idle = keep

    async def keep_warm(self, at_least: int = 2, period_s: float | None = None) -> None:
        """Run until cancelled: every `period_s` (default idle_s / 3) drop stale idle
        connections and open fresh ones, so that as many are ready as the largest burst so
        far needed (at least `at_least`): a burst of writes finds open connections, not
        TCP/TLS handshakes."""
        period = self.idle_s / 3 if period_s is None else period_s
        while not self._closed:
            self.prune()
            await self.warm(max(at_least, self.peak))
            await asyncio.sleep(period)

    async def warm(self, n: int) -> None:
        """Open connections until `n` are idle (errors are left to the first request)."""
        n = min(n, self.max_conns)
        while len(self._idle) < n and self._open < self.max_conns and not self._closed:
            try:
                conn = await self._new_conn()
            except LaneConnectError:
                return
            self._idle.append(conn)

    def request_bytes(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> bytes:
        parts = [method, " ", target, " HTTP/1.1", self._prefix]
        for k, v in headers.items():
            _check_header(k, v)
            parts += (k, ": ", v, "\r\n")
        parts.append(f"Content-Length: {len(body)}\r\n\r\n" if body is not None else "\r\n")
        head = "".join(parts).encode("latin-1")
        return head + body if body is not None else head

    def _put(self, conn: _Conn, data: bytes) -> None:
        """Hand the request to the kernel (one write; benchmarks wrap this to stamp it)."""
        assert conn.transport is not None
        conn.transport.write(data)

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        """Send one request (`target`: path and query) and return (status, body)."""
        if self._closed:
            raise LaneConnectError("order lane: closed")
        if " " in target or "\r" in target or "\n" in target:
            raise ValueError(f"order lane: bad request target {target!r}")
        data = self.request_bytes(method, target, headers, body)
        async with self._slots:
            conn = self._take_idle() or await self._new_conn()
            waiter: asyncio.Future[tuple[int, bytes, bool]] = (
                asyncio.get_running_loop().create_future()
            )
            conn.waiter = waiter
            keep = False
            self._busy += 1
            self.peak = max(self.peak, self._busy)
            try:
                self.requests += 1
                self._put(conn, data)
                async with asyncio.timeout(self.timeout_s):
                    status, payload, keep = await waiter
                return status, payload
            finally:
                self._busy -= 1
                if keep and not conn.closed and not self._closed:
                    conn.used_at = self._now()
                    self._idle.append(conn)
                else:  # broken, timed out, cancelled or not keep-alive: never reused
                    conn.waiter = None
                    conn.close()
                    self._open -= 1

    async def aclose(self) -> None:
        self._closed = True
        for conn in self._idle:
            conn.close()
        self._open -= len(self._idle)
        self._idle.clear()
