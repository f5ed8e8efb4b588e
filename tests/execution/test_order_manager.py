"""OrderManager against an in-memory venue: real planner, reconcile, ledger and TradingState."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from pathlib import Path

import pytest
from fake_venue import FakeVenue, unavailable

from pmbot.clock import ManualClock
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.state import TradingState
from pmbot.errors import RateLimited
from pmbot.execution.order_manager import OrderManager, OrderManagerConfig
from pmbot.execution.reconcile import ReconcileConfig
from pmbot.store.ledger import Ledger
from pmbot.strategy.inputs import DesiredQuote

A, B = "KXINX-A", "KXINX-B"


class Bot:
    """One bot process: state + ledger + order manager over a shared venue and clock."""

    def __init__(self, venue: FakeVenue, clock: ManualClock, path: Path, **cfg) -> None:
        self.state = TradingState()
        self.ledger = Ledger(path).open()
        self.recovery = self.ledger.recover(self.state)
        self.risk: list[str] = []
        ids = itertools.count(1)
        cfg.setdefault("reconcile", ReconcileConfig(grace_ns=2_000_000_000))
        self.om = OrderManager(
            venue,
            self.state,
            self.ledger,
            clock,
            config=OrderManagerConfig(**cfg),
            new_id=lambda: f"{path.stem}-{clock.now_ns()}-{next(ids)}",
            on_risk=lambda reason, ctx: self.risk.append(reason),
        )

    def deliver(self, venue: FakeVenue, drop: bool = False) -> None:
        fills, venue.stream[:] = list(venue.stream), []
        if not drop:
            for f in fills:
                self.om.on_fill(f)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def venue(clock):
    return FakeVenue(clock.now_ns, max_batch=3)


def q(t, side, price, qty):
    return DesiredQuote(t, side, price, qty)


def resting_view(venue):
    return sorted((o.ticker, o.side.value, o.price, o.remaining) for o in venue.resting())


async def test_refuses_before_reconcile_then_quotes_with_batches(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    desired = [q(t, s, p, 500) for t in (A, B) for s, p in ((Side.BID, 4800), (Side.ASK, 5200))]
    assert await bot.om.sync(desired) is None and bot.om.stats.refused["unreconciled"] == 1
    # every client_order_id is in the ledger before the venue sees it
    seen = []
    venue.on_create = lambda req: seen.append(bot.ledger.get_order(req.client_order_id) is not None)
    assert (await bot.om.start()).ok
    p = await bot.om.sync(desired)
    # max batch 3 = the write budget of one pass: a batch of 3 now, the 4th on the next pass
    assert p.calls == 1 and venue.calls["batch_create"] == 1 and p.deferred == 1
    p = await bot.om.sync(desired)
    assert p.calls == 1 and venue.calls["create"] == 1
    assert all(seen) and len(seen) == 4
    assert resting_view(venue) == sorted(
        (t, s.value, pr, 500) for t in (A, B) for s, pr in ((Side.BID, 4800), (Side.ASK, 5200))
    )
    assert all(o.status is OrderStatus.RESTING and o.order_id for o in bot.state.live_orders())
    assert await bot.om.sync(desired) is not None and bot.om.stats.write_calls == 2  # no-op


async def test_write_budget_defers_instead_of_waiting(venue, clock, tmp_path):
    """A pass sends only what the venue's write budget pays for now; the rest is deferred
    and `budget_wait_s` says when to plan it (from the state of then), so no call waits."""
    asked: list[float] = []
    venue.write_op_cost, venue.write_cancel_cost = 10.0, 2.0
    venue.tokens = 25.0
    venue.write_budget = lambda: venue.tokens
    venue.write_wait_s = lambda tokens: asked.append(tokens) or 0.125
    bot = Bot(venue, clock, tmp_path / "b.db", max_new_ops_per_sync=-1)
    await bot.om.start()
    assert bot.om.budget_wait_s() is None
    desired = [q(t, s, p, 500) for t in (A, B) for s, p in ((Side.BID, 4800), (Side.ASK, 5200))]
    p = await bot.om.sync(desired)
    assert len(p.creates) == 2 and p.deferred == 2 and len(venue.resting()) == 2
    assert bot.om.budget_wait_s() == 0.125 and asked == [20.0]  # the next 2 items' tokens
    venue.tokens = 100.0
    p = await bot.om.sync(desired)
    assert len(p.creates) == 2 and p.deferred == 0 and len(venue.resting()) == 4
    assert bot.om.budget_wait_s() is None


async def test_only_new_orders_wait_for_the_disk(venue, clock, tmp_path):
    """A create's id is committed before the venue sees it; a pass that only amends, cuts or
    cancels writes nothing before its calls (its intents ride with the answers' commit)."""
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500), q(B, Side.ASK, 5200, 500)])
    (a,) = bot.state.live_orders(A)
    seen: list[list[str]] = []
    venue.on_amend = lambda req: seen.append(
        [k for _, k, _ in bot.ledger.order_events(req.client_order_id)]
    )
    await bot.om.sync([q(A, Side.BID, 4900, 500)])  # amend A, cancel B
    assert seen and "amend_sent" not in seen[0]  # nothing written before the call
    kinds = [k for _, k, _ in bot.ledger.order_events(a.client_order_id)]
    assert kinds[-2:] == ["amend_sent", "amend_ack"]  # both, in order, after the answers
    (b,) = [o for o in venue.orders.values() if o.ticker == B]
    assert venue.resting(B) == [] and "cancel_sent" in [
        k for _, k, _ in bot.ledger.order_events(b.client_order_id)
    ]


async def test_price_move_is_one_amend_and_size_cut_one_decrease(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500)])
    venue.trade(A, Side.ASK, 4800, 200)
    bot.deliver(venue)
    w0 = bot.om.stats.write_calls
    await bot.om.sync([q(A, Side.BID, 4900, 500)])
    assert bot.om.stats.write_calls - w0 == 1 and venue.calls["amend"] == 1
    assert resting_view(venue) == [(A, "bid", 4900, 500)]
    (o,) = bot.state.live_orders()
    assert (o.price, o.remaining, o.filled, o.initial) == (4900, 500, 200, 700)
    await bot.om.sync([q(A, Side.BID, 4900, 100)])
    assert venue.calls["decrease"] == 1 and resting_view(venue) == [(A, "bid", 4900, 100)]
    await bot.om.sync([])
    assert venue.calls["cancel"] == 1 and venue.resting() == [] and bot.state.live_orders() == []
    assert bot.state.position(A) == 200 and venue.positions[A] == 200


async def test_post_only_cross_then_requote_with_fresh_id(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    venue.external[A] = (4700, 5000)
    await bot.om.sync([q(A, Side.BID, 5000, 100)])
    assert bot.om.stats.rejects["post_only_cross"] == 1 and bot.om.stats.requote
    (rej,) = [o for o in bot.state.orders.values() if o.status is OrderStatus.REJECTED]
    await bot.om.sync([q(A, Side.BID, 4900, 100)])
    (live,) = bot.state.live_orders()
    assert live.client_order_id != rej.client_order_id and resting_view(venue) == [
        (A, "bid", 4900, 100)
    ]


async def test_insufficient_balance_tells_risk_and_429_pauses(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db", rate_limit_wait_s=2.0)
    await bot.om.start()
    ids = itertools.count(1)
    bot.om.new_id = lambda: f"x{next(ids)}"
    venue.reject_create["x1"] = "insufficient_balance"
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert bot.risk == ["insufficient_balance"]
    venue.fail["create"] = [RateLimited("slow down", status=429)]
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert bot.om.stats.rejects["rate_limited"] == 1 and venue.resting() == []
    assert await bot.om.sync([q(A, Side.BID, 4800, 100)]) is None
    assert bot.om.stats.refused["rate_limited"] == 1
    clock.advance(2.1)
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert resting_view(venue) == [(A, "bid", 4800, 100)]


async def test_timeout_after_create_is_unknown_then_reconciled_without_duplicate(
    venue, clock, tmp_path
):
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_retry_s=0.5)
    await bot.om.start()
    venue.fail_after["create"] = [unavailable()]
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    (o,) = bot.state.live_orders()
    assert o.status is OrderStatus.UNKNOWN and len(venue.resting()) == 1
    # the group is frozen: no duplicate while the outcome is unknown
    p = await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert p is not None and p.calls == 0 and len(venue.resting()) == 1
    clock.advance(1)
    await bot.om.sync([q(A, Side.BID, 4800, 100)])  # reconciles first: found by client_order_id
    (o,) = bot.state.live_orders()
    assert o.status is OrderStatus.RESTING and o.order_id == venue.resting()[0].order_id
    assert len(venue.resting()) == 1 and bot.om.stats.write_calls == 1


async def test_fills_deduplicated_and_backfilled_after_reconnect(venue, clock, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pmbot")
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500), q(A, Side.ASK, 5200, 500)])
    venue.trade(A, Side.ASK, 4800, 100)
    fills = list(venue.stream)
    bot.deliver(venue)
    for f in fills:  # the stream repeats itself
        assert bot.om.on_fill(f) is False
    venue.trade(A, Side.BID, 5200, 300)
    venue.trade(A, Side.ASK, 4800, 50)
    bot.deliver(venue, drop=True)  # lost during a disconnect
    clock.advance(1)
    rep = await bot.om.on_reconnect()
    assert rep.ok and len(rep.backfill) == 2
    assert bot.ledger.fill_count() == len(venue.fills) == 3
    # the fills found by reconciliation are in the audit log too, with their orders
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fill (backfill)")]
    assert sorted(m.split("trade_id=")[1].split()[0] for m in lines) == sorted(
        f.trade_id for f in rep.backfill
    )
    assert all(" order_id=" in m and " price=0." in m for m in lines)
    assert bot.state.position(A) == venue.positions[A] == -150
    ask = next(o for o in bot.state.live_orders() if o.side is Side.ASK)
    assert (ask.filled, ask.remaining) == (300, 200)


async def test_a_lost_fill_stays_in_the_backfill_window_after_a_newer_one(venue, clock, tmp_path):
    """The window starts at the last reconciliation whose positions agreed, not at the
    newest fill: a fill lost, then a newer one a minute later, is still fetched."""
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    venue.trade(A, Side.ASK, 4800, 300)
    bot.deliver(venue, drop=True)  # lost
    clock.advance(61)
    venue.trade(A, Side.ASK, 4800, 200)
    bot.deliver(venue)  # the newer one arrives
    rep = await bot.om.reconcile()
    assert rep.ok and len(rep.backfill) == 1
    assert bot.state.position(A) == venue.positions[A] == 500
    assert bot.ledger.fill_count() == 2


async def test_a_fill_racing_a_size_up_amend_leaves_one_order_of_the_right_size(
    venue, clock, tmp_path
):
    """Amend 5 -> 10 contracts; a taker takes 5 and its fill reaches us before the amend's
    answer (made before the fill). The order still rests 5: it must stay live here, not
    look executed (the planner would quote a second order beside it)."""
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500)], tickers=[A])
    amend = venue.amend

    async def amend_then_fill(req):
        ack = await amend(req)
        venue.trade(A, Side.ASK, 4800, 500)
        bot.deliver(venue)  # the stream's fill beats the HTTP answer
        return ack

    venue.amend = amend_then_fill
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    (o,) = bot.state.orders.values()
    assert o.status is OrderStatus.RESTING and (o.filled, o.remaining) == (500, 500)
    assert resting_view(venue) == [(A, "bid", 4800, 500)]
    venue.amend = amend
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])  # back up to 10: one order
    assert resting_view(venue) == [(A, "bid", 4800, 1000)]
    assert bot.state.position(A) == venue.positions[A] == 500


def _without_fill_count(call):
    """The venue call, answering as Kalshi does when nothing crossed: no fill_count (an
    amend reports its fill fields only if it crossed; a decrease never does, protocol §3.7)."""

    async def answer(req):
        return dataclasses.replace(await call(req), filled=None)

    return answer


@pytest.mark.parametrize("how", ["amend"])
async def test_a_change_after_an_unseen_partial_fill_keeps_the_rest_live(
    venue, clock, tmp_path, how
):
    """Regression (review): 6 of our 10 trade before we hear of it, then we reprice (amend,
    count 0 + 10: the venue rests 4). The answer does not say what filled; the fill then
    arrives. The order must stay RESTING with 4 left, not look EXECUTED with a total of 4
    (the planner then placed a second order)."""
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    venue.trade(A, Side.ASK, 4800, 600)  # its fill waits in the stream
    setattr(venue, how, _without_fill_count(getattr(venue, how)))
    new = q(A, Side.BID, 4900, 1000) if how == "amend" else q(A, Side.BID, 4800, 500)
    await bot.om.sync([new], tickers=[A])
    bot.deliver(venue)
    (o,) = bot.state.orders.values()
    assert o.status is OrderStatus.RESTING and (o.filled, o.remaining) == (600, 400)
    await bot.om.sync([new], tickers=[A])
    assert len(venue.resting()) == 1  # no second order beside it
    assert bot.state.position(A) == venue.positions[A] == 600


@pytest.mark.parametrize("unseen", [300, 500, 600])
async def test_a_cut_after_unseen_fills_never_leaves_a_second_order(venue, clock, tmp_path, unseen):
    """Regression (reviews): `unseen` of our 10 trade before we hear of it, then we cut to
    5. Asked as "reduce to", the venue's answer (no fill_count) could not tell those fills
    from the cut: a fill equal to the target made the order look EXECUTED while 5 rested,
    and the planner placed a second 5 beside it. Asked as "reduce by" (10 - 5), the new
    total is exact: what we knew filled plus 5. Whatever filled unseen, our view matches
    the venue's once the fill arrives, and the next decision never doubles the quote."""
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    venue.trade(A, Side.ASK, 4800, unseen)  # its fill waits in the stream
    venue.decrease = _without_fill_count(venue.decrease)
    await bot.om.sync([q(A, Side.BID, 4800, 500)], tickers=[A])
    bot.deliver(venue)
    ours = sorted((o.price, o.remaining) for o in bot.state.live_orders())
    assert ours == [(p, r) for _, _, p, r in resting_view(venue)]  # the same view
    await bot.om.sync([q(A, Side.BID, 4800, 500)], tickers=[A])
    assert sum(r for *_, r in resting_view(venue)) == 500  # never more than wanted
    ours = sorted((o.price, o.remaining) for o in bot.state.live_orders())
    assert ours == [(p, r) for _, _, p, r in resting_view(venue)]
    assert bot.state.position(A) == venue.positions[A] == unseen


async def test_a_refused_size_up_amend_keeps_the_old_total(venue, clock, tmp_path):
    from pmbot.errors import OrderRejected

    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500)], tickers=[A])
    venue.fail["amend"] = [OrderRejected("no", status=400, code="invalid_order")]
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    (o,) = bot.state.orders.values()
    assert (o.initial, o.remaining, o.status) == (500, 500, OrderStatus.RESTING)
    venue.trade(A, Side.ASK, 4800, 500)
    bot.deliver(venue)
    assert o.status is OrderStatus.EXECUTED and o.remaining == 0


async def test_cancel_404_after_fill_resolved_via_list_and_fills(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_retry_s=0.0)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    venue.trade(A, Side.ASK, 4800, 100)  # executed at the venue; the stream has not told us
    await bot.om.sync([])  # cancel -> 404
    (o,) = bot.state.live_orders()
    assert o.status is OrderStatus.UNKNOWN and venue.calls["cancel"] == 1
    await bot.om.sync([])  # the stream gets a moment to explain the 404 first
    assert venue.calls["list_orders"] == 1
    clock.advance(0.5)
    await bot.om.sync([])  # then reconcile: the orders list says executed; fills backfilled
    assert bot.state.orders[o.client_order_id].status is OrderStatus.EXECUTED
    assert bot.state.position(A) == 100 and bot.om.reconciled


async def test_cancel_race_list_still_resting_is_cancelled_again(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    oid = venue.resting()[0].order_id
    await bot.om.sync([])
    venue.stale_resting[oid] = 1  # the next list still says resting
    rep = await bot.om.reconcile()
    assert rep.ok and rep.foreign == 0 and [u.order_id for u in rep.cancel] == [oid]
    assert venue.resting() == []


async def test_unknown_venue_orders_cancelled_or_adopted(venue, clock, tmp_path):
    fid = venue.add_foreign(A, Side.BID, 4000, 100)
    bot = Bot(venue, clock, tmp_path / "b.db")
    rep = await bot.om.start()
    assert rep.foreign == 1 and venue.orders[fid].status is OrderStatus.CANCELED
    fid2 = venue.add_foreign(B, Side.ASK, 6000, 100)
    bot2 = Bot(venue, clock, tmp_path / "c.db", reconcile=ReconcileConfig(unknown_orders="adopt"))
    await bot2.om.start()
    (o,) = bot2.state.live_orders()
    assert o.order_id == fid2 and bot2.ledger.get_order(o.client_order_id) is not None
    await bot2.om.sync([q(B, Side.ASK, 5900, 100)])  # adopted orders are managed like ours
    assert venue.calls["amend"] == 1 and resting_view(venue) == [(B, "ask", 5900, 100)]


async def test_unknown_settled_by_the_stream_needs_no_reconcile(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    venue.trade(A, Side.ASK, 4800, 100)
    await bot.om.sync([q(A, Side.BID, 4900, 100)])  # amend -> 404: it just filled
    lists = venue.calls["list_orders"]
    bot.deliver(venue)  # the fill arrives on the stream: EXECUTED
    clock.advance(1)
    await bot.om.sync([q(A, Side.BID, 4900, 100)])
    assert venue.calls["list_orders"] == lists  # no reconciliation was needed
    assert resting_view(venue) == [(A, "bid", 4900, 100)] and bot.state.position(A) == 100


async def test_position_mismatch_refuses_to_quote(venue, clock, tmp_path):
    venue.positions[A] = 300  # the venue says we hold what no fill explains
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=2, reconcile_retry_s=0.1)
    start = asyncio.create_task(bot.om.start())
    while not start.done():
        await asyncio.sleep(0)
        clock.advance(0.1)
    rep = start.result()
    assert not rep.ok and rep.position_mismatches[0].venue == 300
    assert await bot.om.sync([q(A, Side.BID, 4800, 100)]) is None and venue.resting() == []


async def test_cancel_all_verified_and_loud_timeout(venue, clock, tmp_path, caplog):
    bot = Bot(venue, clock, tmp_path / "b.db", order_group_limit=10_000, cancel_all_timeout_s=1.0)
    await bot.om.start()
    await bot.om.sync(
        [q(t, s, p, 100) for t in (A, B) for s, p in ((Side.BID, 4800), (Side.ASK, 5200))]
    )
    venue.add_foreign(B, Side.BID, 4000, 100)
    group = bot.om.order_group_id
    assert group is not None and bot.om.venue_tripped_group(group, "triggered")
    assert not bot.om.venue_tripped_group("og_other", "triggered")
    assert not bot.om.venue_tripped_group(group, "limit_updated")
    assert await bot.om.cancel_all("test") is True
    # our own cancel-all triggers the group: its echo on order_group_updates is no trip
    assert not bot.om.venue_tripped_group(group, "triggered")
    assert venue.resting() == [] and bot.state.live_orders() == []
    assert await bot.om.sync([q(A, Side.BID, 4800, 100)]) is None  # halted
    # a venue that never lets go of one order: retry until the timeout, then say so loudly
    old_group = bot.om.order_group_id
    await bot.om.resume()  # the triggered group would reject every new order: a fresh one
    assert bot.om.order_group_id != old_group and old_group not in venue.groups
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    venue.sticky.add(venue.resting()[0].order_id)
    task = asyncio.create_task(bot.om.cancel_all("stuck"))
    with caplog.at_level(logging.CRITICAL, logger="pmbot.execution"):
        while not task.done():
            await asyncio.sleep(0)
            clock.advance(0.25)
        assert task.result() is False
    assert "CANCEL_ALL NOT CONFIRMED" in caplog.text


async def test_kill_9_restart_continues_from_ledger(venue, clock, tmp_path):
    path = tmp_path / "bot.db"
    bot = Bot(venue, clock, path)
    await bot.om.start()
    await bot.om.sync(
        [q(A, Side.BID, 4800, 500), q(A, Side.ASK, 5200, 500), q(B, Side.BID, 3000, 200)]
    )
    venue.trade(A, Side.ASK, 4800, 200)
    bot.deliver(venue)
    venue.trade(A, Side.BID, 5200, 100)
    bot.deliver(venue, drop=True)  # the process dies before it hears of this fill
    # a create written to the ledger whose request never left (killed in between)
    from pmbot.core.orders import LiveOrder

    ghost = LiveOrder(
        "ghost",
        B,
        Side.ASK,
        7000,
        100,
        100,
        OrderStatus.PENDING,
        created_ns=clock.now_ns(),
        updated_ns=clock.now_ns(),
    )
    bot.ledger.add_orders([ghost])
    del bot  # kill -9: no cancel, no close
    clock.advance(5)
    bot2 = Bot(venue, clock, path)
    assert bot2.recovery.live_orders == 4 and bot2.recovery.fills == 1
    rep = await bot2.om.start()
    assert rep.ok and len(rep.backfill) == 1 and rep.foreign == 0
    assert bot2.state.orders["ghost"].status is OrderStatus.REJECTED
    # every venue fill exactly once, positions equal the venue's, no orphan resting orders
    assert sorted(f.trade_id for f in bot2.ledger.fills()) == sorted(
        f.trade_id for f in venue.fills
    )
    assert bot2.state.position(A) == venue.positions[A] == 100
    ours = {o.order_id for o in bot2.state.live_orders()}
    assert ours == {o.order_id for o in venue.resting()}
    # it carries on managing the same orders: a price move is one amend, not a new order
    await bot2.om.sync(
        [q(A, Side.BID, 4700, 300), q(A, Side.ASK, 5200, 400), q(B, Side.BID, 3000, 200)]
    )
    assert venue.calls["amend"] == 1 and venue.calls["create"] + venue.calls["batch_create"] == 1
    assert resting_view(venue) == [
        (A, "ask", 5200, 400),
        (A, "bid", 4700, 300),
        (B, "bid", 3000, 200),
    ]


async def test_quoting_goes_on_during_reconcile_and_stale_lists_change_nothing(
    venue, clock, tmp_path
):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100), q(B, Side.BID, 4800, 100)])
    venue.hold["list_orders"] = gate = asyncio.Event()
    rec = asyncio.create_task(bot.om.reconcile())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not rec.done()  # its resting list (A at 4800, B) is computed and held
    # meanwhile: reprice A, pull B, add an ask on A; none of it may be undone or redone
    p = await bot.om.sync([q(A, Side.BID, 4900, 100), q(A, Side.ASK, 5300, 100)])
    assert p is not None and p.calls == 3
    gate.set()
    del venue.hold["list_orders"]
    rep = await rec
    assert rep.ok and not rep.fixes and not rep.cancel and not rep.backfill
    assert venue.calls["cancel"] == 1  # only the sync's own
    assert resting_view(venue) == [(A, "ask", 5300, 100), (A, "bid", 4900, 100)]
    view = sorted((o.ticker, o.side.value, o.price, o.remaining) for o in bot.state.live_orders())
    assert view == resting_view(venue)
    rep = await bot.om.reconcile()  # a fresh look agrees
    assert rep.ok and not rep.fixes and not rep.cancel


async def test_cancel_all_waits_for_a_create_in_flight(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    venue.hold["create"] = gate = asyncio.Event()
    s1 = asyncio.create_task(bot.om.sync([q(A, Side.BID, 4800, 100)]))
    await asyncio.sleep(0)
    ca = asyncio.create_task(bot.om.cancel_all("sigterm"))
    await asyncio.sleep(0)
    gate.set()
    await s1
    assert await ca is True and venue.resting() == [] and bot.state.live_orders() == []


async def test_a_create_cut_off_by_a_stop_is_left_to_reconciliation(venue, clock, tmp_path):
    """A stop cancels a sync whose create never answered: the order leaves the in-flight set
    as UNKNOWN, so the stop's reconciliation settles it (before, it stayed in flight and
    the ledger kept a live order after a clean shutdown)."""
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    venue.hold["create"] = asyncio.Event()  # the venue never answers
    s1 = asyncio.create_task(bot.om.sync([q(A, Side.BID, 4800, 100)]))
    for _ in range(5):
        await asyncio.sleep(0)
    assert venue.calls["create"] == 1
    s1.cancel()
    with pytest.raises(asyncio.CancelledError):
        await s1
    (o,) = bot.state.orders.values()
    assert o.status is OrderStatus.UNKNOWN and not bot.om.in_flight
    del venue.hold["create"]
    clock.advance(3.0)  # past the grace: an unacknowledged create absent everywhere never arrived
    assert await bot.om.cancel_all("sigterm") is True
    assert bot.state.live_orders() == [] and bot.ledger.live_orders() == []


async def test_settlement_closes_position_and_is_recovered(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4000, 300)])
    venue.trade(A, Side.ASK, 4000, 300)
    bot.deliver(venue)
    assert bot.om.on_settlement(A, True, clock.now_ns()) == (10_000 - 4000) * 300
    bot2 = Bot(venue, clock, tmp_path / "b.db")
    p = bot2.state.positions[A]
    assert p.qty == 0 and p.realized == (10_000 - 4000) * 300 and bot2.recovery.settlements == 1


async def test_a_market_settled_while_the_bot_was_down_is_settled_at_restart(
    venue, clock, tmp_path
):
    """The venue's positions list only unsettled markets: a position that settled while we
    were down is found in its settlements, booked, and quoting goes on (it refused forever)."""
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500)], tickers=[A])
    venue.trade(A, Side.ASK, 4800, 500)
    bot.deliver(venue)
    bot.om.flush_acks()
    bot.ledger.close()
    venue.settle(A, yes_won=True)
    clock.advance(3600)
    bot2 = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    assert bot2.state.position(A) == 500
    rep = await bot2.om.start()
    assert rep.ok and bot2.state.position(A) == 0
    assert bot2.state.positions[A].realized == (10_000 - 4800) * 500
    assert await bot2.om.sync([q(B, Side.BID, 5000, 500)], tickers=[B]) is not None
    bot3 = Bot(venue, clock, tmp_path / "b.db")  # and the ledger has it
    assert bot3.state.position(A) == 0 and bot3.recovery.settlements == 1


async def test_cancel_rejected_after_close_is_not_retried_forever(venue, clock, tmp_path):
    from pmbot.errors import OrderRejected

    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    venue.fail["cancel"] = [OrderRejected("closed", status=400, code="market_closed")]
    await bot.om.sync([])
    assert bot.state.live_orders() == [] and bot.om.stats.rejects["market_closed"] == 1
    await bot.om.sync([])
    assert venue.calls["cancel"] == 1


async def test_run_metadata_recorded(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert await bot.om.shutdown("test")
    row = bot.ledger.db.execute("SELECT run_id, ended_ns, info FROM runs").fetchone()
    assert (
        row[0] == bot.om.run_id and row[1] is not None and '"cancel_all_confirmed": true' in row[2]
    )
    assert len(bot.ledger.known_ids()[0]) == 1
    assert bot.ledger.db.execute("SELECT run_id FROM orders").fetchone()[0] == bot.om.run_id


@pytest.mark.parametrize("seed", range(40))
async def test_random_walk_with_faults_converges(venue, clock, tmp_path, seed):
    await _random_walk(venue, clock, tmp_path, seed)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(40, 3000))
async def test_random_walk_soak(venue, clock, tmp_path, seed):
    await _random_walk(venue, clock, tmp_path, seed)


async def _random_walk(venue, clock, tmp_path, seed):
    """Random quotes, takers and faults; then calm: the venue ends up holding exactly the
    desired set, each venue fill is in the ledger once, positions agree, nothing orphaned."""
    import random

    from pmbot.errors import VenueUnavailable

    rng = random.Random(seed)
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_retry_s=0.5)
    await bot.om.start()
    tickers = [A, B, "KXINX-C"]

    def desired_set():
        out = []
        for t in tickers:
            if rng.random() < 0.85:
                mid = rng.randrange(40, 60) * 100
                out.append(q(t, Side.BID, mid - 100 * rng.randint(1, 2), 100 * rng.randint(1, 4)))
                out.append(q(t, Side.ASK, mid + 100 * rng.randint(1, 2), 100 * rng.randint(1, 4)))
        return out

    kinds = ["create", "batch_create", "cancel", "batch_cancel", "amend", "decrease"]
    for _ in range(30):
        if rng.random() < 0.3:  # a fault on the next call of some kind
            k = rng.choice(kinds)
            if rng.random() < 0.5 and k != "batch_cancel":  # done, but the answer is lost
                venue.fail_after.setdefault(k, []).append(VenueUnavailable("timeout"))
            else:  # refused before processing (a 429 never acts) or a timeout before it
                err = (
                    VenueUnavailable("timeout")
                    if rng.random() < 0.5
                    else RateLimited("429", status=429)
                )
                venue.fail.setdefault(k, []).append(err)
        if rng.random() < 0.2:  # a reconciliation whose lists go stale while we quote
            venue.hold["list_orders"] = gate = asyncio.Event()
            rec = asyncio.create_task(bot.om.reconcile())
            for _ in range(rng.randint(1, 6)):
                await asyncio.sleep(0)
            await bot.om.sync(desired_set())
            gate.set()
            del venue.hold["list_orders"]
            await rec
        else:
            await bot.om.sync(desired_set())
        for t in tickers:
            if rng.random() < 0.3:
                venue.trade(
                    t,
                    rng.choice([Side.BID, Side.ASK]),
                    rng.randrange(40, 60) * 100,
                    100 * rng.randint(1, 3),
                )
        bot.deliver(venue, drop=rng.random() < 0.2)
        gone = [o.order_id for o in venue.orders.values() if o.status is OrderStatus.CANCELED]
        if gone and rng.random() < 0.3:  # the cancel race: the list still says resting
            venue.stale_resting[rng.choice(gone)] = 1
        if rng.random() < 0.05:  # someone else's order on our account
            venue.add_foreign(rng.choice(tickers), Side.BID, 1000, 100)
        clock.advance(rng.choice([0.1, 0.6, 1.1]))
        # invariant: never two of our orders resting at one (ticker, side, price)
        keys = [(o.ticker, o.side, o.price) for o in venue.resting() if o.client_order_id]
        assert len(keys) == len(set(keys)), (
            [
                (o.order_id, o.client_order_id, o.ticker, o.side.value, o.price, o.remaining)
                for o in venue.resting()
            ],
            [
                (o.client_order_id, o.order_id, o.status.value, o.ticker, o.side.value, o.price)
                for o in bot.state.orders.values()
                if o.ticker == A
            ],
        )
    # calm: no faults, the stream works
    venue.fail.clear()
    venue.fail_after.clear()
    final = desired_set()
    for _ in range(8):
        clock.advance(3)
        await bot.om.reconcile()
        await bot.om.sync(final)
        bot.deliver(venue)
    want = sorted((d.ticker, d.side.value, d.price, d.qty) for d in final)
    assert resting_view(venue) == want
    assert sorted((f.trade_id, f.order_id) for f in bot.ledger.fills()) == sorted(
        (f.trade_id, f.order_id) for f in venue.fills
    )
    for t in tickers:
        assert bot.state.position(t) == venue.positions[t]
    assert {o.order_id for o in bot.state.live_orders()} == {o.order_id for o in venue.resting()}


async def test_voided_provisional_fill_rolled_back(venue, clock, tmp_path):
    from pmbot.core.events import Fill, FillVoided

    bot = Bot(venue, clock, tmp_path / "b.db")
    f = Fill("t9", "o9", A, Side.BID, 4000, 300, 0, False, 5, provisional=True)
    assert bot.om.on_fill(f) and bot.state.position(A) == 300
    assert bot.om.on_fill_voided(FillVoided("t9", "o9", 6))
    assert bot.state.position(A) == 0 and bot.ledger.fill_count() == 0
    assert bot.ledger.positions()[A].qty == 0
    assert not bot.om.on_fill_voided(FillVoided("t9", "o9", 7))


async def test_prune_drops_old_terminal_orders_only(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100), q(B, Side.BID, 4800, 100)])
    await bot.om.sync([q(B, Side.BID, 4800, 100)])  # A cancelled
    clock.advance(600)
    assert bot.om.prune() == 1 and len(bot.state.orders) == 1
    # the ledger still knows it: reconciliation stays clean
    rep = await bot.om.reconcile()
    assert rep.ok and rep.foreign == 0 and not rep.cancel


async def test_rate_limit_backoff_still_pulls_quotes(venue, clock, tmp_path):
    """Regression (chaos suite, WS drop): during a 429 backoff new risk waits, cancels do not."""
    bot = Bot(venue, clock, tmp_path / "b.db", rate_limit_wait_s=2.0)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert resting_view(venue) == [(A, "bid", 4800, 100)]
    venue.fail["create"] = [RateLimited("slow down", status=429)]
    await bot.om.sync([q(A, Side.BID, 4800, 100), q(B, Side.BID, 4700, 100)])
    assert bot.om.stats.rejects["rate_limited"] == 1
    # the book of A goes stale: the strategy wants nothing there; B still may not be created
    await bot.om.sync([q(B, Side.BID, 4700, 100)])
    assert resting_view(venue) == []
    assert bot.om.stats.refused["rate_limited"] == 1
    clock.advance(2.1)
    await bot.om.sync([q(B, Side.BID, 4700, 100)])
    assert resting_view(venue) == [(B, "bid", 4700, 100)]


async def test_unreconciled_still_pulls_quotes_it_knows(venue, clock, tmp_path):
    """Regression (chaos suite, mixed storm): while reconciliation keeps failing (429s), quotes
    on stale books were left resting for 10 s; cancels now go, creates still wait."""
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert resting_view(venue) == [(A, "bid", 4800, 100)]
    bot.ledger.close()
    bot2 = Bot(venue, clock, tmp_path / "b.db")  # restarted, not reconciled yet
    assert await bot2.om.sync([q(B, Side.BID, 4700, 100)]) is not None
    assert resting_view(venue) == [] and bot2.om.stats.refused["unreconciled"] == 1


async def test_restart_after_acks_lost_before_their_commit(venue, clock, tmp_path):
    """Killed after the venue acknowledged but before the ack rows were committed: the
    ledger still says PENDING without venue ids; the restart settles them by client id."""
    path = tmp_path / "bot.db"
    bot = Bot(venue, clock, path)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100), q(B, Side.ASK, 5200, 100)])
    bot.ledger.db.execute("UPDATE orders SET status='pending', order_id=NULL")
    del bot
    clock.advance(1)
    bot2 = Bot(venue, clock, path)
    assert {o.status for o in bot2.state.live_orders()} == {OrderStatus.PENDING}
    rep = await bot2.om.start()
    assert rep.clean and len(rep.fixes) == 2 and not rep.cancel
    assert {o.order_id for o in bot2.state.live_orders()} == {o.order_id for o in venue.resting()}
    await bot2.om.sync([q(A, Side.BID, 4800, 100), q(B, Side.ASK, 5200, 100)])
    assert len(venue.resting()) == 2 and bot2.om.stats.write_calls == 0


async def test_periodic_task_settles_unknowns_so_sync_never_waits(venue, clock, tmp_path):
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_retry_s=0.5, reconcile_interval_s=30)
    await bot.om.start()
    per = asyncio.create_task(bot.om.run_periodic())
    await asyncio.sleep(0)
    venue.fail_after["create"] = [unavailable()]
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    (o,) = bot.state.live_orders()
    assert o.status is OrderStatus.UNKNOWN
    lists = venue.calls["list_orders"]
    clock.advance(1)
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    assert venue.calls["list_orders"] == lists  # sync did not reconcile inline
    for _ in range(3):
        clock.advance(0.5)
        for _ in range(20):
            await asyncio.sleep(0)
    assert o.status is OrderStatus.RESTING and venue.calls["list_orders"] > lists
    per.cancel()
    with pytest.raises(asyncio.CancelledError):
        await per


async def test_a_failing_reconcile_stops_quoting_without_raising(venue, clock, tmp_path):
    from pmbot.errors import VenueUnavailable

    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_retry_s=0.5)
    await bot.om.start()
    venue.fail_after["create"] = [unavailable()]
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    venue.fail["list_orders"] = [VenueUnavailable("down")]
    clock.advance(1)
    assert await bot.om.sync([q(A, Side.BID, 4800, 100)]) is None  # reconcile failed: no quoting
    assert not bot.om.reconciled
    clock.advance(1)
    assert await bot.om.sync([q(A, Side.BID, 4800, 100)]) is not None  # retried and recovered
    assert len(venue.resting()) == 1 and bot.om.reconciled


async def test_a_restart_between_determined_and_settled_still_quotes(venue, clock, tmp_path):
    """Closed here at the determination (ledger row written); the venue lists the position
    until it settles, minutes later: a restart in between must not refuse to quote."""
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4000, 300)])
    venue.trade(A, Side.ASK, 4000, 300)
    bot.deliver(venue)
    bot.om.on_settlement(A, True, clock.now_ns())  # determined: closed here
    bot.om.flush_acks()
    bot.ledger.close()
    assert venue.positions[A] == 300  # not settled on the venue yet
    bot2 = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    rep = await bot2.om.start()
    assert rep.ok and bot2.state.position(A) == 0
    assert await bot2.om.sync([q(B, Side.BID, 5000, 500)], tickers=[B]) is not None


async def test_an_ack_commit_that_fails_is_written_by_the_next_flush(venue, clock, tmp_path):
    """Another process holds the database's write lock past the busy timeout: the queued new
    order states stay queued (they were dropped, so the ledger said resting for good)."""
    import dataclasses
    import sqlite3

    path = tmp_path / "b.db"
    bot = Bot(venue, clock, path)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500)])
    (o,) = bot.state.live_orders()
    v = venue.orders[o.order_id]
    v.status, v.remaining = OrderStatus.CANCELED, 0  # the venue cancels it; the stream says so
    bot.om.on_order_update(dataclasses.replace(v.view(clock.now_ns())))
    bot.ledger.db.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the write lock, held
    with pytest.raises(sqlite3.OperationalError):
        bot.om.flush_acks()
    other.execute("ROLLBACK")
    other.close()
    bot.om.flush_acks()
    assert bot.ledger.get_order(o.client_order_id).status is OrderStatus.CANCELED
    assert bot.ledger.live_orders() == []


async def test_a_restart_after_kill_9_takes_over_the_dead_runs_order_group(venue, clock, tmp_path):
    """The adopted orders stay under the group this run watches; no group is left behind
    (a new group per restart split the limit and was never deleted)."""
    path = tmp_path / "b.db"
    bot = Bot(venue, clock, path, order_group_limit=10_000)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100), q(A, Side.ASK, 5200, 100)])
    g1 = bot.om.order_group_id
    del bot  # kill -9
    bot2 = Bot(venue, clock, path, order_group_limit=10_000)
    assert (await bot2.om.start()).ok
    assert bot2.om.order_group_id == g1 and list(venue.groups) == [g1]
    assert {o.group for o in venue.resting()} == {g1} and len(venue.resting()) == 2
    assert await bot2.om.shutdown("test")
    assert venue.groups == {} and bot2.ledger.get_meta("order_group_id") == ""
    bot3 = Bot(venue, clock, path, order_group_limit=10_000)  # after a clean stop: a new one
    await bot3.om.start()
    assert bot3.om.order_group_id not in (None, g1) and list(venue.groups) == [
        bot3.om.order_group_id
    ]


async def test_transient_refusals_of_the_order_group_create_do_not_end_the_start(
    venue, clock, tmp_path
):
    """A 429 (a restart right after the write budget was spent) or a 5xx on the group create
    used to be fatal before the first quote."""
    from pmbot.errors import RateLimited

    venue.fail["create_order_group"] = [RateLimited("too many requests", status=429), unavailable()]
    bot = Bot(venue, clock, tmp_path / "b.db", order_group_limit=10_000)
    start = asyncio.create_task(bot.om.start())
    while not start.done():
        await asyncio.sleep(0)
        clock.advance(0.5)
    assert start.result().ok and bot.om.order_group_id in venue.groups


async def test_an_order_group_that_cannot_be_taken_over_is_deleted_not_left_unwatched(
    venue, clock, tmp_path
):
    """A 429 on the takeover is retried; a refusal that lasts deletes the old group (its
    orders cancelled) instead of leaving them in a group no run watches, and forgotten."""
    from pmbot.errors import RateLimited

    path = tmp_path / "b.db"
    bot = Bot(venue, clock, path, order_group_limit=10_000)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 100)])
    g1 = bot.om.order_group_id
    del bot  # kill -9

    async def start(b: Bot) -> None:
        task = asyncio.create_task(b.om.start())
        while not task.done():
            await asyncio.sleep(0)
            clock.advance(0.5)
        assert task.result().ok

    venue.fail["reuse_order_group"] = [RateLimited("too many requests", status=429)]
    bot2 = Bot(venue, clock, path, order_group_limit=10_000)
    await start(bot2)
    assert bot2.om.order_group_id == g1 and {o.group for o in venue.resting()} == {g1}
    del bot2  # kill -9 again, and now the venue keeps refusing the takeover
    venue.fail["reuse_order_group"] = [RateLimited("too many requests", status=429)] * 10
    bot3 = Bot(venue, clock, path, order_group_limit=10_000)
    await start(bot3)
    g3 = bot3.om.order_group_id
    assert g3 != g1 and list(venue.groups) == [g3]  # the old one deleted, not leaked
    assert all(o.group == g3 for o in venue.resting())  # nothing rests outside it


async def test_a_failed_catch_up_after_a_reconnect_is_retried_not_fatal(venue, clock, tmp_path):
    """Regression (review): a reconnect is when the venue is flaky; a REST failure in the
    catch-up reconcile raised out of the quote loop and ended the run. It now leaves the
    manager unreconciled (no quoting) for the periodic task to retry, like any reconcile."""
    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 500)])

    async def down():
        raise unavailable()

    get_positions = venue.get_positions
    venue.get_positions = down
    clock.advance(1)
    assert await bot.om.on_reconnect() is None
    assert not bot.om.reconciled
    assert bot.om._needs_reconcile  # what run_periodic retries within reconcile_retry_s
    venue.get_positions = get_positions
    assert (await bot.om.reconcile()).ok and bot.om.reconciled


async def test_a_post_only_quote_repriced_into_the_book_is_not_amended(venue, clock, tmp_path):
    """Regression (review): an amend carries no post_only, and a Kalshi amend that crosses
    trades as a taker (the reference: "contracts filled as a result of the amend crossing the
    book"). A post_only quote repriced to meet the book goes out as cancel + post_only create
    (which the venue refuses if it still crosses); one that does not cross is still amended."""
    from pmbot.core.book import BinaryBook
    from pmbot.core.money import PriceGrid

    bot = Bot(venue, clock, tmp_path / "b.db")
    await bot.om.start()
    book = bot.state.books[A] = BinaryBook(PriceGrid.linear_cent(), A)
    book.apply_delta(False, 10_000 - 4900, 300)  # the best YES ask: 0.49
    await bot.om.sync([DesiredQuote(A, Side.BID, 4700, 500, True)], tickers=[A])
    await bot.om.sync([DesiredQuote(A, Side.BID, 4800, 500, True)], tickers=[A])
    assert venue.calls["amend"] == 1  # below the ask: amended
    await bot.om.sync([DesiredQuote(A, Side.BID, 4900, 500, True)], tickers=[A])
    assert venue.calls["amend"] == 1 and venue.calls["cancel"] == 1
    assert resting_view(venue) == [(A, "bid", 4900, 500)]  # the new create (not refused here)


async def test_a_cut_after_an_order_update_told_of_fills_still_on_their_way(venue, clock, tmp_path):
    """Regression (review): Kalshi's user_orders and fill channels are separate. The order
    update (6 of 10 filled, 4 rest) came before the two fill events; the cut to 2 took the
    filled count from applied fills only (0): total 2, and the first late fill made the
    order look executed while 2 rested, so the next decision quoted a second 2."""
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    venue.trade(A, Side.ASK, 4800, 200)  # two takers: 2 + 4 of our 10
    venue.trade(A, Side.ASK, 4800, 400)
    (vo,) = venue.resting(A)
    bot.om.on_order_update(vo.view(clock.now_ns()))  # filled 6, rests 4: fills to come
    await bot.om.sync([q(A, Side.BID, 4800, 200)], tickers=[A])  # cut to 2
    bot.deliver(venue)  # the two fill events
    (o,) = bot.state.orders.values()
    assert o.status is OrderStatus.RESTING and (o.filled, o.remaining) == (600, 200)
    await bot.om.sync([q(A, Side.BID, 4800, 200)], tickers=[A])
    assert resting_view(venue) == [(A, "bid", 4800, 200)]  # never a second order


async def test_a_cut_whose_rest_then_trades_ends_executed_not_canceled(venue, clock, tmp_path):
    """Regression (review): what the cut left traded at once and its fill beat the cut's
    answer: the order was called CANCELED (nothing was cancelled), and the venue's later
    `executed` could not move it from there, in state or in the ledger."""
    bot = Bot(venue, clock, tmp_path / "b.db", reconcile_passes=1)
    await bot.om.start()
    await bot.om.sync([q(A, Side.BID, 4800, 1000)], tickers=[A])
    cut = venue.decrease

    async def decrease_then_trade(req):
        ack = await cut(req)  # the venue rests 5
        venue.trade(A, Side.ASK, 4800, 500)  # and they trade at once
        bot.deliver(venue)  # the fill's event beats the decrease's answer
        return ack

    venue.decrease = decrease_then_trade
    await bot.om.sync([q(A, Side.BID, 4800, 500)], tickers=[A])
    (o,) = bot.state.orders.values()
    (vo,) = venue.orders.values()
    bot.om.on_order_update(vo.view(clock.now_ns()))
    bot.om.flush_acks()
    row = bot.ledger.get_order(o.client_order_id)
    assert vo.status is o.status is OrderStatus.EXECUTED
    assert row is not None and row.status is OrderStatus.EXECUTED
