"""`pmbot status` reads the ledger: positions rebuilt from fills, live orders, PnL."""

from __future__ import annotations

import json
from pathlib import Path

from pmbot.cli import main
from pmbot.core.events import Fill
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.store.ledger import Ledger


def test_status_from_ledger(tmp_path: Path, capsys):
    path = tmp_path / "l.db"
    with Ledger(path) as led:
        led.start_run("r1", 1, "KalshiPort")
        o = LiveOrder("c1", "M", Side.BID, 4000, 1000, 1000, OrderStatus.PENDING, created_ns=1)
        led.add_orders([o])
        o.status, o.order_id, o.remaining, o.filled = OrderStatus.RESTING, "o1", 700, 300
        led.update_order(o, "ack")
        led.add_fill(Fill("t1", "o1", "M", Side.BID, 4000, 300, 1000, False, 2))
    assert main(["status", "--ledger", str(path), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["positions"]["M"]["qty"] == "3.00" and s["positions"]["M"]["avg_price"] == "0.4000"
    assert [(o["order_id"], o["remaining"]) for o in s["live_orders"]] == [("o1", "7.00")]
    assert s["fees"] == "0.001000" and s["last_run"]["run_id"] == "r1" and s["fills"] == 1
    assert main(["status", "--ledger", str(path)]) == 0
    assert "still running or killed" in capsys.readouterr().out
    assert main(["status", "--ledger", str(tmp_path / "none.db")]) == 1


def test_status_leaves_an_empty_file_alone(tmp_path: Path, capsys):
    """A read-only command: an empty file is refused, not turned into a ledger."""
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    assert main(["status", "--ledger", str(empty)]) == 1
    assert "not a ledger" in capsys.readouterr().out
    assert empty.stat().st_size == 0 and not Path(str(empty) + "-intents").exists()


def test_status_after_make_run_finds_the_simulator_runs_ledger(tmp_path: Path, capsys):
    """Regression (review): `make run` writes a new `sim-<stamp>` ledger beside ledger.path;
    `pmbot status` then said "no ledger" and nothing named the file. It now reads the newest
    one (saying so), and the run's summary names its ledger."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[ledger]\npath = '{tmp_path / 'pmbot.sqlite3'}'\n")
    old, new = tmp_path / "sim-20261124T1.sqlite3", tmp_path / "sim-20261125T1.sqlite3"
    for i, p in enumerate((old, new)):
        with Ledger(p) as led:
            led.start_run(f"r{i}", 1, "KalshiPort")
    import os

    os.utime(old, (1, 1))
    assert main(["status", "-c", str(cfg), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["last_run"]["run_id"] == "r1" and str(new) in out.err
    assert main(["status", "-c", str(cfg), "--ledger", str(tmp_path / "none.db")]) == 1
