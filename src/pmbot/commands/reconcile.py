"""`pmbot reconcile`: the venue's orders, fills and positions against the ledger (a report).

Read-only on both sides: it applies nothing (the bot's OrderManager does that at start and
periodically). It uses the same pure comparison (`execution.reconcile`) the bot uses, with the
same inputs: the venue's resting list, the orders list of the markets where a ledger order is
no longer resting, the fills and the positions, never a single-order GET. Exit 0 when ledger
and venue agree, 1 on any mismatch, 2 on configuration errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping
from typing import Any

from pmbot.commands._common import (
    add_endpoint_arguments,
    console,
    emit_json,
    open_venue,
    require_kalshi,
    require_ledger,
    settings_from_args,
)

__all__ = ["HELP", "add_arguments", "amain", "main"]

HELP = "compare the venue's orders, fills and positions with the ledger (exit 1 on mismatch)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_endpoint_arguments(p, ledger=True)


def main(args: argparse.Namespace) -> int:
    return asyncio.run(amain(args, os.environ))


async def amain(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from pmbot.core.money import fmt_count, fmt_money
    from pmbot.core.orders import OrderStatus
    from pmbot.core.state import TradingState
    from pmbot.execution.reconcile import VenueSnapshot, orders_to_resolve, reconcile
    from pmbot.store.ledger import Ledger
    from pmbot.venues.kalshi.port import KalshiPort

    s = settings_from_args(args, environ)
    require_kalshi(s)
    path = str(require_ledger(s.ledger.path))
    state = TradingState()
    with Ledger(path) as led:
        led.recover(state)
        coids, oids = led.known_ids()
        ledger_fills = led.fills()
    live = state.live_orders()
    async with open_venue(s, environ, args.max_retries) as venue:
        port = KalshiPort(venue)
        resting = await port.list_orders(status=OrderStatus.RESTING)
        missing = orders_to_resolve(live, resting)
        tickers = sorted({o.ticker for o in missing})
        history = []
        for t in tickers:
            history += await port.list_orders(ticker=t)
        vfills = await port.get_fills()
        vpos = {p.ticker: p.qty for p in await port.get_positions()}
        balance = await port.get_balance()
        now = venue.clock.now_ns()
    snap = VenueSnapshot(now, resting, history, tickers, vfills, None, balance)
    rep = reconcile(
        snap,
        live,
        known_client_ids=coids,
        known_order_ids=oids,
        fill_keys={(f.trade_id, f.order_id) for f in ledger_fills},
        positions={},
    )
    vkeys = {(f.trade_id, f.order_id) for f in vfills}
    ledger_only = [f for f in ledger_fills if (f.trade_id, f.order_id) not in vkeys]
    lpos = {t: p.qty for t, p in state.positions.items()}
    pos_diff = [
        {"ticker": t, "ledger": fmt_count(lpos.get(t, 0)), "venue": fmt_count(vpos.get(t, 0))}
        for t in sorted(lpos.keys() | vpos.keys())
        if lpos.get(t, 0) != vpos.get(t, 0)
    ]
    out: dict[str, Any] = {
        "ledger": path,
        "ok": False,
        "orders": {
            "ledger_live": len(live),
            "venue_resting": len(resting),
            "status_differs": [
                {
                    "client_order_id": f.client_order_id,
                    "order_id": f.order_id,
                    "venue_status": f.status.value,
                    "reason": f.reason,
                }
                for f in rep.fixes
            ],
            "venue_only_resting": [
                {
                    "order_id": u.order_id,
                    "client_order_id": u.client_order_id,
                    "ticker": u.ticker,
                    "known": u.order_id in oids or u.client_order_id in coids,
                }
                for u in rep.cancel
            ],
            "unresolved": rep.unresolved,
        },
        "fills": {
            "ledger": len(ledger_fills),
            "venue": len(vkeys),
            "venue_only": [
                {
                    "trade_id": f.trade_id,
                    "order_id": f.order_id,
                    "ticker": f.ticker,
                    "qty": fmt_count(f.qty),
                }
                for f in rep.backfill
            ],
            "ledger_only": [{"trade_id": f.trade_id, "order_id": f.order_id} for f in ledger_only],
        },
        "positions": {
            "ledger": len([q for q in lpos.values() if q]),
            "venue": len(vpos),
            "differ": pos_diff,
        },
        "balance": fmt_money(balance),
    }
    ok = not (rep.fixes or rep.cancel or rep.unresolved or rep.backfill or ledger_only or pos_diff)
    out["ok"] = ok
    if args.json:
        emit_json(out)
    else:
        _print(out)
    return 0 if ok else 1


def _print(out: dict[str, Any]) -> None:
    from rich.table import Table

    c = console()
    o, f, p = out["orders"], out["fills"], out["positions"]
    t = Table(title=f"reconcile: ledger {out['ledger']} vs venue")
    for col in ("what", "ledger", "venue", "mismatches"):
        t.add_column(col, justify="left" if col == "what" else "right")
    t.add_row(
        "orders (live/resting)", str(o["ledger_live"]), str(o["venue_resting"]),
        str(len(o["status_differs"]) + len(o["venue_only_resting"]) + len(o["unresolved"])),
    )  # fmt: skip
    t.add_row(
        "fills", str(f["ledger"]), str(f["venue"]),
        str(len(f["venue_only"]) + len(f["ledger_only"])),
    )  # fmt: skip
    t.add_row("positions", str(p["ledger"]), str(p["venue"]), str(len(p["differ"])))
    c.print(t)
    for x in o["status_differs"]:
        c.print(f"order {x['client_order_id']}: venue says {x['venue_status']} ({x['reason']})")
    for x in o["venue_only_resting"]:
        what = "ours, terminal in the ledger" if x["known"] else "not in the ledger"
        c.print(f"venue order {x['order_id']} {x['ticker']} rests: {what}")
    for x in f["venue_only"]:
        c.print(f"venue fill {x['trade_id']} {x['ticker']} {x['qty']} missing from the ledger")
    for x in f["ledger_only"]:
        c.print(f"ledger fill {x['trade_id']} unknown to the venue")
    for x in p["differ"]:
        c.print(f"position {x['ticker']}: ledger {x['ledger']} venue {x['venue']}")
    c.print("[green]OK: ledger and venue agree[/green]" if out["ok"] else "[red]MISMATCH[/red]")
