"""`pmbot status`: positions, live orders and PnL from the ledger; works offline.

Reads the ledger file only (never the venue), so it answers when the bot, the network or
the exchange is down. Positions are rebuilt exactly as the bot recovers them after a crash
(replaying fills, then settlements); the PnL shown is realised PnL and fees (open positions
are shown at cost: marking them needs a live fair value, which `pmbot markets` prints).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from pmbot.commands._common import console, emit_json, require_ledger, settings_from_args

__all__ = ["HELP", "add_arguments", "main", "report"]

HELP = "positions, live orders and PnL from the ledger (offline)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="TOML config file")
    p.add_argument("--ledger", help="ledger SQLite path (overrides ledger.path)")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")


def main(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    for name in ("env", "rest_url", "ws_url", "key_dir"):
        setattr(args, name, getattr(args, name, None))
    s = settings_from_args(args, os.environ if environ is None else environ)
    out = report(str(require_ledger(s.ledger.path)))
    if args.json:
        emit_json(out)
    else:
        _print(out)
    return 0


def report(path: str) -> dict[str, Any]:
    """The ledger's view as one JSON-ready dict (money as decimal strings)."""
    from pmbot.core.money import fmt_count, fmt_money, fmt_price
    from pmbot.core.state import TradingState
    from pmbot.store.ledger import Ledger

    state = TradingState()
    with Ledger(path) as led:
        rec = led.recover(state)
        runs = [
            {"run_id": r[0], "started_ns": r[1], "ended_ns": r[2], "venue": r[3]}
            for r in led.db.execute(
                "SELECT run_id, started_ns, ended_ns, venue FROM runs ORDER BY started_ns DESC"
                " LIMIT 5"
            )
        ]
        n_orders = int(led.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
    positions = []
    realized = fees = 0
    for t, p in sorted(state.positions.items()):
        realized += p.realized
        fees += p.fees
        if not p.qty and not p.realized and not p.fees:
            continue
        avg = abs(p.cost) // abs(p.qty) if p.qty else None  # Micros / Qty = Price
        positions.append(
            {
                "ticker": t,
                "qty": fmt_count(p.qty),
                "avg_price": None if avg is None else fmt_price(avg),
                "cost": fmt_money(p.cost),
                "realized": fmt_money(p.realized),
                "fees": fmt_money(p.fees),
                "volume": fmt_count(p.volume),
            }
        )
    orders = [
        {
            "client_order_id": o.client_order_id,
            "order_id": o.order_id,
            "ticker": o.ticker,
            "side": o.side.value,
            "price": fmt_price(o.price),
            "remaining": fmt_count(o.remaining),
            "filled": fmt_count(o.filled),
            "status": o.status.value,
        }
        for o in sorted(state.live_orders(), key=lambda o: (o.ticker, o.side.value, o.price))
    ]
    return {
        "ledger": path,
        "fills": rec.fills,
        "orders_total": n_orders,
        "live_orders": orders,
        "positions": positions,
        "settlements": rec.settlements,
        "pnl": {
            "realized": fmt_money(realized),
            "fees": fmt_money(-fees),
            "net_realized": fmt_money(realized - fees),
        },
        "last_fill_ts_ns": rec.last_fill_ts_ns,
        "runs": runs,
    }


def _print(out: dict[str, Any]) -> None:
    from rich.table import Table

    c = console()
    c.print(
        f"ledger {out['ledger']}: {out['fills']} fills, {out['orders_total']} orders, "
        f"{len(out['live_orders'])} live, {out['settlements']} settlements"
    )
    t = Table(title="positions")
    for col in ("ticker", "qty", "avg", "cost", "realized", "fees", "volume"):
        t.add_column(col, justify="left" if col == "ticker" else "right")
    for p in out["positions"]:
        t.add_row(
            p["ticker"], p["qty"], p["avg_price"] or "-", p["cost"], p["realized"], p["fees"],
            p["volume"],
        )  # fmt: skip
    c.print(t)
    t = Table(title="live orders (ledger)")
    for col in ("ticker", "side", "price", "remaining", "filled", "status", "order_id"):
        t.add_column(col)
    for o in out["live_orders"]:
        t.add_row(
            o["ticker"], o["side"], o["price"], o["remaining"], o["filled"], o["status"],
            o["order_id"] or "-",
        )  # fmt: skip
    c.print(t)
    pnl = out["pnl"]
    c.print(f"PnL realized {pnl['realized']}  fees {pnl['fees']}  net {pnl['net_realized']}")
