"""Async Kalshi WebSocket shell around the sans-I/O `KalshiStream`.

Connects with KALSHI-ACCESS-* headers signed fresh on every (re)connect, answers pings
itself (so pings count as liveness), pings the server when quiet, runs the stream's timers,
and reconnects with capped exponential backoff + jitter whenever the socket closes, goes
silent, or the stream asks for it. A 401/403 on the handshake is fatal (`AuthError`): a bad
key does not heal by retrying.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable

import aiohttp

from pmbot.backoff import Backoff
from pmbot.clock import Clock, LiveClock
from pmbot.errors import AuthError
from pmbot.venues.kalshi import rest
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.stream import KalshiStream
from pmbot.venues.kalshi.urls import KalshiUrls

__all__ = ["KalshiWs"]

log = logging.getLogger("pmbot.venues.kalshi.ws")


class KalshiWs:
    """One WebSocket connection at a time, kept alive for as long as `run()` runs."""

    def __init__(
        self,
        urls: KalshiUrls,
        signer: KalshiSigner | None,
        stream: KalshiStream,
        *,
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
        backoff: Backoff | None = None,
        tick_s: float = 0.25,
        connect_timeout_s: float = 10.0,
        yield_to: Callable[[], bool] | None = None,
        stable_s: float = 10.0,
    ) -> None:
        """`yield_to`: asked after each frame; True gives the event loop a turn before the
        next one (the app's quote loop has waited long enough on a burst of frames: by
        default a burst already in the socket buffer is read in one go)."""
        self.urls = urls
        self.signer = signer
        self.stream = stream
        self.clock: Clock = clock or LiveClock()
        # signatures carry the exchange's wall time, whatever clock the bot trades on
        self.wall: Clock = wall_clock or LiveClock()
        self.backoff = backoff or Backoff(0.5, 30.0, random.Random(0))
        self.tick_s = tick_s
        self.connect_timeout_s = connect_timeout_s
        self.yield_to = yield_to
        # the backoff restarts only after a connection that stayed up this long: one that is
        # accepted and lost at once (closed, refused subscribes) must not reconnect in a storm
        self.stable_ns = int(stable_s * 1e9)
        self.connects = 0
        self.connected = asyncio.Event()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = False
        self._closed = asyncio.Event()
        self._last_ping_ns = 0

    # ---- desired subscriptions (forwarded; sent at once when connected) ---------------
    async def want(self, channel: str, tickers: Iterable[str] | None = None) -> None:
        self.stream.want(channel, tickers, self.clock.now_ns())
        await self._flush()

    async def unwant(self, channel: str, tickers: Iterable[str] | None = None) -> None:
        self.stream.unwant(channel, tickers, self.clock.now_ns())
        await self._flush()

    async def list_subscriptions(self) -> None:
        """Ask the server for its subscription list (logged when the reply arrives)."""
        self.stream.list_subscriptions()
        await self._flush()

    async def _flush(self) -> None:
        ws = self._ws
        out = self.stream.data_to_send()
        if ws is None or ws.closed:
            return
        try:
            for b in out:
                await ws.send_str(b.decode())
        except (ConnectionError, aiohttp.ClientConnectionError) as e:
            # the socket is closing: the receive loop sees the disconnect, and the stream
            # resends what is desired on the next connection
            log.info("kalshi ws send on a closing connection dropped error=%r", e)

    # ---- lifecycle --------------------------------------------------------------------
    async def aclose(self) -> None:
        self._closing = True
        self._closed.set()
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def drop(self) -> None:
        """Force a reconnect (tests, operator command)."""
        self.stream._request_reconnect("dropped on request")

    async def run(self) -> None:
        """Connect, serve, reconnect; returns after `aclose()`, raises AuthError on a refused key."""
        self._session = self._session or aiohttp.ClientSession()
        try:
            while not self._closing:
                ws = await self._connect()
                if ws is None:
                    await self._sleep_backoff()
                    continue
                up_ns = self.clock.now_ns()
                reason = await self._serve(ws)
                if self.clock.now_ns() - up_ns >= self.stable_ns:
                    self.backoff.reset()
                self.connected.clear()
                self.stream.disconnected(self.clock.now_ns(), reason)
                self._ws = None
                if not ws.closed:
                    await ws.close()
                log.warning("kalshi ws disconnected reason=%s", reason)
                if not self._closing:
                    await self._sleep_backoff()
        finally:
            if self._session is not None:
                await self._session.close()
                self._session = None

    async def _sleep_backoff(self) -> None:
        d = self.backoff.next_delay()
        log.info("kalshi ws reconnect in %.2fs attempt=%d", d, self.backoff.failures)
        sleeper = asyncio.ensure_future(self.clock.sleep(d))
        closer = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({sleeper, closer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in (sleeper, closer):
                f.cancel()
            await asyncio.gather(sleeper, closer, return_exceptions=True)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse | None:
        assert self._session is not None
        headers = {}
        if self.signer is not None:
            headers = self.signer.headers(self.wall.now_ns() // 1_000_000, "GET", self.urls.ws_path)
        try:
            ws = await self._session.ws_connect(
                self.urls.ws,
                headers=headers,
                autoping=False,
                heartbeat=None,
                max_msg_size=1 << 24,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as e:
            if e.status in (401, 403):
                err = rest.error_from_body(e.status, await self._refusal_body())
                log.error(
                    "kalshi ws auth failed status=%d code=%s details=%s",
                    e.status,
                    err.code,
                    err.details,
                )
                raise AuthError(
                    f"kalshi ws handshake refused: {err.message}",
                    status=e.status,
                    code=err.code,
                    details=err.details,
                ) from e
            log.warning("kalshi ws handshake failed status=%d", e.status)
            return None
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            log.warning("kalshi ws connect failed error=%s", e)
            return None
        self.connects += 1
        self._ws = ws
        now = self.clock.now_ns()
        self._last_ping_ns = now
        self.stream.connected(now)
        log.info(
            "kalshi ws connected url=%s connects=%d auth=%s",
            self.urls.ws,
            self.connects,
            "signed" if self.signer else "none",
        )
        await self._flush()
        self.connected.set()
        return ws

    async def _refusal_body(self) -> bytes:
        """The handshake error body (aiohttp drops it): ask once more over plain HTTP, signed alike."""
        assert self._session is not None
        url = "http" + self.urls.ws[2:]
        headers = {}
        if self.signer is not None:
            headers = self.signer.headers(self.wall.now_ns() // 1_000_000, "GET", self.urls.ws_path)
        try:
            async with self._session.get(url, headers=headers) as resp:
                return await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError):
            return b""

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        stream, clock, yield_to = self.stream, self.clock, self.yield_to
        half_silence = stream.silence_timeout_ns // 2
        while not self._closing:
            try:
                msg = await ws.receive(timeout=self.tick_s)
            except TimeoutError:
                msg = None
            now = clock.now_ns()
            if msg is not None:
                t = msg.type
                if t is aiohttp.WSMsgType.TEXT:
                    stream.receive(msg.data, now)
                elif t is aiohttp.WSMsgType.PING:
                    stream.note_alive(now)
                    try:
                        await ws.pong(msg.data)
                    except (ConnectionResetError, aiohttp.ClientConnectionError, RuntimeError) as e:
                        return f"pong failed: {e}"  # the socket died behind the ping
                elif t is aiohttp.WSMsgType.PONG:
                    stream.note_alive(now)
                elif t is aiohttp.WSMsgType.BINARY:
                    stream.receive(msg.data, now)
                else:  # CLOSE, CLOSING, CLOSED, ERROR
                    return f"socket {t.name.lower()}"
                if yield_to is not None and yield_to():
                    await asyncio.sleep(0)
            stream.tick(now)
            if stream.reconnect_reason:
                return stream.reconnect_reason
            if (
                half_silence
                and now - stream._last_rx_ns > half_silence
                and now - self._last_ping_ns > half_silence
            ):
                self._last_ping_ns = now
                try:
                    await ws.ping(b"pmbot")
                except (ConnectionResetError, RuntimeError) as e:
                    return f"ping failed: {e}"
            if stream._out:
                try:
                    await self._flush()
                except (ConnectionResetError, RuntimeError) as e:
                    return f"send failed: {e}"
        return "closing"
