"""Backtest vs simulator: the same seeded flow, once live on the simulator's exchange with our
orders in it, once recorded without us and replayed through the backtester.

The "live" side is the simulator's pure exchange driven in-process (no sockets; the
end-to-end bot is not part of this test): the flow acts every second, our orders reach the
exchange `LAT` after the first index print, exactly as the runner schedules them. The flow
is seeded and non-reactive (its actions do not depend on the book), so the only difference
between the two worlds is our presence: the replay must give the same fills (price, side,
size, time) except where our fills changed what the crowd later did.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from pmbot.backtest.quoting import Quote, QuoteView, ScriptedQuoter
from pmbot.backtest.runner import RunConfig, Runner
from pmbot.backtest.sources import capture_sim
from pmbot.core.market import StrikeType
from pmbot.sim.exchange import Exchange
from pmbot.sim.index import SCALE, SyntheticIndex, et_ns
from pmbot.sim.markets import SimEvent, SimMarket

S = 1_000_000_000
DAY = date(2026, 6, 9)
T0 = et_ns(DAY, 15, 0)
END = et_ns(DAY, 15, 20)
LAT_MS = 25
TICKER = "KXINX-26JUN09H1600-B6000"
OURS = [("bid", 4800, 300), ("bid", 4600, 500), ("ask", 5200, 300), ("ask", 5400, 500)]


def exchange() -> Exchange:
    x = Exchange(seed=1)
    ev = SimEvent("KXINX-26JUN09H1600", "KXINX", "S&P", "", et_ns(DAY, 16, 0), True, "MECNET")
    m = SimMarket(TICKER, ev.event_ticker, "KXINX", StrikeType.BETWEEN, 5990 * SCALE, 6014 * SCALE + 9999,
                  "", "", "", T0 - S, T0 - S, et_ns(DAY, 16, 0))  # fmt: skip
    x.add_markets([ev], [m])
    for u in ("mm", "taker", "bot"):
        x.ledger.open(u, 10**12)
    return x


class Flow:
    """Seeded, non-reactive: makers post around 50c, cancel their own orders, takers sweep."""

    def __init__(self, x: Exchange, seed: int) -> None:
        self.x, self.rng, self.ids = x, random.Random(seed), []

    def step(self, ts: int, dt: float) -> None:
        r = self.rng
        for _ in range(3):
            side = "bid" if r.random() < 0.5 else "ask"
            px = 5000 - 100 * r.randint(1, 5) if side == "bid" else 5000 + 100 * r.randint(1, 5)
            o = self.x.create("mm", ticker=TICKER, side=side, price=px, count=100 * r.randint(1, 10),
                              tif="good_till_canceled", stp="maker", ts_ns=ts)  # fmt: skip
            self.ids.append(o.order_id)
        if self.ids and r.random() < 0.8:
            oid = self.ids[r.randrange(len(self.ids))]
            o = self.x.engine.orders.get(oid)
            if o is not None and o.status == "resting":
                self.x.cancel("mm", oid, ts)
        if r.random() < 0.5:
            side = "bid" if r.random() < 0.5 else "ask"
            self.x.create("taker", ticker=TICKER, side=side, price=5600 if side == "bid" else 4400,
                          count=100 * r.randint(1, 12), tif="immediate_or_cancel", stp="maker", ts_ns=ts)  # fmt: skip


def live_fills(seed: int) -> list[tuple[int, int, int, int]]:
    x = exchange()
    idx = SyntheticIndex(seed, DAY, 6000.0)
    flow = Flow(x, seed)
    out: list[tuple[int, int, int, int]] = []
    t, placed = T0, False
    while t <= END:
        x.tick(t, idx.level_at)
        flow.step(t, 1.0)
        if not placed and t + S > T0 + LAT_MS * 1_000_000:
            for side, px, n in OURS:
                x.create("bot", ticker=TICKER, side=side, price=px, count=n, tif="good_till_canceled",
                         stp="taker_at_cross", post_only=True, ts_ns=T0 + LAT_MS * 1_000_000)  # fmt: skip
            placed = True
        for kind, p in x.drain():
            if kind == "trade" and p.maker.user == "bot":
                out.append((p.ts_ns, 1 if p.maker.is_bid else -1, p.price, p.count))
        t += S
    return out


def replay_fills(seed: int) -> list[tuple[int, int, int, int]]:
    x = exchange()
    idx = SyntheticIndex(seed, DAY, 6000.0)
    tape = capture_sim(x, idx, Flow(x, seed).step, T0, END)
    first = {"done": False}

    def fn(v: QuoteView) -> list[Quote]:
        if not first["done"]:
            first["done"] = True
            return [Quote(TICKER, s, p, n) for s, p, n in OURS]
        return [Quote(t, o.side, o.price, o.remaining) for t, os in v.resting.items() for o in os]

    r = Runner(
        tape,
        ScriptedQuoter(fn),
        RunConfig(entry_latency=LAT_MS, md_latency=0, requote_on_book=False),
    )
    j = r.run()
    return [(f[0], f[2], f[3], f[4]) for f in j.fills]


def test_replay_matches_the_simulator() -> None:
    """Every live fill is replayed at the same side, price and time; sizes agree >= 85 %.

    Measured on these seeds: seeds 1 and 2 agree exactly in size per (side, price) (the replay
    may split one live match into several prints of the same sweep); seed 3 has one extra
    replay fill: live, our 3.00 filled at 4800 left 3.00 more crowd resting there, which
    absorbed a later sweep; the recording (made without us) shows that sweep reaching our
    4600 bid. That is rule 5 of `matching` (no market impact), not a queue error.
    """
    agree = total = 0
    for seed in (1, 2, 3):
        live, replay = live_fills(seed), replay_fills(seed)
        assert live, "the scenario must fill us"
        for ts, s, p, _ in live:
            assert any(abs(t2 - ts) <= S and s2 == s and p2 == p for t2, s2, p2, _ in replay), (
                seed,
                ts,
                s,
                p,
            )
        by: Counter[tuple[int, int]] = Counter()
        rb: Counter[tuple[int, int]] = Counter()
        for _, s, p, n in live:
            by[(s, p)] += n
        for _, s, p, n in replay:
            rb[(s, p)] += n
        for k in by.keys() | rb.keys():
            total += max(by[k], rb[k])
            agree += min(by[k], rb[k])
        assert (
            sorted(live)[0][:3] == sorted(replay)[0][:3]
        )  # nothing diverges before the first fill
    assert agree / total >= 0.85, (agree, total)
