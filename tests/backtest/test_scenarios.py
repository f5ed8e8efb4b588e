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


# ---- cases from the session-6 review ------------------------------------------------------
MS = 1_000_000


def _our_resting(r: Runner) -> list[tuple[str, int, int]]:
    return [(o.order_id, o.price, o.remaining) for o in r.shadow.engine.live.get("us", {}).values()]


def test_more_size_at_the_same_price_goes_behind_the_crowd_not_in_front() -> None:
    from pmbot.backtest.matching import Shadow
    from pmbot.core.book import BinaryBook

    sp = spec()
    book = BinaryBook(sp.grid, sp.ticker)
    book.apply_delta(True, 4000, 1000)  # 10.00 displayed at 0.40
    sh = Shadow([sp], [book])
    oid, _ = sh.place(0, 0, True, 4000, 100)
    assert sh.queue_ahead(oid) == 1000
    ok, fills = sh.amend(1, oid, 4000, 200)  # top up 1.00 -> 2.00 at the same price
    assert ok and fills == []
    assert sh.queue_ahead(oid) == 1000  # the back of the level, behind the same 10.00
    assert sh._crowd_at(0, True, 4000) == 1000  # the crowd is still the displayed size
    f = sh.on_trade(2, 0, False, 4000, 1000)  # a 10.00 print takes the crowd ahead, not us
    assert f == [] and sh.queue_ahead(oid) == 0


def test_an_identical_snapshot_keeps_our_place_in_the_queue() -> None:
    def scenario(resend: bool) -> Runner:
        b = TapeBuilder([spec()])
        base(b)  # we join behind 5.00 at 0.40
        if resend:  # the same book sent again (a reconnect's snapshot)
            b.snapshot(T0 + 1 * S, TICKER, yes=[(4000, 500)], no=[(5000, 300)])
        b.trade(T0 + 2 * S, TICKER, 4000, 100, taker_buys_yes=False)
        b.delta(T0 + 2 * S, TICKER, True, 4000, -100)
        return run(b, bidder(4000, 200))

    for resend in (False, True):
        r = scenario(resend)
        assert r.j.fills == []  # 1.00 printed, 5.00 were ahead of us
        ((oid, _, _),) = _our_resting(r)
        assert r.shadow.queue_ahead(oid) == 400


def test_a_snapshot_with_less_size_goes_through_the_cancel_model() -> None:
    b = TapeBuilder([spec()])
    base(b)  # behind 5.00 at 0.40
    b.delta(T0 + 1 * S, TICKER, True, 4000, 300)  # 3.00 more join behind us
    b.snapshot(T0 + 2 * S, TICKER, yes=[(4000, 400)], no=[(5000, 300)])  # 8.00 -> 4.00
    b.index(T0 + 3 * S, 100.5)
    r = run(b, bidder(4000, 200), cancel_model="back")
    ((oid, _, _),) = _our_resting(r)
    assert r.shadow.queue_ahead(oid) == 400  # "back": the 3.00 behind went first, then 1.00 ahead
    r = run(b, bidder(4000, 200), cancel_model="front")
    ((oid, _, _),) = _our_resting(r)
    assert r.shadow.queue_ahead(oid) == 100  # "front": 4.00 of the 5.00 ahead went


def test_a_fill_before_an_amend_is_acknowledged_leaves_no_untracked_order() -> None:
    def const(v: QuoteView) -> list[Quote]:
        return [Quote(TICKER, "bid", 4200, 200)]  # 2.00 at 0.42, above the recorded 0.40

    b = TapeBuilder([spec()])
    base(b)
    b.trade(T0 + 1 * S, TICKER, 4000, 100, taker_buys_yes=False)  # fills 1.00 of ours
    # the decision tops up to 2.00: the amend arrives at +10 ms, its ack at +20 ms
    b.trade(T0 + 1 * S + 15 * MS, TICKER, 4000, 100, taker_buys_yes=False)
    b.index(T0 + 2 * S, 100.5)
    r = run(b, ScriptedQuoter(const))
    engine = _our_resting(r)
    ours = {(o.order_id, o.price, o.remaining) for o in r.orders.values()}
    assert engine == [(e, p, q) for e, p, q in engine if (e, p, q) in ours]  # every one tracked
    assert sum(q for _, _, q in engine) == 200  # and no more than the strategy wants


def test_fill_ratio_counts_size_quoted_by_amends() -> None:
    from pmbot.backtest.metrics import summarize

    def alternate(v: QuoteView) -> list[Quote]:  # re-price after every fill
        n = v.positions.get(TICKER, 0) // 100
        return [Quote(TICKER, "bid", 4200 if n % 2 == 0 else 4300, 200)]

    b = TapeBuilder([spec()])
    base(b)
    for k in range(1, 6):
        b.trade(T0 + k * S, TICKER, 4000, 100, taker_buys_yes=False)
        b.delta(T0 + k * S, TICKER, True, 4000, -100)
    r = run(b, ScriptedQuoter(alternate))
    s = summarize(r.j)
    assert r.j.amends == 5 and r.j.placed_qty == 200 + 5 * 200  # each re-price quotes 2.00 anew
    assert s["fill_ratio"] == round(500 / 1200, 4)


def test_a_recording_resumed_after_a_torn_write_reads_back_whole(tmp_path) -> None:
    from pmbot.backtest.recorder import Recorder, load_tape

    d = tmp_path / "rec"
    r = Recorder(d, "test")
    r.market(spec())
    r.index(T0, 100.5)
    r.delta(T0 + 1, TICKER, True, 4000, 500)
    r.close()
    with open(d / "events.bin", "ab") as f:
        f.write(b"\x01" * 13)  # a crash in the middle of a record
    with open(d / "meta.jsonl", "a") as f:
        f.write('{"settle": "EV')  # and of a meta line
    r = Recorder(d, "test")  # the bot restarted with --record on the same directory
    r.market(spec())
    r.index(T0 + 2 * S, 101.0)
    r.trade(T0 + 3 * S, TICKER, 4000, 100, True)
    r.settle("EVT", 101.0)
    r.close()
    t = load_tape(d)
    assert t.ts.tolist() == [T0, T0 + 1, T0 + 2 * S, T0 + 3 * S]
    assert t.qty.tolist() == [1_005_000, 500, 1_010_000, 100]
    assert t.settlements == {"EVT": 101.0}


def test_an_amend_sends_the_total_so_a_fill_in_flight_shrinks_what_rests() -> None:
    """Regression (review): Kalshi's amend count is the total (filled + resting), as the live
    bot sends it. The backtest sent the wanted resting size, so a fill landing between the
    decision and the amend's arrival was added back: we bought 3 with 2 wanted in all."""
    b = TapeBuilder([spec()])
    b.index(T0, 100.5)
    b.snapshot(T0, TICKER, yes=[(3900, 500)], no=[(5000, 300)])  # bid 0.39 x5, ask 0.50 x3
    b.index(T0 + 1 * S, 100.6)  # the strategy moves its bid 0.40 -> 0.41: an amend (total 2)
    b.trade(T0 + 1 * S + 5 * MS, TICKER, 4000, 100, taker_buys_yes=False)  # 1 of ours, in flight
    b.trade(T0 + 1 * S + 20 * MS, TICKER, 4100, 1000, taker_buys_yes=False)  # after the amend

    def fn(v: QuoteView) -> list[Quote]:
        left = 200 - v.positions.get(TICKER, 0)  # never more than 2 in all
        px = 4000 if v.ts_ns < T0 + 1 * S else 4100
        return [Quote(TICKER, "bid", px, left)] if left > 0 else []

    r = run(b, ScriptedQuoter(fn))
    fills = [(f[0] - T0, f[3], f[4]) for f in r.j.fills]
    assert fills == [(1 * S + 5 * MS, 4000, 100), (1 * S + 20 * MS, 4100, 100)]
    assert r.pos[0].qty == 200


def test_drawdown_and_inventory_between_two_samples_are_reported() -> None:
    """Regression (review): max drawdown and max |inventory| were read off the 10 s samples
    only, so 10 bought at 0.60 (fair ~0.50) and sold again 3 s later showed neither."""
    from pmbot.backtest.metrics import summarize

    t0 = 1_781_013_600 * S  # 2026-06-09 10:00 ET, in session
    m = MarketSpec(TICKER, "EVT", "SER", StrikeType.GREATER_OR_EQUAL, 100.0, None,
                   PriceGrid.linear_cent(), FeeSchedule(), t0 + 3600 * S)  # fmt: skip
    b = TapeBuilder([m])
    for k in range(61):
        b.index(t0 + k * S, 100.0)  # flat: fair stays ~0.50
    b.snapshot(t0, TICKER, yes=[(4000, 500)], no=[(3000, 500)])  # bid 0.40, ask 0.70
    b.trade(t0 + 2 * S, TICKER, 4000, 1000, taker_buys_yes=False)  # hits our 0.60 bid
    b.trade(t0 + 5 * S, TICKER, 7000, 1000, taker_buys_yes=True)  # lifts our 0.60 ask

    def fn(v: QuoteView) -> list[Quote]:
        q = v.positions.get(TICKER, 0)
        if v.ts_ns < t0 + 3 * S:
            return [Quote(TICKER, "bid", 6000, 1000 - q)] if q < 1000 else []
        return [Quote(TICKER, "ask", 6000, q)] if q > 0 else []

    r = Runner(b.build(), ScriptedQuoter(fn), RunConfig(entry_latency=10, md_latency=0))
    s = summarize(r.run())
    assert [(f[0] - t0, f[2], f[4]) for f in r.j.fills] == [(2 * S, 1, 1000), (5 * S, -1, 1000)]
    assert s["inventory"]["max_abs_total"] == 10.0
    assert s["per_bucket"][TICKER]["max_abs_inventory"] == 10.0
    fair = r.j.fills[0][7]
    assert s["max_drawdown"] == pytest.approx(10 * (0.60 - fair), abs=0.01)


def test_the_strategy_never_sees_our_order_crossed_with_size_that_traded_with_it() -> None:
    """Regression (review): a bid arriving at our ask trades with it (rule 4) but stays in
    the recorded book (rule 5); the strategy's view added our rest on top: a crossed book,
    which the venue never shows and which halts the market in the live risk gate."""
    b = TapeBuilder([spec()])
    for k in range(6):
        b.index(T0 + k * S, 100.0)
    b.snapshot(T0, TICKER, yes=[(4000, 500)], no=[(5000, 300)])  # bid 0.40, ask 0.50
    b.delta(T0 + 1 * S, TICKER, True, 4500, 100)  # 1 YES bid at 0.45: trades with our ask
    seen: list[tuple[int | None, int | None, bool]] = []

    def fn(v: QuoteView) -> list[Quote]:
        bk = v.books[TICKER]
        seen.append((bk.yes_bid_price(), bk.yes_ask_price(), bk.crossed()))
        return [Quote(TICKER, "ask", 4500, 200 + v.positions.get(TICKER, 0))]  # 2 offered

    r = run(b, ScriptedQuoter(fn))
    assert [(f[0] - T0, f[2], f[3], f[4]) for f in r.j.fills] == [(1 * S, -1, 4500, 100)]
    assert len(seen) >= 5 and not any(c for *_, c in seen)
    assert seen[-1][:2] == (4000, 4500)  # the public 0.40 bid, our 0.45 ask


def test_a_decrease_is_a_reduce_by_so_a_fill_in_flight_comes_off_the_cut() -> None:
    """As `pmbot run` sends it (reduce_by = what rests less what we keep): a fill landing
    while the cut is in flight comes off the cut, so we never hold more than wanted. As a
    reduce_to (before), the venue kept 1 resting after the fill and a second seller made
    the position 2 with 1 wanted."""
    b = TapeBuilder([spec()])
    b.index(T0, 100.5)
    b.snapshot(T0, TICKER, yes=[(3900, 500)], no=[(5000, 300)])  # bid 0.39 x5, ask 0.50 x3
    b.index(T0 + 1 * S, 100.5)  # the strategy cuts its bid 2 -> 1: a decrease (by 1)
    b.trade(T0 + 1 * S + 5 * MS, TICKER, 4000, 100, taker_buys_yes=False)  # 1 of ours, in flight
    b.trade(T0 + 1 * S + 12 * MS, TICKER, 4000, 500, taker_buys_yes=False)  # before our cancel

    def fn(v: QuoteView) -> list[Quote]:
        want = 200 if v.ts_ns < T0 + 1 * S else 100
        left = want - v.positions.get(TICKER, 0)
        return [Quote(TICKER, "bid", 4000, left)] if left > 0 else []

    r = run(b, ScriptedQuoter(fn))
    assert [(f[0] - T0, f[4]) for f in r.j.fills] == [(1 * S + 5 * MS, 100)]
    assert r.pos[0].qty == 100
