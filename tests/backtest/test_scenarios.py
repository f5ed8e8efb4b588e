"""Hand-built scenarios with known answers: queue position, cancels ahead, settlement, fees."""

from __future__ import annotations

from fractions import Fraction

import pytest

from pmbot.backtest.quoting import Quote, QuoteView, ScriptedQuoter
from pmbot.backtest.runner import RunConfig, Runner
from pmbot.backtest.tape import TapeBuilder
from pmbot.core.market import FeeSchedule, FeeType, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid

S = 1_000_000_000
T0 = 1_781_000_000 * S  # a weekday, 2026-06-09 10:13 UTC
TICKER = "EVT-T100"


def spec(fees: FeeSchedule | None = None) -> MarketSpec:
    return MarketSpec(TICKER, "EVT", "SER", StrikeType.GREATER_OR_EQUAL, 100.0, None,
                      PriceGrid.linear_cent(), fees or FeeSchedule(), T0 + 3600 * S)  # fmt: skip


def bidder(price: int, size: int) -> ScriptedQuoter:
    """Bid `size` at `price` until that much is bought, nothing else."""

    def fn(v: QuoteView) -> list[Quote]:
        left = size - v.positions.get(TICKER, 0)
        return [Quote(TICKER, "bid", price, left)] if left > 0 else []

    return ScriptedQuoter(fn)


def base(b: TapeBuilder) -> None:
    b.index(T0, 100.5)
    b.snapshot(T0, TICKER, yes=[(4000, 500)], no=[(5000, 300)])  # bid 0.40 x5, ask 0.50 x3


def run(b: TapeBuilder, q: ScriptedQuoter, **kw: object) -> Runner:
    r = Runner(b.build(), q, RunConfig(entry_latency=10, md_latency=0, **kw))  # type: ignore[arg-type]
    r.run()
    return r


def test_fill_after_exactly_the_queue_ahead_trades() -> None:
    b = TapeBuilder([spec()])
    base(b)
    # we join at t0 + 10 ms behind 5.00 contracts at 0.40
    b.trade(T0 + 1 * S, TICKER, 4000, 300, taker_buys_yes=False)
    b.delta(T0 + 1 * S, TICKER, True, 4000, -300)
    b.delta(T0 + 2 * S, TICKER, True, 4000, 100)  # joins behind us
    b.trade(T0 + 3 * S, TICKER, 4000, 200, taker_buys_yes=False)  # exactly the rest ahead
    b.delta(T0 + 3 * S, TICKER, True, 4000, -200)
    r_before = run(b, bidder(4000, 200))
    assert r_before.j.fills == []  # the queue ahead is gone, we are first, nothing traded us yet
    b.trade(T0 + 4 * S, TICKER, 4000, 150, taker_buys_yes=False)  # 1.50 contracts print
    b.delta(T0 + 4 * S, TICKER, True, 4000, -150)  # recorded: the crowd lost 1.50
    b.index(T0 + 3600 * S, 101.0)  # settles YES
    r = run(b, bidder(4000, 200))
    assert [(f[0], f[2], f[3], f[4], f[6]) for f in r.j.fills] == [(T0 + 4 * S, 1, 4000, 150, 0)]
    # settlement pays exactly: 1.50 YES bought at 0.40, worth $1 each, no maker fee
    assert r.pos[0].qty == 0
    assert r.pos[0].realized == 150 * (10_000 - 4000) == 900_000  # $0.90
    assert r.cash == 900_000 and r.fees == 0
    assert r.j.settlements == [("EVT", 101.0, T0 + 3600 * S)]


@pytest.mark.parametrize(
    ("model", "ahead_after"), [("prorata", 300), ("front", 100), ("back", 400)]
)
def test_cancels_ahead_by_model(model: str, ahead_after: int) -> None:
    b = TapeBuilder([spec()])
    base(b)
    b.delta(T0 + 1 * S, TICKER, True, 4000, 300)  # behind us: ahead 500, us 200, behind 300
    # cancels, no trade: prorata takes 4.00 x 500/800 = 2.50 ahead, whole contracts: 2.00
    b.delta(T0 + 2 * S, TICKER, True, 4000, -400)
    # a print of exactly the remaining queue ahead, then one of 100
    b.trade(T0 + 3 * S, TICKER, 4000, ahead_after, taker_buys_yes=False)
    b.delta(T0 + 3 * S, TICKER, True, 4000, -ahead_after)
    r = run(b, bidder(4000, 200), cancel_model=model)
    assert r.j.fills == []
    b.trade(T0 + 4 * S, TICKER, 4000, 100, taker_buys_yes=False)
    b.delta(T0 + 4 * S, TICKER, True, 4000, -100)
    r = run(b, bidder(4000, 200), cancel_model=model)
    assert [f[4] for f in r.j.fills] == [100]


def test_trade_through_fills_first_and_settlement_no_pays() -> None:
    fees = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1))
    b = TapeBuilder([spec(fees)])
    base(b)
    # we bid 0.45 (alone at the level); a seller prints 4.00 at 0.40: we are hit first
    b.trade(T0 + 5 * S, TICKER, 4000, 400, taker_buys_yes=False)
    b.delta(T0 + 5 * S, TICKER, True, 4000, -400)
    b.index(T0 + 3600 * S, 99.99)  # settles NO
    r = run(b, bidder(4500, 300))
    assert [(f[3], f[4], f[6]) for f in r.j.fills] == [(4500, 300, 0)]
    fee = fees.fee(300, 4500, maker=True)
    assert fee == 13_000  # 0.0175 * 3 * 0.45 * 0.55 = $0.012994, rounded up to $0.0130
    assert r.fees == fee
    assert r.cash == -300 * 4500  # paid $1.35, settlement paid nothing
    assert r.pos[0].net_pnl == -1_350_000 - fee


def test_post_only_cross_is_rejected() -> None:
    b = TapeBuilder([spec()])
    base(b)
    b.index(T0 + 3600 * S, 101.0)
    r = run(b, bidder(5000, 100))  # at the recorded ask: would cross
    assert r.j.fills == [] and r.j.rejects >= 1
