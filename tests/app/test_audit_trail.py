"""trading.log stays a complete money trail when answers and frames are lost (chaos review).

* The exchange carries out an order write, then the connection is cut before its answer: the
  bot finds the order (lookup by client_order_id, or reconciliation) and it rests and may
  fill. Its order_id was named on no line (a later fill named an order found nowhere else).
* Fill frames lost on the WebSocket are backfilled from REST fills, which carry no
  client_order_id: the order we know is named in the log line and in the ledger row (both
  said None).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from test_e2e import START, _app

from pmbot.sim.flow import FlowConfig
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", ["/portfolio/events/orders", "/portfolio/events/orders/batched"])
async def test_an_order_whose_answer_was_lost_is_named_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="pmbot")
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    sim.faults.lost_answers, sim.faults.lost_answer_path = 2, path
    await sim.start()
    try:
        res = await _app(tmp_path, sim, 120).run()
        assert res.clean_shutdown and sim.faults.lost_answers == 0  # both fired
        named = {
            m.split(" order_id=")[1].split()[0]
            for r in caplog.records
            if " order_id=" in (m := r.getMessage())
            and " client_order_id=" in m
            and " price=" in m
            and ("order created" in m or "order reconciled" in m or "order learned" in m)
        }
        ours = {o.order_id for o in sim.exchange.engine.orders.values() if o.user == sim.key.user}
        assert ours and not ours - named, sorted(ours - named)
    finally:
        await sim.stop()


async def test_a_backfilled_fill_names_its_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pmbot")
    sim = KalshiSim(SimConfig(seed=5, speed=30.0, start_ns=START, flow=FlowConfig()))
    sim.faults.lost_fills = 3
    await sim.start()
    try:
        res = await _app(tmp_path, sim, 240).run()
        assert res.clean_shutdown and sim.faults.lost_fills == 0
        back = [m for r in caplog.records if (m := r.getMessage()).startswith("fill (backfill)")]
        assert back and not any("client_order_id=None" in m for m in back), back
        with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
            rows = db.execute(
                "SELECT f.trade_id, f.client_order_id, o.client_order_id FROM fills f "
                "JOIN orders o ON o.order_id = f.order_id"
            ).fetchall()
        assert rows and all(r[1] == r[2] for r in rows), [r for r in rows if r[1] != r[2]]
    finally:
        await sim.stop()
