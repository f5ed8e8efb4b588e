"""OrderManager overhead per sync, in-process: plan + ledger intents (SQLite WAL on disk) +
state updates + ack rows, against a venue that answers at once (no network, no signing).

Figures: p50/p99 µs of `sync` for a 30-market ladder (60 quotes) when every quote moves
(60 amends) and when one market moves (2 amends), against the same manager configured for
cancel/replace (amend_reprice=False) in the same run; and write calls per quote change.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _bench import Reporter, parse_args
from pmbot.clock import ManualClock
from pmbot.core.events import Fill, OrderUpdate, PositionSnapshot
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.requests import (
    AmendOrder,
    CancelAck,
    CancelOrder,
    CreateOrder,
    DecreaseOrder,
    OrderAck,
)
from pmbot.core.state import TradingState
from pmbot.errors import VenueError
from pmbot.execution.order_manager import OrderManager, OrderManagerConfig
from pmbot.store.ledger import Ledger
from pmbot.strategy.inputs import DesiredQuote


class InstantVenue:
    """Acknowledges everything immediately; keeps nothing but counters."""

    max_batch_create = 100
    max_batch_cancel = 100

    def __init__(self) -> None:
        self.ids = itertools.count()

    async def create_order(self, req: CreateOrder) -> OrderAck:
        return OrderAck(f"o{next(self.ids)}", req.client_order_id, 0, 0, req.qty)

    async def batch_create(self, reqs: Sequence[CreateOrder]) -> list[OrderAck | VenueError]:
        return [OrderAck(f"o{next(self.ids)}", r.client_order_id, 0, 0, r.qty) for r in reqs]

    async def cancel(self, req: CancelOrder) -> CancelAck:
        return CancelAck(req.order_id, 0, 0)

    async def batch_cancel(self, reqs: Sequence[CancelOrder]) -> list[CancelAck | VenueError]:
        return [CancelAck(r.order_id, 0, 0) for r in reqs]

    async def amend(self, req: AmendOrder) -> OrderAck:
        return OrderAck(req.order_id, req.client_order_id, 0, None, None)

    async def decrease(self, req: DecreaseOrder) -> OrderAck:
        return OrderAck(req.order_id, req.client_order_id, 0, None, req.reduce_to)

    async def list_orders(self, **_: object) -> list[OrderUpdate]:
        return []

    async def get_fills(self, **_: object) -> list[Fill]:
        return []

    async def get_positions(self) -> list[PositionSnapshot]:
        return []

    async def get_balance(self) -> int:
        return 0

    async def create_order_group(self, contracts_limit: int) -> str:
        return "g"

    async def trigger_order_group(self, group_id: str) -> None:
        return None

    async def delete_order_group(self, group_id: str) -> None:
        return None


def ladder(shift: int, moved: int) -> list[DesiredQuote]:
    out = []
    for i in range(30):
        mid = 1000 + i * 250
        for j, (side, off) in enumerate(((Side.BID, -200), (Side.ASK, 200))):
            s = shift if 2 * i + j < moved else 0
            out.append(DesiredQuote(f"M{i:02d}", side, mid + off + s, 500))
    return out


async def run(amend: bool, moved: int, n: int) -> tuple[float, float, float]:
    clock = ManualClock()
    with tempfile.TemporaryDirectory() as d, Ledger(Path(d) / "b.db") as led:
        cfg = OrderManagerConfig(amend_reprice=amend, max_new_ops_per_sync=-1)
        om = OrderManager(InstantVenue(), TradingState(), led, clock, config=cfg)  # type: ignore[arg-type]
        await om.start()
        await om.sync(ladder(0, 0))
        w0 = om.stats.write_calls
        ts = []
        ops = 0
        for k in range(n):
            q = ladder(100 if k % 2 == 0 else 0, moved)
            t = time.perf_counter_ns()
            p = await om.sync(q)
            ts.append((time.perf_counter_ns() - t) / 1e3)
            assert p is not None
            ops += len(p.amends) + len(p.decreases) + len(p.creates) + len(p.cancels)
        ts.sort()
        assert all(o.status is OrderStatus.RESTING for o in om.state.live_orders())
        changes = n * moved
        return (
            ts[len(ts) // 2],
            ts[int(len(ts) * 0.99)],
            (om.stats.write_calls - w0) / changes,
            ops / changes,
        )


def main() -> None:
    args = parse_args(__doc__ or "", lambda p: p.add_argument("--n", type=int, default=300))
    rep = Reporter(args.json)
    for moved, name in ((60, "ladder_all_moved"), (2, "one_market_moved")):
        a50, a99, aw, ao = asyncio.run(run(True, moved, args.n))
        b50, b99, bw, bo = asyncio.run(run(False, moved, args.n))
        rep.figure(f"om_sync_{name}_p50", a50, "us", "cancel_replace", b50)
        rep.figure(f"om_sync_{name}_p99", a99, "us", "cancel_replace", b99)
        rep.figure(f"om_write_ops_per_change_{name}", ao, "ops", "cancel_replace", bo)
        rep.figure(f"om_write_calls_per_change_{name}", aw, "calls", "cancel_replace_batched", bw)


if __name__ == "__main__":
    main()
