"""Ledger: write-before-send rows, fill dedup, crash safety (kill -9 mid-transaction), recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pmbot.core.events import Fill
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.state import TradingState
from pmbot.store.ledger import Ledger

T = "KXINX-26NOV24H1600-B5800"


def pending(coid, price=5000, qty=1000, side=Side.BID, ts=1):
    return LiveOrder(
        coid, T, side, price, qty, qty, OrderStatus.PENDING, created_ns=ts, updated_ns=ts
    )


def fill(tid, oid, side=Side.BID, price=5000, qty=300, fee=1750, ts=10):
    return Fill(tid, oid, T, side, price, qty, fee, False, ts)


def test_roundtrip_and_recovery(tmp_path: Path):
    path = tmp_path / "l.db"
    state = TradingState()
    with Ledger(path, run_id="r1") as led:
        led.start_run("r1", 0, "sim")
        a, b, c = pending("a"), pending("b", 5200, side=Side.ASK), pending("c", 4000)
        led.add_orders([a, b, c], post_only=[True, True, False])
        for o in (a, b, c):
            state.register_order(o)
        state.set_order_status("a", OrderStatus.RESTING, 2, order_id="oa")
        state.set_order_status("b", OrderStatus.RESTING, 2, order_id="ob")
        state.set_order_status("c", OrderStatus.REJECTED, 2)
        led.update_orders([state.orders["a"], state.orders["b"], state.orders["c"]], "ack")
        inserted = []
        for f in (fill("t1", "oa"), fill("t2", "ob", Side.ASK, 5200, 200), fill("t1", "oa")):
            state.apply(f)
            inserted.append(led.add_fill(f, state.positions[T]))
        assert inserted == [True, True, False]
        assert led.fill_count() == 2 and state.duplicate_fills == 1
        led.update_orders([state.orders["a"], state.orders["b"]], "fill")
        expect_pos = (
            state.positions[T].qty,
            state.positions[T].cost,
            state.positions[T].realized,
            state.positions[T].fees,
        )
    with Ledger(path) as led:
        s2 = TradingState()
        rec = led.recover(s2)
        assert rec.live_orders == 2 and rec.fills == 2
        p = s2.positions[T]
        assert (p.qty, p.cost, p.realized, p.fees) == expect_pos
        assert {o.client_order_id: (o.remaining, o.filled, o.status) for o in s2.live_orders()} == {
            "a": (700, 300, OrderStatus.RESTING),
            "b": (800, 200, OrderStatus.RESTING),
        }
        assert s2.order_by_id("oa").client_order_id == "a"
        assert led.positions()[T].qty == p.qty
        assert [k for _, k, _ in led.order_events("a")] == ["create_sent", "ack", "fill"]
        # a duplicate fill after restart is still ignored
        assert led.add_fill(fill("t2", "ob", Side.ASK, 5200, 200)) is False
        assert led.known_ids() == ({"a", "b", "c"}, {"oa", "ob"})
        assert led.known_among(["a", "zz"], ["ob", "oz"]) == ({"a"}, {"ob"})
        assert led.fills_among([("t1", "oa"), ("t9", "oa")]) == {("t1", "oa")}


def test_settlement_replayed(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as led:
        led.add_fill(fill("t1", "o1"))
        led.add_settlement(T, True, 5000 * 300 // 1, 99)
    with Ledger(tmp_path / "l.db") as led:
        s = TradingState()
        led.recover(s)
        assert s.positions[T].qty == 0 and s.positions[T].realized == (10_000 - 5000) * 300


CHILD = textwrap.dedent("""
    import os, signal, sys
    from pmbot.core.events import Fill
    from pmbot.core.orders import LiveOrder, OrderStatus, Side
    from pmbot.store.ledger import Ledger
    led = Ledger(sys.argv[1]).open()
    T = "M"
    for i in range(50):
        o = LiveOrder(f"c{i}", T, Side.BID, 5000, 100, 100, OrderStatus.PENDING, created_ns=i)
        led.add_orders([o])
        o.status, o.order_id = OrderStatus.RESTING, f"o{i}"
        led.update_order(o, "ack")
        led.add_fill(Fill(f"t{i}", f"o{i}", T, Side.BID, 5000, 10, 0, False, i))
    # a transaction in progress when the process is killed must leave no trace
    db = led.db
    db.execute("BEGIN")
    db.execute("INSERT INTO fills (trade_id, order_id, ticker, side, price, qty, fee, is_taker, ts_ns)"
               " VALUES ('tx','ox','M','bid',1,1,0,0,0)")
    db.execute("UPDATE orders SET status='canceled'")
    os.kill(os.getpid(), signal.SIGKILL)
""")


def killed_child(code: str, path: Path) -> None:
    """Run `code` on the ledger at `path` in a child process that ends by SIGKILL."""
    r = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )
    assert r.returncode == -signal.SIGKILL, r.stderr


def test_kill_9_mid_transaction(tmp_path: Path):
    path = tmp_path / "crash.db"
    killed_child(CHILD, path)
    with Ledger(path) as led:
        s = TradingState()
        rec = led.recover(s)
        assert rec.fills == 50 and rec.live_orders == 50
        assert not led.has_fill("tx", "ox")
        assert s.positions["M"].qty == 500
        assert all(o.status is OrderStatus.RESTING and o.filled == 0 for o in s.live_orders())


def test_provisional_fill_confirmed_or_voided_and_recovery_skips_voided(tmp_path: Path):
    """A FAILED trade rolls back in the ledger: gone from fills/recovery, still a duplicate."""
    from dataclasses import replace

    from pmbot.core.events import FillVoided

    path = tmp_path / "l.db"
    state = TradingState()
    with Ledger(path) as led:
        f1 = replace(fill("t1", "oa", qty=500, fee=0), provisional=True)
        f2 = replace(fill("t2", "oa", side=Side.ASK, price=5600, qty=300, fee=0), provisional=True)
        for f in (f1, f2):
            assert led.add_fill(f)
            state.apply(f)
        assert led.fill_status("t1", "oa") == "provisional"
        assert led.confirm_fill("t1", "oa", 20) and not led.confirm_fill("t1", "oa", 21)
        state.apply(FillVoided("t2", "oa", 30))
        assert led.void_fill("t2", "oa", state.positions[T], 30)
        assert not led.void_fill("t2", "oa", ts_ns=31) and not led.confirm_fill("t2", "oa", 32)
        assert not led.add_fill(f2)  # a late copy of the voided fill is still a duplicate
        assert [f.trade_id for f in led.fills()] == ["t1"] and led.fill_count() == 1
        assert led.fill_status_counts() == {"confirmed": 1, "voided": 1}
        p = state.positions[T]
        assert (p.qty, p.cost, p.realized) == (500, 500 * 5000, 0)  # the close is undone exactly
        assert led.positions()[T].qty == 500
    fresh = TradingState()
    with Ledger(path) as led:
        led.recover(fresh)
    assert fresh.positions[T].qty == 500 and fresh.positions[T].realized == 0


async def test_checkpoint_from_a_worker_thread(tmp_path: Path):
    import asyncio

    with Ledger(tmp_path / "l.db") as led:
        for i in range(200):
            led.add_orders([pending(f"c{i}", ts=i)])
        assert led.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
        pages, copied = await asyncio.to_thread(led.checkpoint)
        assert pages > 0 and copied == pages
        led.add_fill(fill("t1", "o1"))  # the hot connection keeps working
    with Ledger(tmp_path / "l.db") as led:
        assert len(led.live_orders()) == 200 and led.fill_count() == 1


LOG_CHILD = textwrap.dedent("""
    import os, signal, sys
    from pmbot.core.orders import LiveOrder, OrderStatus, Side
    from pmbot.store.ledger import Ledger
    led = Ledger(sys.argv[1], run_id="r").open()
    led.add_orders([LiveOrder("old", "M", Side.BID, 5000, 100, 100, OrderStatus.PENDING,
                              created_ns=1, updated_ns=1)])
    for i in range(3):  # logged only: no statement ran after them
        o = LiveOrder(f"c{i}", "M", Side.ASK, 5100 + i, 200, 200, OrderStatus.PENDING,
                      created_ns=10 + i, updated_ns=10 + i)
        led.log_orders([o], post_only=False, order_group_id="g1")
    with open(led.intent_log_path, "ab") as f:
        f.write(b"o1\\tc9\\t\\tM\\tbid\\t50")  # a torn write: its request never left
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_orders_only_in_the_intent_log_survive_kill_9(tmp_path: Path):
    """log_orders is the hot path's write-before-send: after a kill -9 with the rows still
    only in the log, opening the ledger inserts them (PENDING, with their create_sent
    event) and empties the log; a torn last line is dropped."""
    path = tmp_path / "crash.db"
    killed_child(LOG_CHILD, path)
    assert os.path.getsize(str(path) + "-intents") > 0
    with Ledger(path) as led:
        assert os.path.getsize(led.intent_log_path) == 0
        s = TradingState()
        rec = led.recover(s)
        assert rec.live_orders == 4
        got = {o.client_order_id: o for o in s.live_orders()}
        assert sorted(got) == ["c0", "c1", "c2", "old"]
        c1 = got["c1"]
        assert (c1.ticker, c1.side, c1.price, c1.initial, c1.remaining, c1.status) == (
            "M",
            Side.ASK,
            5101,
            200,
            200,
            OrderStatus.PENDING,
        )
        assert (c1.created_ns, c1.order_id) == (11, None)
        assert led.order_events("c1") == [(11, "create_sent", "")]
        row = led.db.execute(
            "SELECT post_only, order_group_id, run_id FROM orders WHERE client_order_id='c1'"
        ).fetchone()
        assert row == (0, "g1", "r")
    with Ledger(path) as led:  # opening again inserts nothing twice
        assert len(led.live_orders()) == 4 and len(led.order_events("c0")) == 1


def test_logged_orders_reach_sqlite_before_any_statement_and_the_log_empties(tmp_path: Path):
    path = tmp_path / "l.db"
    with Ledger(path, run_id="r") as led:
        log = Path(led.intent_log_path)
        a, b = pending("a"), pending("b", 5100)
        led.log_orders([a, b])
        assert log.stat().st_size > 0 and led._db is not None
        # nothing in SQLite yet (read past the ledger's own connection)
        assert led._db.execute("SELECT COUNT(*) FROM orders").fetchone() == (0,)
        a.status, a.order_id = OrderStatus.RESTING, "oa"
        led.update_order(a, "create_ack")  # a statement on a logged order: inserted first
        assert led.get_order("a").status is OrderStatus.RESTING
        assert led.get_order("b").status is OrderStatus.PENDING
        assert [k for _, k, _ in led.order_events("a")] == ["create_sent", "create_ack"]
        assert log.stat().st_size == 0
        c = pending("c")
        led.log_orders([c])
        assert [o.client_order_id for o in led.live_orders()] == ["a", "b", "c"]
        assert log.stat().st_size == 0
        led.log_orders([pending("d")])
    # a clean close inserts what is left and leaves the log empty
    assert log.stat().st_size == 0
    with Ledger(path) as led:
        assert led.get_order("d") is not None


def test_a_rolled_back_transaction_keeps_logged_orders_pending(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as led:
        led.log_orders([pending("a")])
        try:
            with led.transaction() as db:
                db.execute("SELECT 1")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert Path(led.intent_log_path).stat().st_size > 0  # still only in the log
        with led.transaction():  # inside a transaction, logged rows are visible at once
            led.log_orders([pending("b")])
            assert led.get_order("b") is not None
        assert {o.client_order_id for o in led.live_orders()} == {"a", "b"}
        assert Path(led.intent_log_path).stat().st_size == 0


def test_the_intent_log_refuses_a_field_it_could_not_read_back(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as led:
        bad = LiveOrder("x\ty", T, Side.BID, 5000, 1, 1, OrderStatus.PENDING)
        with pytest.raises(ValueError, match="tab or line break"):
            led.log_orders([bad])
        assert led.live_orders() == []


def test_a_second_opener_leaves_the_running_bots_intent_log_alone(tmp_path: Path):
    """`pmbot status` beside a running bot: the second connection neither inserts nor
    empties the bot's logged lines (it could cut a line the bot is writing)."""
    path = tmp_path / "l.db"
    with Ledger(path) as bot:
        bot.log_orders([pending("a")])
        size = Path(bot.intent_log_path).stat().st_size
        with Ledger(path) as other:
            assert other.live_orders() == []
            with pytest.raises(RuntimeError, match="intent log"):
                other.log_orders([pending("b")])
        assert Path(bot.intent_log_path).stat().st_size == size
        assert [o.client_order_id for o in bot.live_orders()] == ["a"]


def test_a_fill_voided_after_its_market_settled_keeps_the_position_closed(tmp_path) -> None:
    """Regression (review): a provisional fill voided after its market settled rebuilt the
    position from the fills that stand and ignored the settlement: live state (and the
    positions row) showed an open position and lost the settled P&L, while a restart, which
    replays fills then settlements, had it closed."""
    from pmbot.core.events import Fill, FillVoided
    from pmbot.core.orders import Side
    from pmbot.core.state import TradingState
    from pmbot.store.ledger import Ledger

    t, path, st = "POLY-MKT", tmp_path / "l.db", TradingState()
    with Ledger(path) as led:
        a = Fill("t1", "o1", t, Side.BID, 4000, 1000, 0, False, 10)  # final
        b = Fill("t2", "o2", t, Side.BID, 4000, 500, 0, False, 20, provisional=True)
        for f in (a, b):
            st.apply(f)
            led.add_fill(f, st.positions[t])
        pnl = st.settle_position(t, True)  # the market resolves YES
        led.add_settlement(t, True, pnl or 0, 30, st.positions[t])
        st.apply(FillVoided("t2", "o2", 40))  # then the MATCHED trade FAILS on chain
        led.void_fill("t2", "o2", st.positions.get(t), 40)
        live, row = st.positions[t], led.positions()[t]
    rec = TradingState()
    with Ledger(path) as led:
        led.recover(rec)
    back = rec.positions[t]
    assert (live.qty, live.realized) == (row.qty, row.realized) == (back.qty, back.realized)
    assert (back.qty, back.realized) == (0, 10 * 6 * 100_000)  # 10 contracts x $0.60
    assert st.realized_pnl() == rec.realized_pnl()


def test_a_ledger_from_a_newer_pmbot_is_refused(tmp_path) -> None:
    """The schema version was written but never read: a ledger of a later pmbot would have
    been opened, misread and written to by this one."""
    import sqlite3

    from pmbot.errors import LedgerTooNew
    from pmbot.store.ledger import Ledger
    from pmbot.store.schema import SCHEMA_VERSION

    path = tmp_path / "l.db"
    with Ledger(path):
        pass
    with Ledger(path):  # its own version opens again
        pass
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(LedgerTooNew, match="newer pmbot"):
        Ledger(path).open()
