"""What the risk gate is told about our orders while the venue knows more than we do.

The gate sees our live orders and positions through `app_parts.build_inputs`. Two gaps let
the caps be breached on the venue (the reviewer's reproducers, kept here):

* an amend in flight: the venue may already rest the new order while the state still
  shows the old one, and the planner freezes that (market, side), so this decision's quote
  there is never sent. The gate counted the old (smaller, cheaper) order and gave the room
  it thought freed to other markets, whose creates went out at once.
* fills the venue reports (an order update, an amend's or decrease's answer, a cancel's
  `reduced_by`) before their own fill events, which come on another unsequenced channel:
  the order shrank or ended while the position had not moved, and the gate granted the
  room of those fills again.

Each test drives the real OrderManager (FakeVenue), TradingState, `build_inputs` and
RiskGate, and checks what could be held on the venue against the cap.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_venue import FakeVenue

from pmbot.app_parts import Accounting, build_inputs
from pmbot.clock import ManualClock
from pmbot.core import events as ev
from pmbot.core.orders import Side
from pmbot.core.state import TradingState
from pmbot.execution.order_manager import OrderManager, OrderManagerConfig
from pmbot.execution.reconcile import ReconcileConfig
from pmbot.risk.gate import RiskGate
from pmbot.risk.guards import GuardParams
from pmbot.risk.limits import RiskLimits
from pmbot.store.ledger import Ledger
from pmbot.strategy.inputs import DesiredQuote, QuoteInputs
from pmbot.strategy.synthetic import ladder_fair, ladder_markets

S = 1_000_000_000
T0 = 1_795_532_400 * S  # 2026-11-24 10:00 ET
BIG = 10**12


class Rig:
    """A five-market event quoted through the app's own input builder and a Kalshi gate."""

    def __init__(self, tmp_path: Path, limits: RiskLimits, venue: FakeVenue | None = None) -> None:
        self.clock = ManualClock(T0)
        ms = ladder_markets(5, 6000.0, 25.0, close_ts_ns=T0 + 3600 * S)
        st = self.state = TradingState()
        for m in ms:
            st.add_market(m)
            st.apply(ev.BookSnapshot(m.ticker, T0, ((4000, 10_000),), ((4000, 10_000),)))
        st.apply(ev.IndexTick(T0, 6000.0, "test"))
        self.tickers = [m.ticker for m in ms]
        self.app = SimpleNamespace(
            state=st,
            event_markets=list(ms),
            quotable=list(ms),
            event_ticker=ms[0].event_ticker,
            fair=ladder_fair(ms, 6000.0, 30.0),
            acct=Accounting(),
            ledger=None,
        )
        self.venue = venue or FakeVenue(self.clock.now_ns)
        ids = itertools.count(1 if venue is None else 100)
        self.ledger = Ledger(tmp_path / "l.db").open()
        self.ledger.recover(st)  # a restart: positions and live orders as they were
        self.om = OrderManager(
            self.venue,
            st,
            self.ledger,
            self.clock,
            config=OrderManagerConfig(reconcile=ReconcileConfig(grace_ns=2 * S)),
            new_id=lambda: f"c{next(ids)}",
        )
        self.gate = RiskGate(limits, GuardParams(max_divergence=None))
        self.t = 0

    def inputs(self) -> QuoteInputs:
        self.t += 1
        return build_inputs(self.app, T0 + self.t * S)  # type: ignore[arg-type]

    def decide(self, proposed: list[DesiredQuote]) -> list[DesiredQuote]:
        return list(self.gate.apply(self.inputs(), proposed).quotes)

    def held_and_resting(self, ticker: str) -> int:
        """YES contracts we could hold on `ticker` if every resting bid filled."""
        rest = sum(o.remaining for o in self.venue.resting(ticker) if o.side is Side.BID)
        return self.state.position(ticker) + rest

    def bid_capital(self) -> int:
        """Micros the resting bids would cost if every one of them filled."""
        return sum(o.price * o.remaining for o in self.venue.resting() if o.side is Side.BID)

    def late_fills(self) -> list[ev.Fill]:
        """The fill frames the venue has produced so far, held back (they arrive late)."""
        held = list(self.venue.stream)
        self.venue.stream[:] = []
        return held


def cost_rig(tmp_path: Path, cap: int) -> Rig:
    return Rig(
        tmp_path,
        RiskLimits(
            max_event_cost=cap,
            max_event_loss=BIG,
            max_account_exposure=BIG,
            amends_in_place=True,  # Kalshi (app_parts.risk_limits)
        ),
    )


def position_rig(tmp_path: Path, cap: int = 1000, venue: FakeVenue | None = None) -> Rig:
    return Rig(
        tmp_path,
        RiskLimits(
            max_position=cap,
            max_event_loss=BIG,
            max_event_cost=BIG,
            max_account_exposure=BIG,
            amends_in_place=True,
        ),
        venue,
    )


# ---- an amend in flight ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [((5000, 500), (5000, 1000)), ((2000, 1000), (5000, 1000))],
    ids=["size_up", "price_up"],
)
async def test_an_amend_in_flight_counts_at_the_worse_of_old_and_new(tmp_path, old, new):
    """5 bid at 0.50 on A, an amend to 10 in flight (the venue applied it, its answer is
    slow); an index tick wants 10 on A and 10 on B. The gate trimmed them to fit $7.50
    as if A would be amended down, but A was frozen at 10 and B's create went out: $8.50 at
    risk. Likewise an amend raising a bid's price was counted at the old price."""
    cap = 7_500_000
    r = cost_rig(tmp_path, cap)
    a, b = r.tickers[1], r.tickers[2]
    assert (await r.om.start()).ok
    q0 = r.decide([DesiredQuote(a, "bid", *old)])
    assert q0 == [DesiredQuote(a, "bid", *old)]
    await r.om.sync(q0)

    answer = r.venue.hold_answer["amend"] = asyncio.Event()
    q1 = r.decide([DesiredQuote(a, "bid", *new)])
    assert q1 == [DesiredQuote(a, "bid", *new)]
    p1 = r.om.prepare(q1)
    assert p1 is not None and len(p1.amends) == 1
    sending = asyncio.create_task(r.om.send(p1))
    await asyncio.sleep(0)
    assert r.bid_capital() == new[0] * new[1]  # the venue rests the new order already

    q2 = r.decide([DesiredQuote(a, "bid", 5000, 1000), DesiredQuote(b, "bid", 5000, 1000)])
    p2 = r.om.prepare(q2)
    assert p2 is not None and (a, Side.BID) in p2.frozen
    await r.om.send(p2)
    at_risk = r.bid_capital()
    answer.set()
    await sending
    assert at_risk <= cap, f"${at_risk / 1e6:.2f} at risk, cap ${cap / 1e6:.2f}"
    assert r.venue.resting(b), "B still gets what room is left"


async def test_an_amend_moving_a_bid_down_counts_the_old_price_until_answered(tmp_path):
    """The other direction: until the answer, the order may still rest at its old (dearer)
    price, and a fill there costs that price: the gate keeps counting it."""
    r = cost_rig(tmp_path, BIG)
    a = r.tickers[1]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 4500, 1000)]))
    r.venue.hold["amend"] = hold = asyncio.Event()  # the venue has not acted yet
    p = r.om.prepare(r.decide([DesiredQuote(a, "bid", 4000, 800)]))
    assert p is not None and len(p.amends) == 1
    sending = asyncio.create_task(r.om.send(p))
    await asyncio.sleep(0)
    (seen,) = r.inputs().resting[a]
    assert (seen.price, seen.remaining) == (4500, 1000)  # the worse of old and new
    hold.set()
    await sending
    (seen,) = r.inputs().resting[a]
    assert (seen.price, seen.remaining) == (4000, 800)  # answered: the new order alone


# ---- fills reported before their fill events --------------------------------------------


@pytest.mark.parametrize("hit", [600, 1000], ids=["6_of_10_filled", "all_10_filled"])
async def test_an_order_update_before_its_fills_counts_them_as_held(tmp_path, hit):
    """An order update saying 6 of our 10 filled cut `remaining` to 4 while the position
    still read 0: the gate saw 0 + 4 and the order was amended to total 16 (cap 10); with
    all 10 filled the order was EXECUTED, gone from the live orders, and a fresh 10 went
    out: 20."""
    r = position_rig(tmp_path)
    a = r.tickers[2]
    want = [DesiredQuote(a, "bid", 5000, 1000)]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide(want))
    r.venue.trade(a, Side.ASK, 5000, hit)
    late = r.late_fills()
    (vo,) = r.venue.orders.values()
    r.om.on_order_update(vo.view(r.clock.now_ns()))  # the user_order frame comes first

    assert r.inputs().positions[a] == hit
    await r.om.sync(r.decide(want))
    for f in late:
        r.om.on_fill(f)
    assert r.inputs().positions[a] == hit  # counted once the fills are applied
    assert r.held_and_resting(a) <= 1000


async def test_a_cancel_answer_before_the_fills_counts_them_as_held(tmp_path):
    """6 of 10 trade just before our cancel: its answer (`reduced_by` 4) lands before the
    fill frame; the order was CANCELED, the position 0, and a full 10 went out again: 16."""
    r = position_rig(tmp_path)
    a = r.tickers[2]
    want = [DesiredQuote(a, "bid", 5000, 1000)]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide(want))
    r.venue.trade(a, Side.ASK, 5000, 600)
    late = r.late_fills()
    await r.om.sync(r.decide([]))  # pull: the cancel is answered
    assert not r.state.live_orders(a)
    await r.om.sync(r.decide(want))
    for f in late:
        r.om.on_fill(f)
    assert r.held_and_resting(a) <= 1000


@pytest.mark.parametrize("change", ["amend", "decrease"])
async def test_an_amend_or_decrease_answer_before_the_fills_counts_them(tmp_path, change):
    """An amend's or a decrease's answer made after fills whose frames are late says what
    rests now (the new total less what filled): those fills are held, not free room."""
    r = position_rig(tmp_path)
    a = r.tickers[2]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 1000)]))
    r.venue.trade(a, Side.ASK, 5000, 600)
    late = r.late_fills()
    if change == "amend":  # a reprice up: the in-place rule lets it through at the cap
        p = await r.om.sync(r.decide([DesiredQuote(a, "bid", 5100, 1000)]))
        assert p is not None and len(p.amends) == 1
    else:
        p = await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 800)]))
        assert p is not None and len(p.decreases) == 1
    assert r.inputs().positions[a] == 600
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 5100, 1000)]))
    for f in late:
        r.om.on_fill(f)
    assert r.inputs().positions[a] == 600
    assert r.held_and_resting(a) <= 1000


async def test_owed_fills_move_the_event_capital_and_exposure_by_side(tmp_path):
    """An ask's owed fills are a short YES (NO bought at 1 - price): negative position, and
    their NO cost in the event's capital and the account's exposure, until they arrive."""
    r = position_rig(tmp_path)
    a = r.tickers[2]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "ask", 7000, 1000)]))
    before = r.inputs()
    r.venue.trade(a, Side.BID, 7000, 400)
    late = r.late_fills()
    (vo,) = r.venue.orders.values()
    r.om.on_order_update(vo.view(r.clock.now_ns()))
    owed = r.inputs()
    assert owed.positions[a] == -400
    no_cost = 4 * 300_000  # 4 NO at $0.30
    assert owed.event_capital - before.event_capital == no_cost
    assert owed.account_exposure - before.account_exposure == no_cost
    for f in late:
        r.om.on_fill(f)
    after = r.inputs()
    assert (after.positions[a], after.event_capital, after.account_exposure) == (
        owed.positions[a],
        owed.event_capital,
        owed.account_exposure,
    )
    assert not r.state.owing


async def test_a_restart_does_not_count_the_fills_of_the_ledger_again(tmp_path):
    """After a restart the orders come back from the ledger with the fills it applied; the
    venue's next order update reports those same fills: nothing is owed."""
    r = position_rig(tmp_path)
    a = r.tickers[2]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 1000)]))
    r.venue.trade(a, Side.ASK, 5000, 600)
    for f in r.late_fills():
        r.om.on_fill(f)
    r.om.flush_acks()
    r.ledger.close()

    r2 = position_rig(tmp_path, venue=r.venue)
    assert (await r2.om.start()).ok
    (vo,) = r.venue.orders.values()
    r2.om.on_order_update(vo.view(r2.clock.now_ns()))
    inp = r2.inputs()
    assert inp.positions[a] == 600 and not r2.state.owing
    assert [x.remaining for x in inp.resting[a]] == [400]
