"""What the risk gate is told about our orders while the venue knows more than we do.

The gate sees our live orders and positions through `app_parts.build_inputs`. An amend in
flight let the event cost cap be breached on the venue (reviewer's reproducer, kept here):
the venue may already rest the new order while the state still shows the old one, and the
planner freezes that (market, side), so this decision's quote there is never sent. The gate
counted the old (smaller, cheaper) order and gave the room it thought freed to other
markets, whose creates went out at once.

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
