"""Planner: fewest calls for common quote changes, and applying a plan yields the desired set."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.execution.planner import Plan, PlannerConfig, plan
from pmbot.strategy.inputs import DesiredQuote

T = "KXINX-26NOV24H1600-B5800"


def ids():
    c = itertools.count(1)
    return lambda: f"c{next(c)}"


def order(
    coid, price, rem, side=Side.BID, ticker=T, status=OrderStatus.RESTING, filled=0, created=0
):
    return LiveOrder(
        coid,
        ticker,
        side,
        price,
        rem + filled,
        rem,
        status,
        order_id=None if status is OrderStatus.PENDING else f"o-{coid}",
        filled=filled,
        created_ns=created,
    )


def q(price, qty, side=Side.BID, ticker=T):
    return DesiredQuote(ticker, side, price, qty)


def test_nothing_to_do():
    p = plan([q(5000, 1000)], [order("a", 5000, 1000)], ids())
    assert p.calls == 0 and p.kept == 1 and not p


def test_price_move_is_one_amend():
    p = plan([q(5100, 1000)], [order("a", 5000, 1000, filled=300)], ids())
    assert p.calls == 1 and len(p.amends) == 1
    a = p.amends[0]
    assert (a.price, a.qty, a.total, a.order_id) == (5100, 1000, 1300, "o-a")


def test_size_cut_is_one_decrease():
    p = plan([q(5000, 400)], [order("a", 5000, 1000)], ids())
    assert p.calls == 1 and p.decreases[0].reduce_to == 400


def test_size_increase_is_one_amend_same_price():
    p = plan([q(5000, 1500)], [order("a", 5000, 1000, filled=200)], ids())
    assert p.calls == 1 and p.amends[0].total == 1700 and p.amends[0].price == 5000


def test_new_quotes_batch_create_and_removed_batch_cancel():
    desired = [q(5000 + i * 100, 100, ticker=f"M{i}") for i in range(45)]
    p = plan(desired, [], ids(), config=PlannerConfig(max_batch_create=20))
    assert [len(b) for b in p.create_batches] == [20, 20, 5] and p.calls == 3
    assert len({c.client_order_id for c in p.creates}) == 45
    live = [order(f"x{i}", 5000, 100, ticker=f"M{i}") for i in range(25)]
    p = plan([], live, ids(), config=PlannerConfig(max_batch_cancel=20))
    assert [len(b) for b in p.cancel_batches] == [20, 5]


def test_ladder_shift_reuses_orders():
    live = [
        order("a", 5000, 100, created=1),
        order("b", 4900, 100, created=2),
        order("c", 4800, 100, created=3),
    ]
    p = plan([q(5100, 100), q(5000, 100), q(4900, 100)], live, ids())
    assert p.calls == 1 and p.kept == 2 and p.amends[0].client_order_id == "c"


def test_in_flight_group_is_frozen_but_pull_is_allowed():
    live = [order("a", 5000, 100, status=OrderStatus.PENDING), order("b", 5200, 100, side=Side.ASK)]
    p = plan([q(5100, 100), q(5300, 100, side=Side.ASK)], live, ids(), in_flight={"b"})
    assert p.calls == 0 and len(p.frozen) == 2
    # an unknown order freezes its group; a settled order in it is still cancelled when unwanted
    live = [order("a", 5000, 100, status=OrderStatus.UNKNOWN), order("b", 4900, 100)]
    p = plan([], live, ids())
    assert [c.client_order_id for c in p.cancels] == ["b"]


def test_duplicate_on_side_is_cancelled_unless_asked():
    live = [order("a", 5000, 100, created=1), order("b", 5000, 100, created=2)]
    p = plan([q(5000, 100)], live, ids())
    assert p.kept == 1 and [c.client_order_id for c in p.cancels] == ["b"]
    p = plan([q(5000, 100), q(4900, 100)], live, ids())
    assert p.kept == 1 and len(p.amends) == 1 and p.calls == 1


def test_new_ops_cap_amends_first_cancels_uncapped():
    live = [order(f"a{i}", 5000, 100, ticker=f"M{i}") for i in range(4)]
    live += [order("x", 5000, 100, ticker="GONE")]
    desired = [q(5100, 100, ticker=f"M{i}") for i in range(4)] + [
        q(5000, 100, ticker=f"N{i}") for i in range(3)
    ]
    p = plan(desired, live, ids(), config=PlannerConfig(max_new_ops=5))
    assert len(p.amends) == 4 and len(p.creates) == 1 and p.deferred == 2 and len(p.cancels) == 1


def test_write_budget_pays_cancels_first_then_amends_then_creates():
    live = [order(f"a{i}", 5000, 100, ticker=f"M{i}") for i in range(4)]
    live += [order("x", 5000, 100, ticker="GONE"), order("y", 5000, 100, ticker="GONE2")]
    desired = [q(5100, 100, ticker=f"M{i}") for i in range(4)] + [
        q(5000, 100, ticker=f"N{i}") for i in range(3)
    ]
    # 2 cancels x 2 tokens = 4; 50 - 4 = 46 tokens left: four 10-token items fit, not five
    cfg = PlannerConfig(budget=50, op_cost=10, cancel_cost=2)
    p = plan(desired, live, ids(), config=cfg)
    assert len(p.cancels) == 2 and len(p.amends) == 4 and not p.creates and p.deferred == 3
    # an exhausted budget still pulls quotes (cancels go, the rate limiter may make them wait)
    p = plan(desired, live, ids(), config=PlannerConfig(budget=-5))
    assert len(p.cancels) == 2 and not p.amends and not p.creates and p.deferred == 7
    # the tighter of the batch cap and the budget wins
    p = plan(desired, live, ids(), config=PlannerConfig(budget=1000, max_new_ops=5))
    assert len(p.amends) + len(p.creates) == 5 and p.deferred == 2
    # no budget: nothing deferred
    p = plan(desired, live, ids())
    assert len(p.amends) == 4 and len(p.creates) == 3 and p.deferred == 0


def test_no_amend_reprice_config():
    p = plan(
        [q(5100, 100)], [order("a", 5000, 100)], ids(), config=PlannerConfig(amend_reprice=False)
    )
    assert len(p.creates) == 1 and len(p.cancels) == 1 and p.calls == 2


def test_scope_by_ticker_and_string_sides():
    class Q:  # the strategy's own quote type: side as a string
        def __init__(self, ticker, side, price, qty):
            self.ticker, self.side, self.price, self.qty, self.post_only = (
                ticker,
                side,
                price,
                qty,
                True,
            )

    live = [order("a", 5000, 100, ticker="OTHER")]
    p = plan([Q(T, "ask", 5500, 100)], live, ids(), tickers={T})
    assert p.calls == 1 and p.creates[0].side is Side.ASK and not p.cancels


def apply_plan(p: Plan, live: list[LiveOrder]) -> dict:
    """The venue-side effect of a plan, assuming every call succeeds."""
    book = {o.client_order_id: o for o in live if not o.status.terminal}
    for c in p.cancels:
        del book[c.client_order_id]
    for d in p.decreases:
        book[d.client_order_id].remaining = d.reduce_to
    for a in p.amends:
        o = book[a.client_order_id]
        assert a.total == o.filled + a.qty
        o.price, o.remaining = a.price, a.qty
    for c in p.creates:
        book[c.client_order_id] = LiveOrder(
            c.client_order_id,
            c.ticker,
            c.side,
            c.price,
            c.qty,
            c.qty,
            OrderStatus.RESTING,
            order_id="new",
        )
    out: dict = {}
    for o in book.values():
        k = (o.ticker, o.side, o.price)
        out[k] = out.get(k, 0) + o.remaining
    return out


sides = st.sampled_from([Side.BID, Side.ASK])
tickers = st.sampled_from(["A", "B", "C"])
prices = st.integers(1, 20).map(lambda t: t * 100)
sizes = st.integers(1, 5).map(lambda n: n * 100)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(tickers, sides, prices, sizes), max_size=12),
    st.lists(st.tuples(tickers, sides, prices, sizes, st.integers(0, 300)), max_size=12),
)
def test_applying_the_plan_yields_the_desired_set(want, have):
    desired = [DesiredQuote(t, s, p, n) for t, s, p, n in want]
    live = [
        LiveOrder(
            f"l{i}",
            t,
            s,
            p,
            n + f,
            n,
            OrderStatus.RESTING,
            order_id=f"o{i}",
            filled=f,
            created_ns=i,
        )
        for i, (t, s, p, n, f) in enumerate(have)
    ]
    p = plan(desired, live, ids(), config=PlannerConfig(max_batch_create=4, max_batch_cancel=4))
    expect: dict = {}
    for d in desired:
        k = (d.ticker, d.side, d.price)
        expect[k] = expect.get(k, 0) + d.qty
    assert apply_plan(p, live) == expect
    # never more calls than cancel-everything + create-everything in batches, and per group
    # at most one call per order or level touched
    assert len(p.amends) + len(p.decreases) + len(p.creates) + len(p.cancels) <= len(live) + len(
        desired
    )
    assert all(len(b) <= 4 for b in p.create_batches + p.cancel_batches)
    # one order per (ticker, side, price) afterwards
    assert p.kept + len(p.amends) + len(p.decreases) + len(p.creates) == len(expect)


def test_no_amend_venue_resizes_and_reprices_by_cancel_create():
    cfg = PlannerConfig(can_amend=False)
    live = [order("a", 5000, 1000), order("b", 5500, 1000, side=Side.ASK)]
    p = plan([q(5000, 400), q(5600, 1000, side=Side.ASK)], live, ids(), config=cfg)
    assert not p.amends and not p.decreases
    assert {c.client_order_id for c in p.cancels} == {"a", "b"}
    assert sorted((c.side.value, c.price, c.qty) for c in p.creates) == [
        ("ask", 5600, 1000),
        ("bid", 5000, 400),
    ]
    same = plan([q(5000, 1000)], [order("a", 5000, 1000)], ids(), config=cfg)
    assert same.calls == 0 and same.kept == 1
