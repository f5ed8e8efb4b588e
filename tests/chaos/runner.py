"""Run the real bot (BotApp, in-process) against the simulator with faults on a timeline.

A scenario is a list of steps at simulated offsets from the bot's first resting quote. The
runner applies each step through the simulator's own switches (`sim.faults`, `set_paused`,
`restart`), probes the venue at chosen instants, stops the bot the way SIGTERM does, and
hands everything to `invariants.check`, which judges from the simulator's state, its order
log and journal, and the bot's ledger file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pmbot.app import BotApp, RunOptions, Stop
from pmbot.logs import setup_logging
from pmbot.settings import Secrets, load_settings
from pmbot.sim.flow import FlowConfig
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

from .invariants import Probe, Run, StaleWindow, check
from .report import TOTALS

__all__ = ["Scenario", "Step", "run_scenario"]

S = 1_000_000_000
START = int(datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("America/New_York")).timestamp()) * S


@dataclass(frozen=True)
class Step:
    at_s: float  # simulated seconds after the bot's first resting quote
    fault: str
    value: Any = 1


@dataclass
class Scenario:
    name: str
    steps: list[Step]
    run_s: float = 30.0  # simulated seconds after the first quote before SIGTERM
    seed: int = 1
    speed: float = 3.0  # 1 s of simulated time = 333 ms of wall time for the pull deadline
    tier: str = "basic"  # the default tier of a new Kalshi account
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


COUNTED = (
    "drop_ws",
    "skip_seq",
    "dup_seq",
    "reorder_seq",
    "http_429",
    "http_5xx",
    "stale_after_cancel",
)


class ChaosBot(BotApp):
    """The real app; its signal task waits for the runner's stop instead of an OS signal."""

    stop_requested: asyncio.Event

    async def _signals(self) -> None:
        await self.stop_requested.wait()
        self._stop_reason = "SIGTERM"
        raise Stop(self._stop_reason)


def _settings(tmp: Path, over: dict[str, dict[str, Any]]) -> Any:
    layers: dict[str, dict[str, Any]] = {
        "ledger": {"path": str(tmp / "ledger.sqlite3")},
        "logging": {"file": str(tmp / "trading.log"), "console": False},
        "bot": {"dashboard": False, "reconcile_interval_s": 5.0},
    }
    for k, v in over.items():
        layers.setdefault(k, {}).update(v)
    return load_settings(None, environ={}, overrides=layers)


async def _until(pred: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _sim_at(sim: KalshiSim, ts_ns: int, timeout: float = 120.0) -> None:
    await _until(lambda: sim.now_ns() >= ts_ns, timeout, f"sim time {ts_ns}")


async def _apply(sim: KalshiSim, run: Run, step: Step) -> None:
    f = sim.faults
    now = sim.now_ns()
    name = step.fault
    if name in ("drop_ws", "skip_seq", "dup_seq", "reorder_seq", "http_429", "http_5xx"):
        setattr(f, name, int(step.value))
    elif name == "stale_after_cancel":
        f.stale_after_cancel = int(step.value)
        f.stale_reads = 3
    elif name == "delay_frames_s":
        f.delay_frames_s = float(step.value)
    elif name == "pause":
        sim.set_paused(bool(step.value))
    elif name == "restart":
        sim.hub.journal.append((now, "drop_ws", "restart"))
        await sim.restart()
        # the venue refused every call while down: the pull deadline runs from here
        sim.hub.journal.append((sim.now_ns(), "venue_up", "restart"))
    elif name == "index_stall":
        f.index_stall = bool(step.value)
        if not step.value and run.stalls and run.stalls[-1].end_ns is None:
            run.stalls[-1].end_ns = now
        elif step.value:
            run.stalls.append(StaleWindow("index", now, None))
    elif name == "index_jump":
        f.index_jump = float(step.value)
    else:
        raise ValueError(f"unknown fault {name}")
    if step.value:
        TOTALS.faults[name] += (
            1
            if name in ("delay_frames_s", "index_jump")
            else int(
                step.value
                if isinstance(step.value, int) and not isinstance(step.value, bool)
                else 1
            )
        )
    logging.getLogger("pmbot.chaos").info("fault %s=%s at sim_ns=%d", name, step.value, now)


def _reset_logging() -> None:
    root = logging.getLogger("pmbot")
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.propagate = True


async def _deadline(sim: KalshiSim, start: int) -> None:
    """Wait out the 1 s pull deadline after `start`. While the venue refuses requests (a
    restart, injected 503/429) nothing can be pulled, and after each refusal the client waits
    its retry backoff (at most 2 s of wall time); the deadline runs from the end of that."""
    grace = int(2.0 * sim.config.speed * S)
    t = start + S
    while True:
        await _sim_at(sim, t)
        last = max(
            (
                j[0]
                for j in sim.hub.journal
                if j[1] in ("refused", "venue_up") and start - grace <= j[0] <= t
            ),
            default=None,
        )
        if last is None or last + grace + S <= t:
            return
        t = last + grace + S


def _drops(sim: KalshiSim) -> int:
    return sum(1 for j in sim.hub.journal if j[1] == "drop_ws")


async def run_scenario(scn: Scenario, tmp: Path) -> Run:
    """Run one scenario end to end and return what the invariant checker judged."""
    settings = _settings(tmp, scn.settings)
    setup_logging(tmp / "trading.log", settings.logging.level, console=False)
    sim = KalshiSim(
        SimConfig(seed=scn.seed, speed=scn.speed, start_ns=START, flow=FlowConfig(), tier=scn.tier)
    )
    await sim.start()
    user = sim.key.user
    run = Run(scn.name, sim, user, tmp / "ledger.sqlite3", settings)
    app = ChaosBot(
        settings,
        Secrets({}),
        RunOptions(duration_s=None, dashboard=False, install_signal_handlers=False),
        sim=sim,
    )
    app.stop_requested = asyncio.Event()
    try:
        task = asyncio.create_task(app.run())
        await _until(
            lambda: bool(sim.exchange.engine.resting(user)) or task.done(), 120, "first quotes"
        )
        if task.done():
            task.result()
        t0 = sim.now_ns()
        run.t0_ns = t0
        for st in sorted(scn.steps, key=lambda s: s.at_s):
            await _sim_at(sim, t0 + int(st.at_s * S))
            if task.done():
                break
            n0 = _drops(sim)
            await _apply(sim, run, st)
            run.probes.append(Probe.take(run, "after " + st.fault))
            if st.fault in ("drop_ws", "restart"):
                await _until(lambda n0=n0: _drops(sim) > n0, 30, "socket drop")
                d = max(j[0] for j in sim.hub.journal if j[1] == "drop_ws")
                await _deadline(sim, d)
                run.probes.append(Probe.take(run, st.fault + " + 1s", book_drop_ns=d))
            if st.fault == "index_stall" and st.value:
                # index stale once older than the bot's own limit: probe the pull deadline
                await _until(lambda: sim.faults.index_frozen is not None, 30, "frozen index")
                assert sim.faults.index_frozen is not None
                frozen_ns = sim.faults.index_frozen[0] * 1_000_000
                stale_ns = frozen_ns + int(settings.risk.index_stale_s * S)
                run.stalls[-1].stale_ns = stale_ns
                await _deadline(sim, stale_ns)
                run.probes.append(Probe.take(run, "index stale + 1s", must_be_empty=True))
        await _sim_at(sim, t0 + int(scn.run_s * S))
        for name in COUNTED:  # report only the faults that fired
            left = getattr(sim.faults, name)
            if left:
                TOTALS.faults[name] -= left
                run.summary.setdefault("unfired", {})[name] = left
        sim.faults.clear()
        for w in run.stalls:
            if w.end_ns is None:
                w.end_ns = sim.now_ns()
        run.probes.append(Probe.take(run, "before SIGTERM"))
        app.stop_requested.set()
        res = await asyncio.wait_for(task, 120)
        run.clean_shutdown = res.clean_shutdown
        run.summary = {**res.summary, **run.summary}
        run.om_stats = app.om.stats if app.om is not None else None
    finally:
        if not app.stop_requested.is_set():
            app.stop_requested.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 60)
        await sim.stop()
        _reset_logging()
    check(run)
    TOTALS.scenarios.append(scn.name)
    return run
