from __future__ import annotations

from typing import Any

from pmbot.cli import build_parser
from pmbot.commands import reconcile, status
from pmbot.core.orders import Side

from .conftest import last_json

ENV: dict[str, str] = {}


async def test_reconcile_agrees(bot_ledger: Any, cmd_args: Any, capsys: Any) -> None:
    path, _, _ = bot_ledger
    rc = await reconcile.amain(cmd_args("reconcile", "--ledger", path, "--json"), ENV)
    out = last_json(capsys.readouterr().out)
    assert rc == 0, out
    assert out["ok"] and out["fills"]["ledger"] == out["fills"]["venue"] == 1
    assert out["orders"]["ledger_live"] == out["orders"]["venue_resting"] == 2


async def test_reconcile_reports_venue_only_order_and_fill(
    bot_ledger: Any, venue: Any, sim: Any, cmd_args: Any, capsys: Any
) -> None:
    path, om, taker = bot_ledger
    t = next(o.ticker for o in om.state.live_orders() if o.side is Side.ASK)
    stray = await venue.place(t, Side.BID, 100, 100)  # placed behind the bot's back
    await taker.place(t, Side.BID, 6000, 100, post_only=False)  # a fill the ledger never saw
    await sim.step(1)
    rc = await reconcile.amain(cmd_args("reconcile", "--ledger", path, "--json"), ENV)
    out = last_json(capsys.readouterr().out)
    assert rc == 1 and not out["ok"]
    assert [x["order_id"] for x in out["orders"]["venue_only_resting"]] == [stray.order_id]
    assert len(out["fills"]["venue_only"]) == 1
    assert out["positions"]["differ"] == [{"ticker": t, "ledger": "0.00", "venue": "-1.00"}]
    rc = await reconcile.amain(cmd_args("reconcile", "--ledger", path), ENV)
    assert rc == 1 and "MISMATCH" in capsys.readouterr().out


async def test_status_offline_from_a_live_ledger(bot_ledger: Any, capsys: Any) -> None:
    """`pmbot status` on a ledger an OrderManager wrote against the simulator (no venue call)."""
    path, om, _ = bot_ledger
    args = build_parser().parse_args(["status", "--ledger", path, "--json"])
    assert status.main(args) == 0
    out = last_json(capsys.readouterr().out)
    assert out["fills"] == 1 and len(out["live_orders"]) == 2
    bid = next(o for o in om.state.live_orders() if o.side is Side.BID)
    assert out["positions"][bid.ticker]["qty"] == "2.00"
    assert out["positions"][bid.ticker]["avg_price"] == "0.4000"
    assert {o["remaining"] for o in out["live_orders"]} == {"3.00"}
