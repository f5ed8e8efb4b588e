"""Ledger hot-path writes: one order intent (before send), its ack, one fill with position.

WAL + synchronous=NORMAL (the default, durable against kill -9) against the baseline
synchronous=FULL (an fsync per commit, durable against power loss) in the same run.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.core.events import Fill
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.positions import Position
from pmbot.store.ledger import Ledger


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


def main() -> None:
    args = parse_args(__doc__ or "")
    rep = Reporter(args.json)
    normal = cycle_ns("NORMAL", args.repeat) / 1e3
    full = cycle_ns("FULL", args.repeat) / 1e3
    rep.figure("ledger_write_txn_wal_normal", normal, "us", "synchronous_full", full)


if __name__ == "__main__":
    main()
