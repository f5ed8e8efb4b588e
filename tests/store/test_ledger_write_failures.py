"""The ledger keeps every order it logged through write failures (regressions from a review,
session 8). A new order is made durable by one append to <ledger>-intents and its request
leaves at once; its row reaches SQLite with the next transaction and the log is emptied
after that commit. A failed commit or insert used to forget the row (the next good commit
truncated the log), and a failed append left a fragment the next order's line was glued to
(unreadable on replay): after a kill -9, an order the venue holds was in neither place.
The failures are real (RLIMIT_FSIZE, a lock held by another connection), not mocks.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.store.ledger import Ledger

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE, SIGKILL")

T = "KXINX-26NOV24H1600-B5800"


def pending(coid: str) -> LiveOrder:
    return LiveOrder(
        coid, T, Side.BID, 5000, 100, 100, OrderStatus.PENDING, created_ns=1, updated_ns=1
    )


# a child process: its own ledger on argv[1], one order logger, then the failure
CHILD_HEAD = textwrap.dedent(
    """
    import os, resource, signal, sqlite3, sys
    from pmbot.core.orders import LiveOrder, OrderStatus, Side
    from pmbot.store.ledger import Ledger
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    path = sys.argv[1]
    def pending(c):
        return LiveOrder(c, "M", Side.BID, 5000, 100, 100, OrderStatus.PENDING,
                         created_ns=1, updated_ns=1)
    led = Ledger(path, run_id="r").open(exclusive=True)
    led.start_run("r", 0, "kalshi")
    """
)

FAILED_COMMIT = CHILD_HEAD + textwrap.dedent(
    """
    led.log_orders([pending("A")])            # durable in the log; the create request leaves
    # the disk fills up: the WAL cannot grow (a real write error, not a mock)
    wal = os.path.getsize(path + "-wal")
    resource.setrlimit(resource.RLIMIT_FSIZE, (wal, resource.RLIM_INFINITY))
    try:
        led.add_events([(2, "A", "create_ack", "")])   # e.g. OrderManager.flush_acks
    except sqlite3.Error as e:
        print("first commit failed:", e, flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    led.add_events([(3, "A", "create_ack", "")])       # the retry (flush_acks keeps its queue)
    print("log bytes after the retry:", os.path.getsize(led.intent_log_path), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_order_survives_a_failed_commit_and_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    r = subprocess.run(
        [sys.executable, "-c", FAILED_COMMIT, str(path)], capture_output=True, text=True, timeout=60
    )
    assert "first commit failed" in r.stdout
    with Ledger(path) as led:
        got = led.get_order("A")
        assert got is not None, "order A (sent to the venue) is in neither SQLite nor the log"


def test_order_survives_a_failed_insert_of_the_logged_rows(tmp_path: Path) -> None:
    """Same with the database locked by another process past the busy timeout (the failure
    is in the insert of the logged rows, before the COMMIT)."""
    path = tmp_path / "l.db"
    led = Ledger(path, run_id="r").open(exclusive=True)
    led.db.execute("PRAGMA busy_timeout=0")
    led.log_orders([pending("A")])  # its request leaves
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    with pytest.raises(sqlite3.OperationalError):
        led.add_events([(2, "A", "create_ack", "")])
    other.execute("ROLLBACK")
    other.close()
    led.log_orders([pending("B")])  # the next quote
    led.add_events([(3, "B", "create_ack", "")])  # commits fine
    os.close(led._log_fd)  # kill -9: nothing else runs
    led._log_fd = -1
    led._db.close()
    led._db = None
    with Ledger(path) as led2:
        assert led2.get_order("A") is not None, "order A is in neither SQLite nor the log"


TORN_APPEND = CHILD_HEAD + textwrap.dedent(
    """
    resource.setrlimit(resource.RLIMIT_FSIZE, (40, resource.RLIM_INFINITY))  # disk full
    try:
        led.log_orders([pending("A")])   # raises: A is never sent (correct)
    except OSError as e:
        print("append of A failed:", e, flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)  # space again
    led.log_orders([pending("B")])       # B is durable, its create request leaves
    print("log:", open(led.intent_log_path, "rb").read(), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # before B's row reaches SQLite
    """
)


def test_an_order_logged_after_a_failed_append_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    r = subprocess.run(
        [sys.executable, "-c", TORN_APPEND, str(path)], capture_output=True, text=True, timeout=60
    )
    assert "append of A failed" in r.stdout
    with Ledger(path) as led:
        got = led.get_order("B")
        assert got is not None, "order B was sent but the ledger lost it"


def test_order_survives_a_disk_full_inside_a_transaction(tmp_path: Path) -> None:
    """SQLITE_FULL in a transaction's body rolls it back by itself; the ledger's own
    ROLLBACK then raised "no transaction is active" and skipped putting the logged rows
    back pending: the next good commit emptied the log, and the order was lost."""
    path = tmp_path / "l.db"
    led = Ledger(path, run_id="r").open(exclusive=True)
    led.start_run("r", 0, "kalshi")
    led.log_orders([pending("A")])  # durable in the log; its request leaves
    db = led.db
    n = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count={n + 1}")  # the disk is (nearly) full
    with pytest.raises(sqlite3.OperationalError, match="full"):
        led.add_events([(2, "A", "create_ack", "x" * 20_000)])
    db.execute("PRAGMA max_page_count=1073741823")  # space again
    led.log_orders([pending("B")])
    led.add_events([(3, "B", "create_ack", "")])  # commits fine: the log is emptied
    os.close(led._log_fd)  # kill -9: nothing else runs
    led._log_fd = -1
    led._db.close()
    led._db = None
    with Ledger(path) as led2:
        assert led2.get_order("B") is not None
        assert led2.get_order("A") is not None, "order A is in neither SQLite nor the log"
