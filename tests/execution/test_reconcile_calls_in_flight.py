"""Found in review (failed before its fix): reconciliation clears `amending` on an order whose amend
was in flight when the venue's resting list was taken, and whose outcome became unknown
(answer lost) while the reconciliation was still fetching. The list predates the amend:
the order looks unchanged, the new code drops `amending`, and the gate counts the old
1000 while the venue rests 2000."""

from __future__ import annotations

import asyncio

from fake_venue import unavailable
from test_gate_view import position_rig

from pmbot.strategy.inputs import DesiredQuote


async def test_amend_in_flight_during_list_keeps_amending(tmp_path):
    r = position_rig(tmp_path, cap=5000)
    a = r.tickers[2]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 1000)]))
    r.venue.hold["amend"] = go_amend = asyncio.Event()
    r.venue.fail_after["amend"] = [unavailable()]  # acts on the venue; answer lost
    sync = asyncio.create_task(r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 2000)])))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert r.venue.calls["amend"] == 1
    r.venue.hold["list_orders"] = go_list = asyncio.Event()
    rec = asyncio.create_task(r.om.reconcile())
    for _ in range(20):
        await asyncio.sleep(0)
    assert r.venue.calls["list_orders"] >= 1  # the resting list is taken: 1000 rests
    go_amend.set()  # now the amend acts (2000) and its answer is lost
    await sync
    r.venue.hold.pop("list_orders")
    go_list.set()
    await rec
    (vo,) = r.venue.resting(a)
    (o,) = r.state.live_orders(a)
    (seen,) = r.inputs().resting[a]
    assert o.amending is not None
    assert seen.remaining >= vo.remaining, "the gate counts less than the venue rests"


async def test_amend_answered_during_reconcile_is_not_reverted_by_the_older_list(tmp_path):
    """Same race, the amend's answer arrives (OK) while reconciliation still fetches: the
    resting list predates it, and the fix built from it puts the old size back in state."""
    r = position_rig(tmp_path, cap=5000)
    a = r.tickers[2]
    assert (await r.om.start()).ok
    await r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 1000)]))
    r.venue.hold["amend"] = go_amend = asyncio.Event()
    sync = asyncio.create_task(r.om.sync(r.decide([DesiredQuote(a, "bid", 5000, 2000)])))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    r.venue.hold["list_orders"] = go_list = asyncio.Event()
    rec = asyncio.create_task(r.om.reconcile())
    for _ in range(20):
        await asyncio.sleep(0)
    assert r.venue.calls["list_orders"] >= 1
    go_amend.set()
    await sync
    r.venue.hold.pop("list_orders")
    go_list.set()
    await rec
    (vo,) = r.venue.resting(a)
    (o,) = r.state.live_orders(a)
    assert o.remaining == vo.remaining
