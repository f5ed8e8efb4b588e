"""Risk gate: every guard halts or reduces with its reason and clears with its cause."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from pmbot.risk.gate import RiskGate
from pmbot.risk.guards import GuardParams, RiskState
from pmbot.risk.kill_switch import KillSwitch
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.baseline import BaselineStrategy
from pmbot.strategy.engine import QuoteEngine
from pmbot.strategy.inputs import DesiredQuote
from pmbot.strategy.params import QuoteParams
from pmbot.strategy.quoter import MarketMaker
from pmbot.strategy.synthetic import books_around, fresh_inputs, ladder_fair, ladder_markets

S = 1_000_000_000
T0 = 10_000 * S
MS = ladder_markets(5, 6000.0, 25.0)
FV = ladder_fair(MS, 6000.0, 30.0)
BOOKS = books_around(MS, FV, 500)
BIG = RiskLimits(max_event_loss=10**12, max_event_cost=10**12, max_account_exposure=10**12)


def engine(limits=BIG, guards=None, ks=None):
    return QuoteEngine(
        MarketMaker(QuoteParams(debounce_ns=0), limits), RiskGate(limits, guards, ks)
    )


def inputs(ts=T0, **kw):
    kw.setdefault("books", BOOKS)
    books = kw.pop("books")
    return fresh_inputs(MS, kw.pop("fair", FV), books, ts, **kw)


def sides(decision, ticker):
    return {d.side for d in decision.quotes if d.ticker == ticker}


def check_event_guard(make_bad, state, reason):
    """Bad snapshot -> state/reason and the matching quotes; good snapshot -> ACTIVE again."""
    e = engine()
    ok = e.step(inputs(T0))
    assert ok.risk.state is RiskState.ACTIVE and ok.quotes
    bad = e.step(make_bad(T0 + S))
    assert bad.risk.state is state
    assert reason in bad.risk.reason.split(",")
    tr = [t for t in bad.risk.transitions if t.scope == "EVT"]
    assert tr and tr[0].old is RiskState.ACTIVE and tr[0].new is state and reason in tr[0].reason
    if state is RiskState.HALTED:
        assert bad.quotes == ()
    back = e.step(inputs(T0 + 2 * S))
    assert back.risk.state is RiskState.ACTIVE and back.risk.reason == ""
    assert [(t.old, t.new) for t in back.risk.transitions if t.scope == "EVT"] == [
        (state, RiskState.ACTIVE)
    ]
    assert len(back.quotes) == len(ok.quotes)
    return bad


def test_trading_paused_halts():
    check_event_guard(lambda t: inputs(t, trading_active=False), RiskState.HALTED, "trading_paused")


def test_index_stale_halts():
    check_event_guard(lambda t: inputs(t, index_ts_ns=t - 11 * S), RiskState.HALTED, "index_stale")
    check_event_guard(lambda t: inputs(t, index_ts_ns=None), RiskState.HALTED, "index_stale")


def test_missing_fair_value_halts():
    check_event_guard(lambda t: inputs(t, fair=None), RiskState.HALTED, "no_fair_value")


def test_near_reference_pulls_and_approaching_reduces():
    check_event_guard(
        lambda t: inputs(t, reference_ts_ns=t + 4 * S), RiskState.HALTED, "near_reference"
    )
    bad = check_event_guard(
        lambda t: inputs(t, reference_ts_ns=t + 60 * S, positions={MS[2].ticker: 500}),
        RiskState.REDUCING,
        "reference_approaching",
    )
    # reduce-only: only the ask that sells the long, capped at its size
    assert [(d.ticker, d.side, d.qty) for d in bad.quotes] == [(MS[2].ticker, "ask", 500)]


def test_daily_loss_near_limit_reduces():
    lim = replace(BIG, max_daily_loss=100 * 10**6)
    e = engine(lim)
    assert e.step(inputs(T0)).risk.state is RiskState.ACTIVE
    d = e.step(inputs(T0 + S, daily_pnl=-85 * 10**6, positions={MS[1].ticker: -300}))
    assert (d.risk.state, d.risk.reason) == (RiskState.REDUCING, "daily_loss_near_limit")
    assert [(q.ticker, q.side, q.qty) for q in d.quotes] == [(MS[1].ticker, "bid", 300)]
    assert e.step(inputs(T0 + 2 * S, daily_pnl=-10 * 10**6)).risk.state is RiskState.ACTIVE


def test_event_loss_and_cost_and_exposure_limits_reduce():
    lim = RiskLimits(
        max_event_loss=50 * 10**6, max_event_cost=80 * 10**6, max_account_exposure=120 * 10**6
    )
    e = engine(lim)
    d = e.step(inputs(T0, event_cost=60 * 10**6, positions={MS[2].ticker: 2000}))
    assert d.risk.state is RiskState.REDUCING
    assert "event_loss_limit" in d.risk.reason.split(",")
    assert d.risk.event_loss == 60 * 10**6
    d = e.step(
        inputs(
            T0 + S,
            event_cost=80 * 10**6,
            event_capital=80 * 10**6,
            positions={MS[2].ticker: 10_000},
        )
    )
    assert "event_cost_limit" in d.risk.reason.split(",")
    d = e.step(inputs(T0 + 2 * S, account_exposure=130 * 10**6))
    assert d.risk.reason == "account_exposure_limit"
    assert e.step(inputs(T0 + 3 * S)).risk.state is RiskState.ACTIVE


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda t, k: {"books": {**BOOKS, k: None}}, "no_book"),
        (lambda t, k: {"resyncing": frozenset({k})}, "book_resyncing"),
        (lambda t, k: {"inactive": frozenset({k})}, "market_inactive"),
        (
            lambda t, k: {
                "book_ts_ns": {m.ticker: (t - 31 * S if m.ticker == k else t) for m in MS}
            },
            "book_stale",
        ),
        (
            lambda t, k: {"fair": replace(FV, fair={x: v for x, v in FV.fair.items() if x != k})},
            "no_fair_value",
        ),
    ],
)
def test_market_guards_halt_only_that_market(mutate, reason):
    k = MS[2].ticker
    e = engine()
    ok = e.step(inputs(T0))
    assert sides(ok, k) == {"bid", "ask"}
    bad = e.step(inputs(T0 + S, **mutate(T0 + S, k)))
    assert bad.risk.state is RiskState.ACTIVE
    assert bad.risk.market_states[k] == (RiskState.HALTED, reason)
    assert sides(bad, k) == set()
    assert sides(bad, MS[1].ticker) == {"bid", "ask"}
    assert [(t.scope, t.new, t.reason) for t in bad.risk.transitions] == [
        (k, RiskState.HALTED, reason)
    ]
    back = e.step(inputs(T0 + 2 * S))
    assert back.risk.market_states[k] == (RiskState.ACTIVE, "")
    assert sides(back, k) == {"bid", "ask"}
    assert [(t.scope, t.old, t.new) for t in back.risk.transitions] == [
        (k, RiskState.HALTED, RiskState.ACTIVE)
    ]


def test_several_findings_keep_the_worst_state_and_its_reasons_in_order():
    """Two HALTED findings on one market join their reasons in guard order; a REDUCING one
    beside a HALTED one is dropped. A market staying in the same non-ACTIVE state makes no
    new transition; a change of its reasons does."""
    k, j = MS[2].ticker, MS[3].ticker
    e = engine(limits=replace(BIG, max_position=500))
    e.step(inputs(T0))
    both = {"books": {**BOOKS, k: None, j: None}, "inactive": frozenset({k})}
    d = e.step(inputs(T0 + S, positions={j: 500}, **both))
    assert d.risk.market_states[k] == (RiskState.HALTED, "market_inactive,no_book")
    assert d.risk.market_states[j] == (RiskState.HALTED, "no_book")
    assert {(t.scope, t.reason) for t in d.risk.transitions} == {
        (k, "market_inactive,no_book"),
        (j, "no_book"),
    }
    again = e.step(inputs(T0 + 2 * S, positions={j: 500}, **both))
    assert again.risk.transitions == ()
    assert again.risk.market_states == d.risk.market_states
    fewer = e.step(inputs(T0 + 3 * S, positions={j: 500}, books={**BOOKS, k: None, j: None}))
    assert [(t.scope, t.old, t.new, t.reason) for t in fewer.risk.transitions] == [
        (k, RiskState.HALTED, RiskState.HALTED, "no_book")
    ]
    back = e.step(inputs(T0 + 4 * S, positions={j: 500}))
    assert back.risk.market_states[j] == (RiskState.REDUCING, "position_limit")
    assert back.risk.market_states[k] == (RiskState.ACTIVE, "")


def test_crossed_book_halts_the_market():
    from pmbot.strategy.synthetic import two_sided_book

    k = MS[2].ticker
    e = engine()
    crossed = {**BOOKS, k: two_sided_book(MS[2], 4000, 3900)}
    d = e.step(inputs(T0, books=crossed))
    assert d.risk.market_states[k] == (RiskState.HALTED, "book_crossed")
    assert sides(d, k) == set()


def test_fair_far_from_mid_reduces_that_market():
    k = MS[2].ticker
    e = engine()
    skewed = replace(FV, fair={**FV.fair, k: FV.fair[k] + 0.2})
    d = e.step(inputs(T0, fair=skewed, positions={k: 700}))
    assert d.risk.market_states[k] == (RiskState.REDUCING, "fair_divergence")
    assert [(q.side, q.qty) for q in d.quotes if q.ticker == k] == [("ask", 700)]
    assert e.step(inputs(T0 + S)).risk.market_states[k] == (RiskState.ACTIVE, "")


def test_kill_switch_on_daily_loss_latches_and_asks_for_cancel_all():
    lim = replace(BIG, max_daily_loss=100 * 10**6)
    ks = KillSwitch()
    e = engine(lim, ks=ks)
    d = e.step(inputs(T0, daily_pnl=-100 * 10**6))
    assert d.risk.state is RiskState.HALTED and d.risk.cancel_all and d.quotes == ()
    assert d.risk.reason.startswith("kill_switch:daily_loss")
    d = e.step(inputs(T0 + S, daily_pnl=0))  # P&L recovered: still halted
    assert d.risk.state is RiskState.HALTED and d.risk.cancel_all
    assert d.risk.transitions == ()
    ks.reset()
    d = e.step(inputs(T0 + 2 * S))
    assert d.risk.state is RiskState.ACTIVE and not d.risk.cancel_all and d.quotes


def test_manual_kill_switch_is_shared_by_every_event_gate():
    ks = KillSwitch()
    e1, e2 = engine(ks=ks), engine(ks=ks)
    assert e1.step(inputs(T0)).quotes and e2.step(inputs(T0)).quotes
    assert ks.manual(T0, "operator pressed stop")
    assert not ks.manual(T0 + 1, "again")  # first reason wins
    for e in (e1, e2):
        d = e.step(inputs(T0 + S))
        assert d.risk.state is RiskState.HALTED and d.risk.cancel_all
        assert d.risk.reason == "kill_switch:manual: operator pressed stop"


def test_transitions_are_logged(caplog):
    e = engine()
    with caplog.at_level(logging.INFO, logger="pmbot.risk"):
        e.step(inputs(T0, trading_active=False))
        e.step(inputs(T0 + S))
    msgs = [r.getMessage() for r in caplog.records]
    assert any("to=HALTED reason=trading_paused" in m for m in msgs)
    assert any("from=HALTED to=ACTIVE" in m for m in msgs)


def test_disabled_guards_do_not_fire():
    g = GuardParams(
        index_stale_ns=None,
        book_stale_ns=None,
        max_divergence=None,
        reduce_before_reference_ns=None,
        pull_before_reference_ns=None,
        daily_loss_reduce_fraction=None,
    )
    e = engine(guards=g)
    d = e.step(inputs(T0, index_ts_ns=None, book_ts_ns={}, reference_ts_ns=T0))
    assert d.risk.state is RiskState.ACTIVE and d.quotes


def test_gate_drops_invalid_crossing_taking_and_unknown_quotes():
    gate = RiskGate(BIG)
    k = MS[2].ticker
    b = BOOKS[k]
    bid, ask = b.yes_bid_price(), b.yes_ask_price()
    assert bid is not None and ask is not None
    good = DesiredQuote(k, "bid", bid, 100)
    proposed = [
        good,
        DesiredQuote(k, "bid", ask, 100),  # would take
        DesiredQuote(k, "ask", bid, 100),  # would take
        DesiredQuote(k, "bid", 4150, 100),  # off the grid
        DesiredQuote(k, "bid", 0, 100),  # not inside (0, 1)
        DesiredQuote(k, "bid", bid, 100, post_only=False),
        DesiredQuote("OTHER", "bid", 100, 100),
        DesiredQuote(k, "bid", bid - 100, 0),
    ]
    d = gate.apply(inputs(T0), proposed)
    assert d.quotes == (good,)
    assert d.trimmed == len(proposed) - 1
    # a market's own bid at or above its own ask: both go
    mine = [DesiredQuote(k, "bid", bid + 300, 100), DesiredQuote(k, "ask", bid + 200, 100)]
    assert RiskGate(BIG).apply(inputs(T0), mine).quotes == ()


def test_baseline_runs_behind_the_same_gate():
    e = QuoteEngine(BaselineStrategy(QuoteParams()), RiskGate(BIG))
    assert e.step(inputs(T0)).quotes
    assert e.step(inputs(T0 + S, trading_active=False)).quotes == ()


def test_a_position_outside_the_listed_markets_halts_the_event():
    check_event_guard(
        lambda t: inputs(t, positions={"EVT-ELSEWHERE": 100}),
        RiskState.HALTED,
        "position_in_unlisted_market",
    )


def test_only_selected_markets_are_quoted_but_all_count_for_risk():
    sel = frozenset({MS[2].ticker})
    e = engine()
    d = e.step(inputs(T0, quotable=sel))
    assert {q.ticker for q in d.quotes} == {MS[2].ticker}
    gate = RiskGate(BIG)
    sneaky = [DesiredQuote(MS[1].ticker, "bid", BOOKS[MS[1].ticker].yes_bid_price() or 100, 100)]
    assert gate.apply(inputs(T0, quotable=sel), sneaky).quotes == ()


def test_live_orders_being_replaced_count_against_the_limits():
    from pmbot.strategy.inputs import RestingOrder

    k = MS[2].ticker
    b = BOOKS[k]
    bid = b.yes_bid_price()
    assert bid is not None
    lim = replace(BIG, max_position=1000)
    new = [DesiredQuote(k, "bid", bid + 100, 800)]
    # an old bid of 6 at another price may still fill while it is amended: 4 of room left
    old = {k: (RestingOrder("bid", bid, 600, 0),)}
    d = RiskGate(lim).apply(inputs(T0, resting=old), new)
    assert [q.qty for q in d.quotes] == [400]
    # the same order kept as it is counts once
    same = {k: (RestingOrder("bid", bid + 100, 800, 0),)}
    assert RiskGate(lim).apply(inputs(T0, resting=same), new).quotes == tuple(new)
    # and counting can be switched off
    off = replace(lim, count_resting=False)
    assert RiskGate(off).apply(inputs(T0, resting=old), new).quotes == tuple(new)


def test_a_trimmed_kept_order_becomes_committed_and_the_gate_settles():
    from pmbot.strategy.inputs import RestingOrder

    k = MS[2].ticker
    bid = BOOKS[k].yes_bid_price()
    assert bid is not None
    lim = replace(BIG, max_position=500)
    kept = [DesiredQuote(k, "bid", bid, 800)]
    live = {k: (RestingOrder("bid", bid, 800, 0),)}
    # the desired bid equals the live one but is over the cap: trimmed, so the live order
    # is no longer reproduced and its 8 may fill first: nothing more may be added
    d = RiskGate(lim).apply(inputs(T0, resting=live), kept)
    assert d.quotes == ()


def test_a_market_never_seen_with_a_book_is_logged_at_info_one_that_loses_it_at_warning(caplog):
    import logging

    k, j = MS[1].ticker, MS[2].ticker
    e = engine()
    with caplog.at_level(logging.INFO, logger="pmbot.risk"):
        e.step(inputs(T0, books={**BOOKS, k: None}))  # k: not subscribed from the start
        e.step(inputs(T0 + S, books={**BOOKS, k: None, j: None}))  # j: lost its book
    levels = {
        r.getMessage().split("scope=")[1].split()[0]: r.levelno
        for r in caplog.records
        if "to=HALTED" in r.getMessage()
    }
    assert levels == {k: logging.INFO, j: logging.WARNING}


def test_realised_gains_make_no_room_under_the_event_capital_limit():
    """$6.40 in open positions after +$50 realised: the net cash in the event is -$43.60, yet
    the capital held is over a $5 max_event_cost (the limit read the net cash)."""
    e = engine(RiskLimits(max_event_cost=5 * 10**6))
    d = e.step(
        inputs(
            T0,
            event_cost=-43_600_000,
            event_capital=6_400_000,
            positions={MS[2].ticker: 4000},
        )
    )
    assert "event_cost_limit" in d.risk.reason.split(",")


def test_a_budget_of_a_few_contracts_still_quotes_whole_ones():
    """$2 of room over ten quotes: the share of each floored to whole contracts was 0, so the
    bot quoted nothing at all; the floors' leftovers now go out a contract at a time."""
    from pmbot.core.money import ONE

    e = engine(replace(BIG, max_event_cost=2 * 10**6))
    d = e.step(inputs(T0))
    assert d.quotes, "nothing quoted"
    assert all(q.qty % 100 == 0 and q.qty > 0 for q in d.quotes)
    spent = sum((q.price if q.side == "bid" else ONE - q.price) * q.qty for q in d.quotes)
    assert 0 < spent <= 2 * 10**6


def test_a_return_to_active_says_which_reason_cleared(caplog):
    import logging

    caplog.set_level(logging.INFO, logger="pmbot.risk")
    e = engine()
    e.step(inputs(T0, index_ts_ns=T0 - 11 * S))
    e.step(inputs(T0 + S))
    lines = [
        r.getMessage() for r in caplog.records if "risk transition scope=EVT" in r.getMessage()
    ]
    assert "reason=index_stale" in lines[0] and "to=ACTIVE reason=cleared:index_stale" in lines[1]


def test_a_live_order_past_the_cap_makes_no_room_for_new_quotes():
    """No position (the event is ACTIVE); a resting ask can lose $15 in its market's cell,
    over the $10 cap. A new ask on another market, harmful only in a cell the resting one
    does not touch, was admitted up to the resting order's level ($14.28 alone)."""
    from pmbot.risk.gate import RiskGate
    from pmbot.risk.limits import harm_by_cell
    from pmbot.strategy.inputs import DesiredQuote, RestingOrder

    m = 10**6
    gate = RiskGate(replace(BIG, max_event_loss=10 * m))
    cells = gate._win_cells(inputs(T0))
    assert cells is not None
    top, bottom = MS[-1], MS[0]
    inp = inputs(T0, resting={top.ticker: (RestingOrder("ask", 5000, 3000, 0),)})
    px = BOOKS[bottom.ticker].yes_ask_price()
    d = gate.apply(inp, [DesiredQuote(bottom.ticker, "ask", px, 5000)])
    got = [q for q in d.quotes if q.ticker == bottom.ticker]
    harm = harm_by_cell(got, [cells[0] for _ in got], len(FV.cell_probs))
    assert max(harm, default=0) <= 10 * m


@pytest.mark.parametrize("in_place", [True, False])
def test_a_reprice_the_venue_amends_in_place_counts_once(in_place: bool) -> None:
    """Regression (review): a Kalshi amend sets the order's total, so the live order and the
    quote it is amended into fill at most the larger of the two, never both. Counted as two
    orders, a reprice of the unwind bid in the reduce-only window (short 8, bid for 8), or
    of a bid next to the position cap, was trimmed to nothing: cancel now, create at the
    next decision, cancel again at the next price move, until the close. Where a change is
    a cancel + create (Polymarket: `amends_in_place` off) both may fill: still counted."""
    from pmbot.strategy.inputs import RestingOrder

    k = MS[2].ticker
    bid = BOOKS[k].yes_bid_price()
    assert bid is not None
    lim = replace(BIG, amends_in_place=in_place)
    reducing = fresh_inputs(
        MS, FV, BOOKS, T0, reference_ts_ns=T0 + 60 * S, positions={k: -800},
        resting={k: (RestingOrder("bid", bid - 100, 800, 0),)},
    )  # fmt: skip
    d = RiskGate(lim).apply(reducing, [DesiredQuote(k, "bid", bid, 800)])
    assert d.state is RiskState.REDUCING
    assert [(q.side, q.price, q.qty) for q in d.quotes] == ([("bid", bid, 800)] if in_place else [])
    capped = replace(lim, max_position=10_000)  # long 95 of 100: room for 5
    near_cap = fresh_inputs(
        MS, FV, BOOKS, T0, reference_ts_ns=T0 + 3600 * S, positions={k: 9500},
        resting={k: (RestingOrder("bid", bid - 100, 500, 0),)},
    )  # fmt: skip
    d = RiskGate(capped).apply(near_cap, [DesiredQuote(k, "bid", bid, 500)])
    bids = [(q.price, q.qty) for q in d.quotes if q.side == "bid"]
    assert bids == ([(bid, 500)] if in_place else [])
    # a smaller live order amended up still leaves no room above the cap: 5 rest, 8 wanted
    d = RiskGate(capped).apply(near_cap, [DesiredQuote(k, "bid", bid, 800)])
    assert [q.qty for q in d.quotes if q.side == "bid"] == ([500] if in_place else [])


def test_a_market_dropped_from_the_selection_losing_its_book_is_no_warning(caplog) -> None:
    """Regression (review): every re-selection unsubscribed the edge market it dropped, and
    the gate logged its lost book as a WARNING (`to=HALTED reason=no_book`), the level of a
    market that lost its book while quoted: a dozen false alarms an hour."""
    k = MS[2].ticker
    gate = RiskGate(BIG)
    gate.apply(fresh_inputs(MS, FV, BOOKS, T0, reference_ts_ns=T0 + 3600 * S), [])
    caplog.set_level(logging.INFO, logger="pmbot.risk")
    others = frozenset(m.ticker for m in MS if m.ticker != k)
    dropped = fresh_inputs(
        MS, FV, {**BOOKS, k: None}, T0 + S, reference_ts_ns=T0 + 3600 * S, quotable=others
    )
    gate.apply(dropped, [])
    (r,) = [r for r in caplog.records if f"scope={k} " in r.getMessage()]
    assert r.levelno == logging.INFO and "reason=no_book" in r.getMessage()
    caplog.clear()
    lost = fresh_inputs(MS, FV, {**BOOKS, k: None}, T0 + 2 * S, reference_ts_ns=T0 + 3600 * S)
    gate2 = RiskGate(BIG)
    gate2.apply(fresh_inputs(MS, FV, BOOKS, T0, reference_ts_ns=T0 + 3600 * S), [])
    gate2.apply(lost, [])  # still selected: a lost book is a WARNING
    (r,) = [r for r in caplog.records if f"scope={k} " in r.getMessage()]
    assert r.levelno == logging.WARNING


@pytest.mark.parametrize("in_place", [True, False])
@pytest.mark.parametrize("limit", ["max_event_cost", "max_event_loss"])
def test_a_reprice_to_a_cheaper_price_counts_the_live_order_at_its_own_price(
    limit: str, in_place: bool
) -> None:
    """Regression (review): counted once, a live bid amended DOWN (a cheaper price) was
    priced at the new price; but what fills before the amend lands fills at the old one.
    Live 100 @ one tick under the ask, 150 wanted lower: the worst case (the 100 first, at
    the old price, then the amend's total) must stay within the dollar cap. With the real
    gate and the real planner."""
    from pmbot.core.orders import LiveOrder, OrderStatus, Side
    from pmbot.execution.planner import plan
    from pmbot.strategy.inputs import RestingOrder

    m = 10**6
    k = MS[2].ticker
    bid, ask = BOOKS[k].yes_bid_price(), BOOKS[k].yes_ask_price()
    assert bid is not None and ask is not None
    old, new = ask - 100, bid
    q, n = 10_000, 15_000
    cap = n * new + 2 * m  # the live order alone is well inside the cap
    assert q * old <= cap
    lim = replace(BIG, max_position=10**6, amends_in_place=in_place, **{limit: cap})
    inp = fresh_inputs(
        MS, FV, BOOKS, T0, reference_ts_ns=T0 + 3600 * S,
        resting={k: (RestingOrder("bid", old, q, 0, "o1"),)},
    )  # fmt: skip
    d = RiskGate(lim).apply(inp, [DesiredQuote(k, "bid", new, n)])
    live = LiveOrder("c1", k, Side.BID, old, q, q, OrderStatus.RESTING, order_id="o1")
    p = plan(d.quotes, [live], iter(["n1", "n2"]).__next__)
    if p.amends:  # the venue's total: what filled at `old` first counts toward it
        (a,) = p.amends
        worst = q * old + max(0, a.total - q) * a.price
    else:  # cancel + create: both may fill
        worst = q * old + sum(c.qty * c.price for batch in p.create_batches for c in batch)
    assert worst <= cap, (worst / m, cap / m)
