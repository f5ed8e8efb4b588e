"""Planner: desired -> actions for a 30-market ladder, and writes per quote change.

Figures (baseline measured in the same run):
* plan time for the full ladder (60 quotes) at steady state and after an index move that
  reprices every quote, vs a naive cancel/replace diff;
* write operations per quote change over a seeded random walk of quote changes (price moves,
  size cuts and increases, pulls and re-adds), vs cancel/replace (a changed quote = cancel +
  create). Operations are what the venue's write budget charges (a batch costs per item);
  HTTP calls per change are reported too.
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.execution.planner import Plan, PlannerConfig, plan
from pmbot.strategy.inputs import DesiredQuote

N_MARKETS = 30
CFG = PlannerConfig(max_batch_create=20, max_batch_cancel=20)


def ladder(shift: int = 0, size: int = 500) -> list[DesiredQuote]:
    out = []
    for i in range(N_MARKETS):
        mid = 1000 + i * 250 + shift
        out.append(DesiredQuote(f"KXINX-B{i:02d}", Side.BID, mid - 200, size))
        out.append(DesiredQuote(f"KXINX-B{i:02d}", Side.ASK, mid + 200, size))
    return out


def live_from(desired: list[DesiredQuote]) -> list[LiveOrder]:
    return [
        LiveOrder(
            f"c{i}",
            d.ticker,
            d.side,
            d.price,
            d.qty,
            d.qty,
            OrderStatus.RESTING,
            order_id=f"o{i}",
            created_ns=i,
        )
        for i, d in enumerate(desired)
    ]


def cancel_replace(desired: list[DesiredQuote], live: list[LiveOrder], new_id) -> tuple[list, list]:
    """The baseline: keep exact matches, cancel every other order, create every other quote."""
    have = {(o.ticker, o.side, o.price, o.remaining): o for o in live}
    keep = set()
    creates = []
    for d in desired:
        k = (d.ticker, d.side, d.price, d.qty)
        if k in have:
            keep.add(k)
        else:
            creates.append((new_id(), d))
    cancels = [o for k, o in have.items() if k not in keep]
    return cancels, creates


def apply(p: Plan, live: dict[str, LiveOrder], ids) -> None:
    for c in p.cancels:
        del live[c.client_order_id]
    for d in p.decreases:
        live[d.client_order_id].remaining = d.reduce_to
    for a in p.amends:
        o = live[a.client_order_id]
        o.price, o.remaining = a.price, a.qty
    for c in p.creates:
        live[c.client_order_id] = LiveOrder(
            c.client_order_id,
            c.ticker,
            c.side,
            c.price,
            c.qty,
            c.qty,
            OrderStatus.RESTING,
            order_id=f"o-{c.client_order_id}",
            created_ns=next(ids),
        )


def walk(steps: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    cur = {(d.ticker, d.side): d for d in ladder()}
    pulled: dict[tuple[str, Side], DesiredQuote] = {}
    ctr = itertools.count(1_000_000)
    live = {o.client_order_id: o for o in live_from(list(cur.values()))}
    changes = ops = calls = base_ops = base_calls = 0
    for _ in range(steps):
        new = dict(cur)
        for key in rng.sample(sorted(cur.keys() | pulled.keys()), rng.randint(1, 6)):
            if key in pulled:
                new[key] = pulled.pop(key)  # re-add
                continue
            d = new[key]
            r = rng.random()
            if r < 0.70:
                step = rng.choice((-200, -100, 100, 200))
                new[key] = DesiredQuote(
                    d.ticker, d.side, max(100, min(9900, d.price + step)), d.qty
                )
            elif r < 0.85:
                new[key] = DesiredQuote(
                    d.ticker, d.side, d.price, max(100, d.qty - 100 * rng.randint(1, 3))
                )
            elif r < 0.95:
                new[key] = DesiredQuote(d.ticker, d.side, d.price, d.qty + 100 * rng.randint(1, 3))
            else:
                pulled[key] = new.pop(key)
        changes += sum(1 for k in cur.keys() | new.keys() if cur.get(k) != new.get(k))
        want = list(new.values())
        cancels, creates = cancel_replace(want, list(live.values()), lambda: "x")
        base_ops += len(cancels) + len(creates)
        base_calls += bool(cancels) + bool(creates)  # one batch each (<= 20 items here)
        p = plan(want, list(live.values()), lambda: f"n{next(ctr)}", config=CFG)
        ops += len(p.amends) + len(p.decreases) + len(p.creates) + len(p.cancels)
        calls += p.calls
        apply(p, live, ctr)
        cur = new
    return {
        "changes": changes,
        "ops": ops / changes,
        "calls": calls / changes,
        "base_ops": base_ops / changes,
        "base_calls": base_calls / changes,
    }


def main() -> None:
    args = parse_args(__doc__ or "", lambda p: p.add_argument("--steps", type=int, default=5000))
    rep = Reporter(args.json)
    base = ladder()
    live = live_from(base)
    moved = ladder(shift=100)
    ids = itertools.count()

    def new_id() -> str:
        return f"n{next(ids)}"

    t_steady = median_ns_per_op(lambda: plan(base, live, new_id, config=CFG), 1, args.repeat) / 1e3
    t_steady_b = median_ns_per_op(lambda: cancel_replace(base, live, new_id), 1, args.repeat) / 1e3
    rep.figure("plan_30_markets_steady", t_steady, "us", "cancel_replace_diff", t_steady_b)
    t_move = median_ns_per_op(lambda: plan(moved, live, new_id, config=CFG), 1, args.repeat) / 1e3
    t_move_b = median_ns_per_op(lambda: cancel_replace(moved, live, new_id), 1, args.repeat) / 1e3
    rep.figure("plan_30_markets_all_repriced", t_move, "us", "cancel_replace_diff", t_move_b)

    w = walk(args.steps, seed=7)
    rep.figure("write_ops_per_quote_change", w["ops"], "ops", "cancel_replace", w["base_ops"])
    rep.figure(
        "write_calls_per_quote_change",
        w["calls"],
        "calls",
        "cancel_replace_batched",
        w["base_calls"],
    )


if __name__ == "__main__":
    main()
