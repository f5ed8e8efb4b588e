"""What every venue's bot run shares: how it is stopped and how it shuts down.

`BotApp` (Kalshi, app.py) and `PolyBotApp` (Polymarket, app_polymarket.py) differ in what
they start and how they decide; they stop the same way:

* a stop is asked for by SIGINT/SIGTERM (from the first moment to the last: a signal never
  kills), `--duration` (market time: simulated seconds on an embedded simulator), the kill
  switch or `request_stop()`; it surfaces as `Stop` inside the run's TaskGroup;
* any other error (ours, the network's, or a bug such as a ValueError) still runs the
  shutdown before it propagates;
* the shutdown is the order manager's cancel-all, verified against the venue's open orders;
  `RunResult.clean_shutdown` says whether it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pmbot.clock import Clock
from pmbot.errors import ConfigError, VenueError

__all__ = ["RunOptions", "RunResult", "RunShell", "Stop", "require_live_for_remote"]

log = logging.getLogger("pmbot.app")


def require_live_for_remote(urls: dict[str, str | None], live: bool) -> None:
    """A simulator URL that is not on this machine may be a real exchange: trading there needs
    the same `bot.live` confirmation as env demo/prod (a custom URL used to skip it)."""
    for field_name, url in urls.items():
        if not url or live:
            continue
        host = (urlsplit(url).hostname or "").lower()
        if host != "localhost" and not host.startswith("127.") and host != "::1":
            raise ConfigError(
                "bot.live",
                f"{field_name}={url} is not on this machine: it may be a real exchange; set "
                "bot.live = true (or --live) to confirm",
            )


class Stop(Exception):
    """Raised inside the TaskGroup to end the run cleanly (duration, signal, kill switch)."""


@dataclass(slots=True)
class RunOptions:
    duration_s: float | None = None  # simulated seconds when running on the embedded sim
    summary_json: str | None = None
    record: str | None = None
    dashboard: bool = True
    install_signal_handlers: bool = True


@dataclass(slots=True)
class RunResult:
    summary: dict[str, Any] = field(default_factory=dict)
    clean_shutdown: bool = False


class RunShell:
    """Mixed into a venue's app: the attributes below are set by its `__init__`."""

    opts: RunOptions
    clock: Clock
    om: Any  # execution.order_manager.OrderManager once the run has one
    result: RunResult
    _stop_evt: asyncio.Event
    _stop_reason: str
    # where to look when the cancel-all could not be verified
    _check_hint = "check the venue"
    _waiting_ns = 0  # when the sink woke the quote loop for an event not yet decided on
    _burst_wait_ns = 250_000

    def _init_shell(self, options: RunOptions | None, burst_wait_ms: float = 0.25) -> None:
        self.opts = options or RunOptions()
        self.result = RunResult()
        self.om = None
        self._stop_evt = asyncio.Event()
        self._stop_reason = ""
        self._burst_wait_ns = round(burst_wait_ms * 1e6)

    def _decision_overdue(self) -> bool:
        """Asked by the WebSocket readers after each frame: True (once per wait) when an
        event has waited `bot.burst_wait_ms` for its decision while the reader went on
        through a burst of frames; the reader then gives the quote loop a turn. The sink
        sets `_waiting_ns` when it wakes the loop; the loop clears it when it wakes."""
        w = self._waiting_ns
        if w and time.perf_counter_ns() - w >= self._burst_wait_ns:
            self._waiting_ns = 0  # the next wake-up starts a new wait
            return True
        return False

    def request_stop(self, reason: str) -> None:
        """Ask the run to stop as --duration would (tests, embedding)."""
        if not self._stop_evt.is_set():
            self._stop_reason = reason
            self._stop_evt.set()

    def _speed(self) -> float:
        return float(getattr(self.clock, "speed", 1.0))

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._stop_evt.is_set():
            log.warning("%s again: already shutting down (cancel-all in progress)", name)
            return
        self.request_stop(name)

    def _install_signals(self, stack: contextlib.ExitStack | contextlib.AsyncExitStack) -> None:
        """From the first moment to the last: a signal asks for a clean stop, never kills."""
        if not self.opts.install_signal_handlers:
            return
        loop = asyncio.get_running_loop()
        # SIGHUP too: a closed terminal or SSH session must not leave the quotes resting
        # (unless it is ignored, as under nohup: then the run goes on as asked)
        sigs = [signal.SIGINT, signal.SIGTERM]
        hup = getattr(signal, "SIGHUP", None)
        if hup is not None and signal.getsignal(hup) is not signal.SIG_IGN:
            sigs.append(hup)
        for sig in sigs:
            loop.add_signal_handler(sig, self._on_signal, sig)
            stack.callback(loop.remove_signal_handler, sig)

    async def _signals(self) -> None:
        await self._stop_evt.wait()
        raise Stop(self._stop_reason)

    async def _timer(self) -> None:
        """--duration, in market time (the embedded simulators' clocks may run faster)."""
        if self.opts.duration_s is None:
            return
        end = self.clock.now_ns() + int(self.opts.duration_s * 1e9)
        while self.clock.now_ns() < end:
            await asyncio.sleep(
                min(0.1, max(0.0, (end - self.clock.now_ns()) / 1e9 / max(self._speed(), 1.0)))
            )
        self._stop_reason = f"duration {self.opts.duration_s:g}s reached"
        raise Stop(self._stop_reason)

    async def _supervise(self, start: Callable[[asyncio.TaskGroup], Awaitable[None]]) -> None:
        """Run the tasks `start` puts in a TaskGroup (with the signal and duration tasks)
        until a stop, then shut down; a fatal error shuts down too, then propagates."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._signals(), name="signals")
                tg.create_task(self._timer(), name="timer")
                await start(tg)
        except* Stop as eg:
            log.info("stopping: %s", eg.exceptions[0])
        except* Exception as eg:  # ours, the network's, or a bug: nothing may stay resting
            log.error("fatal: %r", eg.exceptions[0])
            self._stop_reason = f"fatal: {eg.exceptions[0]}"
            await self._shutdown()
            raise
        await self._shutdown()

    async def _shutdown(self) -> None:
        if self.om is None:
            return
        try:
            ok = await self.om.shutdown(self._stop_reason or "shutdown")
        except VenueError as e:
            log.critical("SHUTDOWN CANCEL-ALL FAILED: %s", e)
            ok = False
        self.result.clean_shutdown = ok
        if not ok:
            log.critical("orders may still rest on the venue: %s", self._check_hint)
