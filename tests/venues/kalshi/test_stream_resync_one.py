"""Found in review (failed before its fix): a new price grid on a market whose book was already
refreshed by a resubscribe still under way (stage 2, waiting for another market's
snapshot) marks the book stale and asks for nothing: `_resync_one` returns on any
stage-2 resync. The book stays stale (quoting on it stops) for the connection's life."""

from __future__ import annotations

from .test_stream import Rig, T, U, _connect, snap, subscribed

S = 1_000_000_000

GRID = {
    "type": "market_lifecycle_v2",
    "sid": 5,
    "msg": {
        "market_ticker": T,
        "event_type": "price_level_structure_updated",
        "price_level_structure": "deci_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}],
    },
}


def test_new_grid_during_a_resubscribe_after_its_snapshot_gets_a_snapshot() -> None:
    r = Rig(T, U, resync_timeout_s=2)
    _connect(r, T, U)
    r.feed(subscribed(1, 7))
    r.feed(snap(7, 1, T, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))
    r.feed(snap(7, 2, U, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))
    r.sent()
    # the venue drops the subscription: unsubscribe + subscribe (resync stage 2)
    r.feed({"type": "error", "sid": 7, "msg": {"code": 25, "msg": "Subscription buffer overflow"}})
    cmds = r.sent()
    assert [c["cmd"] for c in cmds] == ["unsubscribe", "subscribe"]
    r.feed(subscribed(cmds[1]["id"], 8))
    r.feed(snap(8, 1, T, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))  # T is back
    r.feed(GRID)  # T's grid changes while U's snapshot is still awaited
    r.feed(snap(8, 2, U, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))  # U is back: done
    asked = [c for c in r.sent() if c.get("params", {}).get("action") == "get_snapshot"]
    r.now += 10 * S
    r.s.tick(r.now)  # no timer is left to escalate either
    assert r.state.book_fresh[T] or asked, "T stale with no snapshot asked for"
