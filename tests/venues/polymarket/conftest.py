"""A Polymarket simulator started in-process on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from poly_simdata import sim_markets

from pmbot.sim.polymarket_server import PolySim


@pytest.fixture
async def poly_sim() -> AsyncIterator[PolySim]:
    sim = PolySim(sim_markets(), page_size=2)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.aclose()
