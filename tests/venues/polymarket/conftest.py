"""A Polymarket simulator started in-process on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from poly_simdata import sim_markets

from pmbot.sim.polymarket_server import PolySim


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Awaitable[PolySim]]]:
    sims: list[PolySim] = []

    async def make(**kw: Any) -> PolySim:
        kw.setdefault("page_size", 2)
        sim = PolySim(sim_markets(), **kw)
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for s in sims:
        await s.aclose()


@pytest.fixture
async def poly_sim(make_sim: Callable[..., Awaitable[PolySim]]) -> PolySim:
    return await make_sim()
