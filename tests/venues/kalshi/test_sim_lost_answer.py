"""The simulator's lost_answers fault aborts the transport after the handler ran: no
traceback on either side, the order is found by its client_order_id, and the next request
goes through."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from pmbot.core.orders import OrderStatus, Side

from .test_sim_integration import Rig, active, rig  # noqa: F401

pytestmark = pytest.mark.slow


async def test_lost_answer_is_quiet_and_found(rig: Any, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    r = await rig()
    await r.start()
    t = active(r.sim)
    r.sim.faults.lost_answers, r.sim.faults.lost_answer_path = 1, "/portfolio/events/orders"
    o = await r.venue.place(t, Side.BID, 3500, 300, post_only=True)
    o2 = await r.venue.place(t, Side.BID, 3400, 300, post_only=True)
    assert o2.status is OrderStatus.RESTING
    bad = [
        (rec.name, rec.levelname, rec.getMessage()[:200], bool(rec.exc_info))
        for rec in caplog.records
        if rec.name.startswith("aiohttp") or rec.exc_info or rec.levelno >= logging.ERROR
    ]
    assert o.status is OrderStatus.RESTING and r.sim.faults.lost_answers == 0
    assert not [b for b in bad if b[1] in ("ERROR", "CRITICAL") or b[3]], bad
