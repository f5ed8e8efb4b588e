"""Ledger hot-path writes: one order intent (before send), its ack, one fill with position.

WAL + synchronous=NORMAL (the default, durable against kill -9) against the baseline
synchronous=FULL (an fsync per commit, durable against power loss) in the same run.

The write-before-send of a new order on the quote loop's path: `log_orders` (one append to
the intent log; the SQLite rows follow with the next statement, off the path) against the
baseline `add_orders` (a SQLite transaction), each timed alone; warm (back to back) and
cold (one every 10 ms with the CPU caches walked over in between, as in a live decision
that follows a quiet spell). Medians.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.core.events import Fill
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.positions import Position
from pmbot.store.ledger import Ledger

TICKER = "KXINX-26NOV25H1600-B7612"


def cycle_ns(sync: str, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as d, Ledger(Path(d) / "b.db", synchronous=sync) as led:
        ids = itertools.count()
        pos = Position("M")

        def one() -> None:
            i = next(ids)
            o = LiveOrder(f"c{i}", "M", Side.BID, 5000, 100, 100, OrderStatus.PENDING, created_ns=i)
            led.add_orders([o])
            o.status, o.order_id = OrderStatus.RESTING, f"o{i}"
            led.update_order(o, "create_ack")
            pos.apply_fill(1, 5000, 10, 0)
            led.add_fill(Fill(f"t{i}", f"o{i}", "M", Side.BID, 5000, 10, 0, False, i), pos)

        return median_ns_per_op(one, 3, repeat, min_time=0.2)


def intent_ns(logged: bool, *, cold: bool, n: int) -> float:
    """Median ns of one new order's write-before-send; the answer's commit (which inserts
    logged rows and empties the log) runs untimed after each."""
    junk = list(range(300_000)) if cold else []
    with tempfile.TemporaryDirectory() as d, Ledger(Path(d) / "b.db", run_id="r") as led:
        write: Callable[..., None] = led.log_orders if logged else led.add_orders
        out = []
        for i in range(n):
            o = LiveOrder(
                f"{i:08d}-7d1c-4c1e-9a51-3f0c2b8e6a11",
                TICKER,
                Side.BID,
                5000,
                100,
                100,
                OrderStatus.PENDING,
                created_ns=i,
            )
            if cold:
                time.sleep(0.01)
                sum(junk)  # evicts what the write left in the caches
            t0 = time.perf_counter_ns()
            write([o], post_only=True, order_group_id="g")
            out.append(time.perf_counter_ns() - t0)
            o.status, o.order_id = OrderStatus.RESTING, f"o{i}"
            led.update_order(o, "create_ack")
        return statistics.median(out[5:])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    rep = Reporter(args.json)
    normal = cycle_ns("NORMAL", args.repeat) / 1e3
    full = cycle_ns("FULL", args.repeat) / 1e3
    rep.figure("ledger_write_txn_wal_normal", normal, "us", "synchronous_full", full)
    for cold, n in ((False, 2000), (True, 150)):
        tag = "cold" if cold else "warm"
        log_us = intent_ns(True, cold=cold, n=n) / 1e3
        txn_us = intent_ns(False, cold=cold, n=n) / 1e3
        rep.figure(
            f"ledger_new_order_intent_log_{tag}", log_us, "us", f"sqlite_commit_{tag}", txn_us
        )


if __name__ == "__main__":
    main()
