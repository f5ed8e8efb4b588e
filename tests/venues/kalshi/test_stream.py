"""The sans-I/O stream: recorded frames into TradingState, seq gaps, duplicates, resync escalation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.core.state import TradingState
from pmbot.venues.kalshi.stream import BOOK, FILL, LIFECYCLE, ORDER_GROUPS, TRADE, KalshiStream

FX = Path(__file__).resolve().parents[2] / "fixtures" / "kalshi"
T = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-LEP"
U = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-JIM"
S = 1_000_000_000


def _state(*tickers: str) -> TradingState:
    st_ = TradingState()
    for t in tickers:
        st_.add_market(
            MarketSpec(
                t,
                "E",
                "S",
                StrikeType.GREATER,
                1.0,
                None,
                PriceGrid.linear_cent(),
                FeeSchedule(),
                0,
            )
        )
    return st_


class Rig:
    """A stream wired to a TradingState, recording every event and command."""

    def __init__(self, *tickers: str, yes: bool = True, direct: bool = False, **kw: Any) -> None:
        self.state = _state(*tickers)
        self.events: list[ev.Event] = []
        self.changed: list[str] = []

        def sink(e: ev.Event) -> None:
            self.events.append(e)
            self.state.apply(e)

        self.s = KalshiStream(
            sink,
            use_yes_price=yes,
            books=self.state.books if direct else None,
            on_book_change=(lambda t, ts: self.changed.append(t)) if direct else None,
            **kw,
        )
        self.now = 10 * S

    def sent(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.s.data_to_send()]

    def feed(self, frame: dict[str, Any] | bytes) -> None:
        self.s.receive(
            frame
            if isinstance(frame, bytes)
            else json.dumps(frame, separators=(",", ":")).encode(),
            self.now,
        )

    def stale(self) -> list[str]:
        return [e.ticker for e in self.events if isinstance(e, ev.BookStale)]


def snap(sid: int, seq: int, t: str, yes: list[list[str]], no: list[list[str]]) -> dict[str, Any]:
    msg: dict[str, Any] = {"market_ticker": t, "market_id": "x"}
    if yes:
        msg["yes_dollars_fp"] = yes
    if no:
        msg["no_dollars_fp"] = no
    return {"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg}


def delta(sid: int, seq: int, t: str, side: str, price: str, d: str) -> dict[str, Any]:
    return {
        "type": "orderbook_delta",
        "sid": sid,
        "seq": seq,
        "msg": {
            "market_ticker": t,
            "market_id": "x",
            "price_dollars": price,
            "delta_fp": d,
            "side": side,
            "ts": "2026-06-11T06:31:29.957081Z",
            "ts_ms": 1781159489957,
        },
    }


def subscribed(cid: int, sid: int, channel: str = BOOK) -> dict[str, Any]:
    return {"type": "subscribed", "id": cid, "msg": {"channel": channel, "sid": sid}}


def _connect(r: Rig, *tickers: str) -> list[dict[str, Any]]:
    r.s.want(BOOK, tickers or (T,))
    r.s.connected(r.now)
    return r.sent()


@pytest.mark.parametrize(
    "name,yes,expect_no",
    [
        ("ws__orderbook_trade_noleg.jsonl", False, [(4800, 100)]),
        ("ws__orderbook_trade_yes.jsonl", True, [(4800, 200)]),
    ],
)
@pytest.mark.parametrize("direct", [False, True])
def test_recorded_stream_into_state(
    name: str, yes: bool, expect_no: list[tuple[int, int]], direct: bool
) -> None:
    r = Rig(T, yes=yes, direct=direct)
    cmds = _connect(r)
    assert cmds == [
        {
            "id": 1,
            "cmd": "subscribe",
            "params": {"channels": [BOOK], "market_tickers": [T], "use_yes_price": yes},
        }
    ]
    for line in (FX / name).read_bytes().splitlines():
        if line.strip():
            r.feed(line)
    book = r.state.books[T]
    assert r.state.book_fresh[T]
    assert book.depth(True) == [(4700, 300)]
    assert book.depth(False) == expect_no
    assert r.s.stats.gaps == r.s.stats.duplicates == r.s.stats.bad_frames == 0
    # the recording also subscribed `trade`, which this client did not ask for: dropped
    assert r.sent() == [{"id": 2, "cmd": "unsubscribe", "params": {"sids": [2]}}]


def _fresh_rig(**kw: Any) -> Rig:
    r = Rig(T, **kw)
    _connect(r)
    r.feed(subscribed(1, 7))
    r.feed(snap(7, 1, T, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))
    assert r.state.book_fresh[T]
    return r


@pytest.mark.parametrize("direct", [False, True])
def test_gap_marks_stale_then_get_snapshot_heals(direct: bool) -> None:
    r = _fresh_rig(direct=direct)
    r.feed(delta(7, 2, T, "yes", "0.4700", "1.00"))
    r.feed(delta(7, 4, T, "yes", "0.4600", "5.00"))  # seq 3 lost
    assert r.stale() == [T] and not r.state.book_fresh[T]
    cmds = r.sent()
    assert cmds == [
        {
            "id": 2,
            "cmd": "update_subscription",
            "params": {"sids": [7], "action": "get_snapshot", "market_tickers": [T]},
        }
    ]
    r.feed(delta(7, 5, T, "yes", "0.4500", "1.00"))  # held: the book is stale
    assert r.state.books[T].is_empty()
    r.feed({"type": "ok", "id": 2, "sid": 7, "seq": 6, "msg": {"market_tickers": [T]}})
    r.feed(
        snap(
            7,
            7,
            T,
            [["0.4500", "1.00"], ["0.4600", "5.00"], ["0.4700", "4.00"]],
            [["0.5200", "2.00"]],
        )
    )
    assert r.state.book_fresh[T]
    r.feed(delta(7, 8, T, "no", "0.5200", "-2.00"))
    book = r.state.books[T]
    assert book.depth(True) == [(4700, 400), (4600, 500), (4500, 100)] and book.depth(False) == []
    assert r.s.stats.gaps == 1 and r.s.stats.held == 2 and not r.s._resync


def test_duplicate_and_reordered_frames_never_corrupt() -> None:
    r = _fresh_rig()
    d2 = delta(7, 2, T, "yes", "0.4700", "1.00")
    r.feed(d2)
    r.feed(d2)  # duplicate: dropped, resync requested
    assert (
        r.state.books[T].size_at(True, 4700) == 0
    )  # stale books are cleared, never double-applied
    assert r.s.stats.duplicates == 1 and r.sent()[0]["params"]["action"] == "get_snapshot"
    r.feed(snap(7, 3, T, [["0.4700", "4.00"]], []))
    r.feed(delta(7, 5, T, "yes", "0.4700", "1.00"))  # 4 and 5 swapped
    r.feed(delta(7, 4, T, "yes", "0.4700", "1.00"))
    assert not r.state.book_fresh[T]
    r.feed(snap(7, 6, T, [["0.4700", "6.00"]], []))
    assert r.state.books[T].depth(True) == [(4700, 600)] and r.state.book_fresh[T]


def test_terminal_error_resubscribes_then_reconnect_escalation() -> None:
    r = _fresh_rig(resync_timeout_s=2)
    r.feed({"type": "error", "sid": 7, "msg": {"code": 25, "msg": "Subscription buffer overflow"}})
    assert not r.state.book_fresh[T]
    cmds = r.sent()
    assert [c["cmd"] for c in cmds] == ["unsubscribe", "subscribe"]
    assert cmds[1]["params"]["use_yes_price"] is True
    r.feed(subscribed(cmds[1]["id"], 8))
    r.feed(delta(7, 2, T, "yes", "0.4700", "1.00"))  # old sid: ignored
    r.feed(snap(8, 1, T, [["0.4700", "1.00"]], []))
    assert r.state.book_fresh[T] and r.state.books[T].depth(True) == [(4700, 100)]
    # a gap nobody answers: get_snapshot -> resubscribe -> reconnect
    r.feed(delta(8, 3, T, "yes", "0.4700", "1.00"))
    assert r.sent()[0]["params"]["action"] == "get_snapshot"
    r.now += 3 * S
    r.s.tick(r.now)
    assert [c["cmd"] for c in r.sent()] == ["unsubscribe", "subscribe"]
    r.now += 3 * S
    r.s.tick(r.now)
    assert r.s.reconnect_reason == "resubscribe timed out"


def test_get_snapshot_refused_falls_back_to_resubscribe() -> None:
    r = _fresh_rig()
    r.feed(delta(7, 3, T, "yes", "0.4700", "1.00"))
    cid = r.sent()[0]["id"]
    r.feed({"type": "error", "id": cid, "msg": {"code": 13, "msg": "Unsupported action"}})
    assert [c["cmd"] for c in r.sent()] == ["unsubscribe", "subscribe"]


def test_disconnect_resubscribes_to_desired_not_past() -> None:
    r = _fresh_rig()
    r.s.disconnected(r.now, "reset")
    assert r.stale() == [T] and isinstance(r.events[-1], ev.ConnectionState) and not r.events[-1].up
    r.s.unwant(BOOK, [T])
    r.s.want(BOOK, ["B"])
    r.s.want(FILL)
    r.s.want(LIFECYCLE)
    r.s.connected(r.now)
    cmds = r.sent()
    assert [(c["params"]["channels"][0], c["params"].get("market_tickers")) for c in cmds] == [
        (BOOK, ["B"]),
        (FILL, None),
        (LIFECYCLE, None),
    ]


def test_add_and_delete_markets_on_live_subscription() -> None:
    r = _fresh_rig()
    r.s.want(BOOK, [T, "B"])
    c = r.sent()[0]
    assert c["cmd"] == "update_subscription" and c["params"] == {
        "sids": [7],
        "action": "add_markets",
        "market_tickers": ["B"],
    }
    r.feed({"type": "ok", "id": c["id"], "sid": 7, "seq": 2, "msg": {"market_tickers": ["B", T]}})
    r.feed(snap(7, 3, "B", [["0.1000", "1.00"]], []))
    assert r.s.is_fresh("B") and r.s.stats.gaps == 0
    r.s.unwant(BOOK, ["B"])
    assert r.sent()[0]["params"]["action"] == "delete_markets"
    r.s.unwant(BOOK)
    assert r.sent()[0]["cmd"] == "unsubscribe"


def test_silence_requests_reconnect_and_garbage_is_survivable() -> None:
    r = _fresh_rig(silence_timeout_s=20)
    r.feed(b"not json")
    r.feed(b'{"type":"orderbook_delta","sid":7,"seq":2,"msg":{"price_dollars":1}}')
    assert r.s.stats.bad_frames == 2
    r.feed(delta(7, 3, T, "yes", "0.4700", "1.00"))  # the lost seq 2 shows up as a gap
    assert r.s.stats.gaps == 1
    r.now += 15 * S
    r.s.note_alive(r.now)  # a ping
    r.now += 15 * S
    r.s.tick(r.now)
    assert r.s.reconnect_reason is None
    r.now += 6 * S
    r.s.tick(r.now)
    assert r.s.reconnect_reason and "silent" in r.s.reconnect_reason


def test_private_channels_become_events() -> None:
    r = Rig(T)
    r.s.want(FILL)
    r.s.connected(r.now)
    r.feed(subscribed(1, 3, FILL))
    r.feed(
        {
            "type": "fill",
            "sid": 3,
            "msg": {
                "trade_id": "t1",
                "order_id": "o1",
                "market_ticker": T,
                "exchange_index": 0,
                "is_taker": True,
                "side": "yes",
                "yes_price_dollars": "0.5200",
                "count_fp": "1.00",
                "fee_cost": "0.0175",
                "action": "buy",
                "outcome_side": "yes",
                "book_side": "bid",
                "ts": 1781159370,
                "ts_ms": 1781159370164,
                "post_position_fp": "1.00",
                "purchased_side": "yes",
                "client_order_id": "c1",
            },
        }
    )
    r.feed(
        {
            "type": "user_order",
            "sid": 4,
            "msg": {
                "order_id": "o1",
                "ticker": T,
                "status": "executed",
                "book_side": "bid",
                "yes_price_dollars": "0.9900",
                "fill_count_fp": "1.00",
                "remaining_count_fp": "0.00",
                "initial_count_fp": "1.00",
                "client_order_id": "c1",
            },
        }
    )
    r.feed(
        {
            "type": "market_lifecycle_v2",
            "sid": 5,
            "msg": {
                "market_ticker": T,
                "event_type": "determined",
                "result": "yes",
                "settlement_value": "1.0000",
                "determination_ts": 1,
            },
        }
    )
    kinds = [type(e).__name__ for e in r.events]
    assert kinds == ["ConnectionState", "Fill", "OrderUpdate", "MarketStatus"]
    f = r.events[1]
    assert (
        isinstance(f, ev.Fill)
        and f.price == 5200
        and f.qty == 100
        and f.fee == 17500
        and f.client_order_id == "c1"
    )
    assert r.state.position(T) == 100


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 99), st.integers(-300, 300)), max_size=40))
def test_direct_and_event_paths_agree(ops: list[tuple[bool, int, int]]) -> None:
    rigs = [_fresh_rig(direct=False), _fresh_rig(direct=True)]
    ref = BinaryBook(PriceGrid.linear_cent())
    ref.apply_snapshot([(4700, 300)], [(4800, 200)])
    seq = 2
    for is_yes, cents, d in ops:
        price = cents * 100
        lvl_price = price if is_yes else 10_000 - price  # wire is YES-scale for NO levels
        cur = ref.size_at(is_yes, price)
        if cur + d < 0 or d == 0:
            continue
        ref.apply_delta(is_yes, price, d)
        for r in rigs:
            r.feed(
                delta(
                    7,
                    seq,
                    T,
                    "yes" if is_yes else "no",
                    f"0.{lvl_price:04d}" if lvl_price < 10_000 else "1.0000",
                    f"{d / 100:.2f}",
                )
            )
        seq += 1
    for r in rigs:
        assert r.state.books[T] == ref and r.state.book_fresh[T]


def test_desire_changed_while_subscribe_in_flight() -> None:
    r = Rig(T)
    _connect(r)
    r.s.want(BOOK, [T, "B"])  # before `subscribed` arrives
    assert r.sent() == []
    r.feed(subscribed(1, 7))
    c = r.sent()
    assert [
        (x["cmd"], x["params"].get("action"), x["params"].get("market_tickers")) for x in c
    ] == [("update_subscription", "add_markets", ["B"])]
    r.s.unwant(BOOK)
    r.s.want(FILL, ["B"])
    r.sent()
    r.feed(subscribed(3, 9, FILL))
    assert r.sent() == []


def test_public_market_data_hook_and_list_subscriptions() -> None:
    seen: list[object] = []
    s = KalshiStream(lambda e: None, on_market_data=seen.append)
    s.want(TRADE)
    s.connected(0)
    s.data_to_send()
    s.receive(json.dumps(subscribed(1, 2, TRADE)).encode(), 0)
    s.receive(
        json.dumps(
            {
                "type": "trade",
                "sid": 2,
                "msg": {
                    "trade_id": "t",
                    "market_ticker": T,
                    "yes_price_dollars": "0.3600",
                    "no_price_dollars": "0.6400",
                    "count_fp": "136.00",
                    "taker_side": "no",
                    "taker_outcome_side": "no",
                    "taker_book_side": "ask",
                    "is_block_trade": False,
                    "ts": 1,
                    "ts_ms": 1000,
                },
            }
        ).encode(),
        0,
    )
    assert len(seen) == 1
    s.list_subscriptions()
    c = json.loads(s.data_to_send()[0])
    assert c == {"id": 2, "cmd": "list_subscriptions"}
    s.receive(
        json.dumps({"id": 2, "type": "ok", "msg": [{"channel": TRADE, "sid": 2}]}).encode(), 0
    )
    assert s.stats.bad_frames == 0


def test_unknown_market_is_dropped_and_the_rest_resubscribed() -> None:
    r = Rig(T, "GONE")
    cmds = _connect(r, T, "GONE")
    assert cmds[0]["params"]["market_tickers"] == ["GONE", T]
    r.feed(
        {
            "type": "error",
            "id": 1,
            "msg": {"code": 16, "msg": "Market not found", "market_ticker": "GONE"},
        }
    )
    c = r.sent()
    assert [(x["cmd"], x["params"]["market_tickers"]) for x in c] == [("subscribe", [T])]
    assert r.s.desired[BOOK] == {T}
    r.feed(subscribed(c[0]["id"], 4))
    r.feed(snap(4, 1, T, [["0.4700", "1.00"]], []))
    assert r.state.book_fresh[T] and r.sent() == []


def test_reordered_snapshot_never_marks_a_torn_book_fresh() -> None:
    r = _fresh_rig()
    r.feed(delta(7, 2, T, "yes", "0.4700", "1.00"))
    r.feed(delta(7, 3, T, "yes", "0.4600", "1.00"))
    # seq 4 is lost; a snapshot (5) and the delta after it (6) arrive swapped
    r.feed(delta(7, 6, T, "yes", "0.4500", "1.00"))
    r.feed(snap(7, 5, T, [["0.4700", "4.00"]], []))
    assert not r.state.book_fresh[T]  # an old snapshot is not a baseline
    r.feed({"type": "ok", "id": 2, "sid": 7, "seq": 7, "msg": {"market_tickers": [T]}})
    r.feed(snap(7, 8, T, [["0.4500", "1.00"], ["0.4700", "4.00"]], []))
    assert r.state.book_fresh[T] and r.state.books[T].depth(True) == [(4700, 400), (4500, 100)]


def test_server_restarting_seq_with_a_snapshot_is_accepted() -> None:
    r = _fresh_rig()
    r.feed(delta(7, 4, T, "yes", "0.4700", "1.00"))  # gap: resync
    r.feed(snap(7, 1, T, [["0.4700", "2.00"]], []))
    r.feed(delta(7, 2, T, "yes", "0.4700", "1.00"))
    assert r.state.book_fresh[T] and r.state.books[T].depth(True) == [(4700, 300)]


def test_a_second_gap_during_a_resync_asks_again_for_the_books_already_refreshed() -> None:
    r = Rig(T, U)
    _connect(r, T, U)
    r.feed(subscribed(1, 7))
    r.feed(snap(7, 1, T, [["0.4700", "3.00"]], []))
    r.feed(snap(7, 2, U, [["0.4700", "3.00"]], []))
    r.feed(delta(7, 4, T, "yes", "0.4700", "1.00"))  # 3 lost
    (first,) = r.sent()
    assert first["params"]["market_tickers"] == sorted([T, U])
    r.feed(snap(7, 5, T, [["0.4700", "3.00"]], []))  # T answered, U still awaited
    assert r.state.book_fresh[T] and not r.state.book_fresh[U]
    r.feed(delta(7, 7, T, "yes", "0.4700", "1.00"))  # 6 lost: T stale again
    (again,) = r.sent()
    assert again["params"] == {"sids": [7], "action": "get_snapshot", "market_tickers": [T]}
    r.feed(snap(7, 8, U, [["0.4700", "3.00"]], []))
    r.feed(snap(7, 9, T, [["0.4800", "1.00"]], []))
    assert r.state.book_fresh[T] and r.state.book_fresh[U]


@pytest.mark.parametrize("code", [17, 18, 27])
def test_a_transient_subscribe_refusal_of_a_wanted_channel_reconnects(code: int) -> None:
    """Else the channel (fills!) stays silent for the whole connection."""
    r = Rig(T)
    r.s.want(FILL, None)
    r.s.connected(r.now)
    (cmd,) = r.sent()
    r.feed({"type": "error", "id": cmd["id"], "msg": {"code": code, "msg": "Command timeout"}})
    assert r.s.reconnect_reason == f"subscribe {FILL} refused code {code}"


def test_a_lost_fill_subscription_asks_for_a_catch_up() -> None:
    r = Rig(T)
    r.s.want(FILL, None)
    r.s.connected(r.now)
    (cmd,) = r.sent()
    r.feed(subscribed(cmd["id"], 3, FILL))
    r.feed({"type": "error", "sid": 3, "msg": {"code": 25, "msg": "Subscription buffer overflow"}})
    ups = [e for e in r.events if isinstance(e, ev.ConnectionState) and e.up]
    assert ups[-1].reason == f"resubscribed {FILL}"  # the app reconciles on "re..."


def test_order_group_updates_become_events_in_seq_order() -> None:
    """The account-wide channel (§4.4, with seq): every change is an event; a duplicate is
    dropped; a gap resubscribes (a hidden trip still shows as the next order's refusal)."""
    r = Rig(T)
    r.s.want(ORDER_GROUPS, None)
    r.s.connected(r.now)
    (cmd,) = r.sent()
    assert cmd["params"] == {"channels": [ORDER_GROUPS]}  # no market filter

    def group(seq: int, et: str) -> dict[str, Any]:
        return {
            "type": "order_group_updates",
            "sid": 21,
            "seq": seq,
            "msg": {"event_type": et, "order_group_id": "og_1", "ts_ms": 1781159370164},
        }

    r.feed(subscribed(cmd["id"], 21, ORDER_GROUPS))
    r.feed(group(1, "created"))
    r.feed(group(2, "triggered"))
    r.feed(group(2, "triggered"))  # duplicate
    got = [e for e in r.events if isinstance(e, ev.OrderGroupUpdate)]
    assert got == [
        ev.OrderGroupUpdate(r.now, "og_1", "created"),
        ev.OrderGroupUpdate(r.now, "og_1", "triggered"),
    ]
    r.feed(group(5, "reset"))  # 3 and 4 lost
    sent = r.sent()
    assert [c["cmd"] for c in sent] == ["unsubscribe", "subscribe"], sent
    assert r.events[-1] == ev.OrderGroupUpdate(r.now, "og_1", "reset")


_REFUSALS = {
    "fill code 9 auth required": (FILL, {"code": 9, "msg": "Authentication required"}),
    "fill code 10 channel error": (FILL, {"code": 10, "msg": "Channel error"}),
    "book code 26 market limit": (BOOK, {"code": 26, "msg": "Subscription market limit exceeded"}),
    "book code 16 no ticker": (BOOK, {"code": 16, "msg": "Market not found"}),
    "fill never answered": (FILL, None),
}


@pytest.mark.parametrize("case", list(_REFUSALS))
def test_a_refused_or_unanswered_subscribe_is_not_forgotten(case: str) -> None:
    """Regression (review): a subscribe refused with a code outside the retried ones, or never
    answered, left a wanted channel (fills!) silent for the whole connection. It now asks for
    a new connection (backed off), which subscribes everything again; a code 10 answering a
    subscribe (an id, no sid) no longer resubscribes the other, healthy channels instead."""
    channel, err = _REFUSALS[case]
    r = Rig(T)
    r.s.want(BOOK, [T])
    r.s.want(FILL, None)
    r.s.connected(r.now)
    cmds = {c["params"]["channels"][0]: c for c in r.sent()}
    other = BOOK if channel == FILL else FILL
    r.feed(subscribed(cmds[other]["id"], 7, other))
    if err is not None:
        r.feed({"type": "error", "id": cmds[channel]["id"], "msg": err})
    for _ in range(12):  # two minutes of a live connection (the server pings every 10 s)
        r.now += 10 * S
        r.s.note_alive(r.now)
        r.s.tick(r.now)
    assert r.s.reconnect_reason is not None and channel in r.s.reconnect_reason
    assert not [c for c in r.sent() if c["cmd"] == "subscribe"]  # the healthy one left alone


@pytest.mark.parametrize("direct", [False, True])
def test_a_new_price_grid_rebuilds_the_book_from_a_fresh_snapshot(direct: bool) -> None:
    """`price_level_structure_updated`: the spec and the book move to the new grid and the
    book resyncs; sub-cent levels then apply (on the old grid every one was refused)."""
    r = _fresh_rig(direct=direct)
    r.sent()
    r.feed(
        {
            "type": "market_lifecycle_v2",
            "sid": 5,
            "msg": {
                "market_ticker": T,
                "event_type": "price_level_structure_updated",
                "price_level_structure": "deci_cent",
                "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}],
            },
        }
    )
    change = [e for e in r.events if isinstance(e, ev.MarketSpecChange)]
    assert len(change) == 1 and change[0].grid is not None and change[0].close_ts_ns is None
    assert r.state.markets[T].grid.ranges == change[0].grid.ranges
    assert r.state.books[T].grid.ranges == change[0].grid.ranges
    assert not r.state.book_fresh[T] and T in r.stale()
    assert r.sent() == [
        {
            "id": 2,
            "cmd": "update_subscription",
            "params": {"sids": [7], "action": "get_snapshot", "market_tickers": [T]},
        }
    ]
    r.feed(snap(7, 2, T, [["0.4730", "3.00"]], [["0.5210", "2.00"]]))
    r.feed(delta(7, 3, T, "yes", "0.4750", "1.00"))
    assert r.state.book_fresh[T] and r.s.stats.bad_frames == 0
    assert r.state.books[T].depth(True) == [(4750, 100), (4730, 300)]


def test_a_moved_close_reaches_the_spec_without_a_resync() -> None:
    r = _fresh_rig()
    r.sent()

    def close(ts: int) -> dict[str, Any]:
        return {
            "type": "market_lifecycle_v2",
            "sid": 5,
            "msg": {
                "market_ticker": T,
                "event_type": "close_date_updated",
                "open_ts": 1,
                "close_ts": ts,
            },
        }

    r.feed(close(1_800_000_000))
    assert r.state.markets[T].close_ts_ns == 1_800_000_000 * S
    assert r.state.book_fresh[T] and r.sent() == []
    r.feed(close(0))  # nonsense: counted and logged, the spec keeps its close
    assert r.s.stats.bad_frames == 1 and r.state.markets[T].close_ts_ns == 1_800_000_000 * S


def test_a_new_grid_on_one_market_leaves_the_other_books_of_the_sid_alone() -> None:
    """Only the changed market is resynced: a full resync of the sid pulled the quotes of
    every market of the event (cancels, re-creates, queue places lost)."""
    r = Rig(T, U)
    _connect(r, T, U)
    r.feed(subscribed(1, 7))
    r.feed(snap(7, 1, T, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))
    r.feed(snap(7, 2, U, [["0.4700", "3.00"]], [["0.5200", "2.00"]]))
    r.sent()
    r.feed(
        {
            "type": "market_lifecycle_v2",
            "sid": 5,
            "msg": {
                "market_ticker": T,
                "event_type": "price_level_structure_updated",
                "price_level_structure": "deci_cent",
                "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0010"}],
            },
        }
    )
    assert r.state.book_fresh[U] and not r.state.book_fresh[T] and r.stale() == [T]
    cmds = r.sent()
    assert [c["params"]["market_tickers"] for c in cmds] == [[T]]
    r.feed(snap(7, 3, T, [["0.4730", "3.00"]], [["0.5210", "2.00"]]))
    assert r.state.book_fresh[T] and r.state.book_fresh[U]
    assert not r.s._resync  # the resync is over
