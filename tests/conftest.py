"""Shared fixtures: the Kalshi simulator in-process on an ephemeral loopback port.

`sim` runs on a ManualClock (a Tuesday, 10:00 ET, session open) with no background flow and no
rate limits, so tests are deterministic; `sim_factory(**config)` builds others (flow on, limits
on, another start time). Drive time with `await sim.step(seconds)`; never sleep. The sim exposes
rest_url, ws_url, key_id, private_key_pem, private_key_path, faults, exchange and index.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings

from pmbot.clock import ManualClock
from pmbot.sim.kalshi_auth import write_key
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

# Property tests are deterministic by default (the same examples every run: a red CI is a
# real regression, never the luck of the draw). PMBOT_HYPOTHESIS=explore draws new examples.
settings.register_profile("pmbot", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("PMBOT_HYPOTHESIS", "pmbot"))


@pytest.fixture(autouse=True)
def _pmbot_logging_restored() -> Iterator[None]:
    """A test that runs a command (setup_logging, `pmbot backtest` quieting the risk log)
    must not change what later tests' log captures see: levels, propagation and handlers of
    the pmbot loggers come back as they were."""
    loggers = [logging.getLogger(n) for n in ("pmbot", "pmbot.risk")]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    yield
    for lg, level, propagate, handlers in saved:
        lg.setLevel(level)
        lg.propagate = propagate
        for h in list(lg.handlers):
            if h not in handlers:
                lg.removeHandler(h)
                h.close()


SIM_START_NS = (
    int(datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()) * 10**9
)


@pytest.fixture
async def sim_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[KalshiSim] = []

    async def make(start_ns: int = SIM_START_NS, **cfg: Any) -> KalshiSim:
        cfg.setdefault("rate_limits", False)
        cfg.setdefault("flow", None)
        cfg.setdefault("seed", 7)
        s = KalshiSim(SimConfig(**cfg), clock=ManualClock(start_ns))
        await s.start()
        _, pem = write_key(s.key, tmp_path / f"keys{len(started)}")
        s.private_key_path = pem  # type: ignore[attr-defined]
        started.append(s)
        return s

    yield make
    for s in started:
        await s.stop()


@pytest.fixture
async def sim(sim_factory: Callable[..., Any]) -> KalshiSim:
    return await sim_factory()  # type: ignore[no-any-return]
