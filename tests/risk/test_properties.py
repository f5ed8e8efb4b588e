"""Property: for any state, the desired quotes obey every limit and state in force.

The checks are independent of the gate's code: positions and costs are recomputed from the
quotes, and the worst case is scanned over index values through each market's own strike
semantics (one value strictly inside every cell of the pricer's partition, plus several).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmbot.core.market import FeeSchedule, FeeType
from pmbot.core.money import ONE, PriceGrid, PriceRange
from pmbot.risk.gate import RiskGate
from pmbot.risk.guards import RiskState
from pmbot.risk.kill_switch import KillSwitch
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.baseline import BaselineStrategy
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inputs import QuoteInputs, RestingOrder
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker
from pmbot.strategy.synthetic import ladder_fair, ladder_markets, two_sided_book

S = 1_000_000_000
GRIDS = [
    PriceGrid.linear_cent(),
    PriceGrid([PriceRange(0, ONE, 10)]),
    PriceGrid([PriceRange(0, 1000, 10), PriceRange(1000, 9000, 100), PriceRange(9000, ONE, 10)]),
]
FEES = [
    FeeSchedule(FeeType.QUADRATIC, Fraction(1)),
    FeeSchedule(FeeType.QUADRATIC, Fraction(1, 2)),
    FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(1)),
]


@st.composite
def scenario(draw):
    n = draw(st.integers(3, 7))
    grid = draw(st.sampled_from(GRIDS))
    fees = draw(st.sampled_from(FEES))
    ms = ladder_markets(n, 6000.0, 25.0, grid=grid, fees=fees)
    level = draw(st.floats(5900.0, 6100.0))
    sigma = draw(st.floats(3.0, 90.0))
    fv = ladder_fair(ms, level, sigma)
    if draw(st.booleans()):  # per-market model noise: divergence from the book
        fv = replace(
            fv,
            fair={
                t: min(1.0, max(0.0, p + draw(st.floats(-0.3, 0.3)))) for t, p in fv.fair.items()
            },
        )
    now = 50_000 * S
    books, resting, positions = {}, {}, {}
    prices = grid.prices
    for m in ms:
        kind = draw(st.sampled_from(["two"] * 8 + ["bid", "ask", "none", "empty", "crossed"]))
        if kind == "none":
            books[m.ticker] = None
        else:
            i = draw(st.integers(1, len(prices) - 3))
            j = min(len(prices) - 2, i + draw(st.integers(1, 30)))
            if kind == "crossed":
                i, j = j, i
            bid = prices[i] if kind in ("two", "bid", "crossed") else None
            ask = prices[j] if kind in ("two", "ask", "crossed") else None
            books[m.ticker] = two_sided_book(m, bid, ask)
        positions[m.ticker] = draw(st.sampled_from([0, 0, 1])) * draw(st.integers(-15_000, 15_000))
        rest = []
        for side in ("bid", "ask"):
            if draw(st.booleans()):
                rest.append(
                    RestingOrder(
                        side,
                        prices[draw(st.integers(1, len(prices) - 2))],
                        draw(st.integers(1, 5000)),
                        now - draw(st.integers(0, 3 * S)),
                    )
                )
        resting[m.ticker] = tuple(rest)
    params = QuoteParams(
        risk_aversion=draw(st.floats(0.0, 0.03)),
        edge=draw(st.integers(0, 400)),
        min_spread_ticks=draw(st.integers(1, 4)),
        size=draw(st.integers(1, 60)) * 100,
        no_quote_band=draw(st.floats(0.0, 0.1)),
        debounce_ns=0,
    )
    limits = RiskLimits(
        max_position=draw(st.integers(1, 200)) * 100,
        max_event_loss=draw(st.integers(1, 300)) * 10**6,
        max_event_cost=draw(st.integers(1, 300)) * 10**6,
        max_account_exposure=draw(st.integers(1, 600)) * 10**6,
        max_daily_loss=draw(st.integers(1, 200)) * 10**6,
        lot=draw(st.sampled_from([1, 50, 100])),
        amends_in_place=draw(st.booleans()),
    )
    rare = st.sampled_from([False] * 19 + [True])  # a fault in about 1 draw in 20
    share = st.sampled_from([0, 0, 0, 10, 30, 50, 70, 90, 100, 120])  # % of a limit
    inp = QuoteInputs(
        ts_ns=now,
        event_ticker="EVT",
        markets=ms,
        fair=None if draw(rare) else fv,
        books=books,
        positions=positions,
        resting=resting,
        book_ts_ns={m.ticker: now - (40 * S if draw(rare) else 0) for m in ms},
        resyncing=frozenset(m.ticker for m in ms if draw(rare)),
        index_ts_ns=now - (12 * S if draw(rare) else draw(st.integers(0, 5 * S))),
        trading_active=not draw(rare),
        reference_ts_ns=now + draw(st.sampled_from([3600 * S] * 6 + [200 * S, 3 * S])),
        event_cost=limits.max_event_cost * draw(share) // 100,
        event_capital=limits.max_event_cost * draw(share) // 100,
        account_exposure=limits.max_account_exposure * draw(share) // 100,
        daily_pnl=-limits.max_daily_loss * draw(share) // 100,
        quotable=None
        if draw(st.booleans())
        else frozenset(m.ticker for m in ms if draw(st.booleans())),
    )
    if draw(rare):
        inp = replace(inp, positions={**positions, "EVT-UNLISTED": 100})
    return inp, params, limits, draw(st.booleans())


def interior_points(edges):
    pts = [edges[0] - 30.0, edges[0] - 0.01, edges[-1] + 0.01, edges[-1] + 30.0]
    for a, b in itertools.pairwise(edges):
        pts += [a + 0.01, (a + b) / 2, b - 0.02]
    return pts


def committed_orders(inp: QuoteInputs, quotes, in_place: bool = False):
    """Live orders the desired quotes do not reproduce exactly (they may still fill).

    `in_place` (Kalshi amends the total): the only live order of a (market, side) with one
    desired quote there becomes that quote; together they fill at most the larger size, so
    only its size above the quote's may fill besides."""
    want = Counter((d.ticker, d.side, d.price, d.qty) for d in quotes)
    out = []
    names = {m.ticker for m in inp.markets}
    n_live = Counter(
        (t, r.side) for t, rs in inp.resting.items() if t in names for r in rs if r.remaining > 0
    )
    desired: dict[tuple[str, str], list] = {}
    for d in quotes:
        desired.setdefault((d.ticker, d.side), []).append(d)
    for t, rs in inp.resting.items():
        for r in rs:
            if t not in names or r.remaining <= 0:
                continue
            k = (t, r.side, r.price, r.remaining)
            if want[k]:
                want[k] -= 1
                continue
            ds = desired.get((t, r.side), [])
            dearer = len(ds) == 1 and (
                r.price > ds[0].price if r.side == "bid" else r.price < ds[0].price
            )
            if in_place and n_live[(t, r.side)] == 1 and len(ds) == 1 and not dearer:
                if r.remaining > ds[0].qty:
                    out.append((t, r.side, r.price, r.remaining - ds[0].qty))
            else:
                out.append((t, r.side, r.price, r.remaining))
    return out


def check(inp: QuoteInputs, params, limits, decision):
    quotes = decision.quotes
    risk = decision.risk
    specs = {m.ticker: m for m in inp.markets}
    if risk.state is RiskState.HALTED:
        assert quotes == ()
        return
    if not quotes:
        return
    assert inp.fair is not None
    seen = set()
    assert all(not q or t in specs for t, q in inp.positions.items())
    fixed = committed_orders(inp, quotes, limits.amends_in_place) if limits.count_resting else []
    fixed_side = Counter()
    for t, side, _, x in fixed:
        fixed_side[(t, side)] += x
    for d in quotes:
        m = specs[d.ticker]
        assert inp.quotable is None or d.ticker in inp.quotable
        assert (d.ticker, d.side) not in seen  # one quote per side per market
        seen.add((d.ticker, d.side))
        assert d.post_only and d.qty > 0 and d.qty % limits.lot == 0
        assert m.grid.valid_order_price(d.price)
        book = inp.books[d.ticker]
        assert book is not None and not book.crossed()
        bb, ba = book.yes_bid_price(), book.yes_ask_price()
        if d.side == "bid":
            assert ba is None or d.price < ba
        else:
            assert bb is None or d.price > bb
        mstate = risk.market_states[d.ticker][0]
        assert mstate is not RiskState.HALTED
        q = inp.positions.get(d.ticker, 0)
        other = fixed_side[(d.ticker, d.side)]
        if mstate is RiskState.REDUCING or risk.state is RiskState.REDUCING:
            closable = -q if d.side == "bid" else q
            assert d.qty <= closable - other
        room = limits.max_position - q if d.side == "bid" else limits.max_position + q
        assert d.qty <= max(0, room - other)
    for t in specs:
        b = [d.price for d in quotes if d.ticker == t and d.side == "bid"]
        a = [d.price for d in quotes if d.ticker == t and d.side == "ask"]
        if b and a:
            assert max(b) < min(a)
    # every order that may fill: the committed live ones first, then the desired ones
    fills = [*fixed, *((d.ticker, d.side, d.price, d.qty) for d in quotes)]
    n_fixed = len(fixed)
    # capital added by full fills, closing what the position allows first
    closable = {}
    adds = []
    for t, side, price, x in fills:
        k = (t, side)
        if k not in closable:
            q = inp.positions.get(t, 0)
            closable[k] = max(0, -q) if side == "bid" else max(0, q)
        c = min(x, closable[k])
        closable[k] -= c
        adds.append((x - c) * (price if side == "bid" else ONE - price))
    base_add, add = sum(adds[:n_fixed]), sum(adds[n_fixed:])
    for used, cap in (
        (inp.event_capital, limits.max_event_cost),
        (inp.account_exposure, limits.max_account_exposure),
    ):
        assert used + base_add + add <= max(cap, used + base_add)
    # worst-case loss at settlement, adversarial fills, scanned over index values: within the
    # cap, or (the positions over it: reduce-only) never above the positions' worst case
    cases = []
    for v in interior_points(inp.fair.edges):
        pay = 0
        for m in inp.markets:
            q = inp.positions.get(m.ticker, 0)
            w = m.yes_wins(v)
            pay += q * ONE if (q > 0 and w) else (-q * ONE if (q < 0 and not w) else 0)
        harms = []
        for t, side, price, x in fills:
            w = specs[t].yes_wins(v)
            harms.append(x * price if (side == "bid" and not w) else 0)
            harms[-1] += x * (ONE - price) if (side == "ask" and w) else 0
        cases.append((inp.event_cost - pay, sum(harms[:n_fixed]), sum(harms[n_fixed:])))
    # the positions' own worst case may lift the bound over the cap, live orders may not
    bound = max([limits.max_event_loss] + [own for own, _, _ in cases])
    for own, fixed_harm, more in cases:
        loss = own + fixed_harm
        assert loss + more <= max(bound, loss)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_market_maker_quotes_obey_every_limit(sc):
    inp, params, limits, killed = sc
    ks = KillSwitch()
    if killed and inp.daily_pnl < -limits.max_daily_loss // 2:
        ks.manual(inp.ts_ns)
    engine = QuoteEngine(MarketMaker(params, limits), RiskGate(limits, kill_switch=ks))
    decision = engine.step(inp)
    assert decision.risk.cancel_all == ks.tripped
    if ks.tripped:
        assert decision.quotes == ()
    check(inp, params, limits, decision)
    # quoter-only rules: nothing inside the band near 0/1
    if inp.fair is not None:
        for d in decision.quotes:
            p = inp.fair.fair[d.ticker]
            assert params.no_quote_band <= p <= 1.0 - params.no_quote_band


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_baseline_behind_the_gate_obeys_every_limit(sc):
    inp, params, limits, _ = sc
    engine = QuoteEngine(BaselineStrategy(params), RiskGate(limits))
    check(inp, params, limits, engine.step(inp))
