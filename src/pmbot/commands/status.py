"""`pmbot status`: positions, live orders, fills and PnL from the ledger (no venue call).

Reads the SQLite ledger the bot writes (`ledger.path`, or `--ledger`); safe while the bot
runs (WAL readers do not block the writer). Positions are rebuilt from the fills exactly as
the bot recovers them after a restart, so what it prints is what the bot would continue from.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from pmbot.core.money import fmt_count, fmt_money, fmt_price
from pmbot.core.state import TradingState
from pmbot.settings import load_settings
from pmbot.store.ledger import Ledger

__all__ = ["HELP", "add_arguments", "main", "status"]

HELP = "show positions, live orders, fills and PnL from the ledger"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="TOML config file")
    p.add_argument("--ledger", help="ledger SQLite path (overrides ledger.path)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def status(path: str) -> dict[str, object]:
    """The ledger's view: what `pmbot status` prints, as plain data (money as strings)."""
    with Ledger(path) as led:
        state = TradingState()
        rec = led.recover(state)
        runs = led.db.execute(
            "SELECT run_id, started_ns, ended_ns, venue FROM runs ORDER BY started_ns DESC LIMIT 1"
        ).fetchone()
    positions = {
        t: {
            "qty": fmt_count(p.qty),
            "avg_price": fmt_price(abs(p.cost) // abs(p.qty)) if p.qty else None,
            "realized": fmt_money(p.realized),
            "fees": fmt_money(p.fees),
            "volume": fmt_count(p.volume),
        }
        for t, p in sorted(state.positions.items())
        if p.qty or p.realized or p.fees
    }
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
        "last_run": None
        if runs is None
        else {"run_id": runs[0], "started_ns": runs[1], "ended_ns": runs[2], "venue": runs[3]},
        "fills": rec.fills,
        "settlements": rec.settlements,
        "positions": positions,
        "live_orders": orders,
        "realized_pnl": fmt_money(state.realized_pnl()),
        "fees": fmt_money(state.fees_paid()),
        "net_pnl": fmt_money(state.realized_pnl() - state.fees_paid()),
    }


def main(args: argparse.Namespace) -> int:
    path = args.ledger or load_settings(args.config, os.environ).ledger.path
    p = Path(path)
    if not args.ledger and not p.exists():
        # `make run` (the embedded simulator) writes a new sim-<stamp> ledger beside it
        sims = sorted(p.parent.glob("sim-*.sqlite3"), key=lambda f: f.stat().st_mtime)
        if sims:
            print(f"no ledger at {path}; the newest simulator run's: {sims[-1]}", file=sys.stderr)
            path, p = str(sims[-1]), sims[-1]
    if not p.exists() or (p.is_file() and p.stat().st_size == 0):
        # an empty file is no ledger either: opening it would write a schema into it
        print(f"no ledger at {path}" if not p.exists() else f"empty file, not a ledger: {path}")
        return 1
    s = status(path)
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    run = s["last_run"]
    print(
        f"ledger {path}  last run: {run['run_id'] if isinstance(run, dict) else '-'}"
        f"{'' if not isinstance(run, dict) or run['ended_ns'] else ' (still running or killed)'}"
    )
    print(
        f"fills {s['fills']}  settlements {s['settlements']}  realized {s['realized_pnl']}"
        f"  fees {s['fees']}  net {s['net_pnl']} (before open positions' marks)"
    )
    print("positions:")
    for t, p in s["positions"].items():  # type: ignore[attr-defined]
        print(
            f"  {t:<32} qty {p['qty']:>10}  avg {p['avg_price'] or '-':>7}"
            f"  realized {p['realized']:>12}  fees {p['fees']:>10}"
        )
    print(f"live orders ({len(s['live_orders'])}):")  # type: ignore[arg-type]
    for o in s["live_orders"]:  # type: ignore[attr-defined]
        print(
            f"  {o['ticker']:<32} {o['side']:<3} {o['price']}  x {o['remaining']:>8}"
            f"  {o['status']:<14} {o['order_id'] or '-'}"
        )
    return 0
