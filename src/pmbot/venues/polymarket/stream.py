"""Polymarket WebSocket streams, sans I/O: frames in, BinaryBook updates and domain events out.

Market channel: a `book` replaces one market's BinaryBook (from either token: they mirror);
each `price_change` entry sets a level's absolute size, turned into a signed `BookDelta`.
There are no sequence numbers, so consistency is checked instead: deltas before a snapshot,
or best bid/ask that disagree with the venue's `best_bid`/`best_ask` after a frame, mark
the market stale (`BookStale`) and put it in `needs_resync` for the shell to re-snapshot by
REST (doc §4.1, §7.9). The shell also calls `mark_all_stale` on every reconnect.

User channel: `order` events become `OrderUpdate`s; `trade` events become our `Fill`s
(provisional until CONFIRMED) the first time a trade is seen, `FillConfirmed` when a
provisional one is CONFIRMED, and `FillVoided` when it FAILS.
A maker finds its own fills in `maker_orders` (by owner or maker address), possibly on the
complementary token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pmbot.core import events as ev
from pmbot.core.book import BinaryBook
from pmbot.core.money import ONE
from pmbot.core.orders import Side
from pmbot.errors import BookError, ProtocolViolation
from pmbot.venues.polymarket import wire as w
from pmbot.venues.polymarket.convert import (
    MarketInfo,
    grid_for,
    level_qty,
    order_side,
    order_status,
    parse_micro,
    parse_px,
    parse_qty,
    taker_fee,
    token_levels,
)
from pmbot.venues.polymarket.signing import tick_units

__all__ = ["MarketStream", "UserStream"]


class MarketStream:
    """Books of the subscribed markets, kept from market-channel frames."""

    def __init__(self, markets: list[MarketInfo]) -> None:
        self.markets = {m.condition_id: m for m in markets}
        self.tokens: dict[str, tuple[MarketInfo, bool]] = {}
        for m in markets:
            self.tokens[m.yes_token] = (m, True)
            self.tokens[m.no_token] = (m, False)
        self.books = {
            m.condition_id: BinaryBook(grid_for(tick_units(m.tick)), m.condition_id)
            for m in markets
        }
        self.fresh = dict.fromkeys(self.markets, False)
        self.ticks = {m.condition_id: m.tick for m in markets}
        self.needs_resync: set[str] = set(self.markets)
        self._px: dict[
            str, int
        ] = {}  # price string -> Price; prices repeat, parsing is the hot cost
        self._sz: dict[str, int] = {}  # size string -> Qty
        self.tick_changes: list[tuple[str, str]] = []  # (token, new tick) for the shell to drain
        self._lvl: dict[tuple[str, str, str], tuple[bool, int, int, bool]] = {}  # per book grid
        # price_change frames applied per market: a REST book fetched while this moved is
        # older than the book it would replace (`MarketFeed.reconcile`)
        self.applied = dict.fromkeys(self.markets, 0)

    def px(self, s: str) -> int:
        p = self._px.get(s)
        if p is None:
            if len(self._px) > 50_000:
                self._px.clear()
            p = self._px[s] = parse_px(s)
        return p

    def asset_ids(self) -> list[str]:
        return list(self.tokens)

    def mark_all_stale(self, ts_ns: int, reason: str) -> list[ev.Event]:
        out: list[ev.Event] = []
        for cid in self.markets:
            out.extend(self._stale(cid, ts_ns, reason))
        return out

    def _stale(self, cid: str, ts_ns: int, reason: str) -> list[ev.Event]:
        self.needs_resync.add(cid)
        if not self.fresh.get(cid, False):
            return []
        self.fresh[cid] = False
        return [ev.BookStale(cid, ts_ns, reason)]

    def on_frame(self, frame: bytes | str, ts_ns: int) -> list[ev.Event]:
        out: list[ev.Event] = []
        for msg in w.decode_market(frame):
            if isinstance(msg, w.PolyPriceChange):
                self._price_change(msg, ts_ns, out)
            elif isinstance(msg, w.PolyBook):
                out.extend(self.apply_book(msg, ts_ns))
            elif isinstance(msg, w.PolyTickSizeChange):
                self._tick(msg)
            elif isinstance(msg, w.PolyMarketResolved) and msg.market in self.markets:
                m = self.markets[msg.market]
                yes = msg.winning_asset_id == m.yes_token
                out.append(
                    ev.MarketStatus(
                        msg.market, "determined", ts_ns, "yes" if yes else "no", ONE if yes else 0
                    )
                )
        return out

    def apply_book(self, b: w.PolyBook, ts_ns: int) -> list[ev.Event]:
        """A `book` event or a REST /book reply: replace the market's book, mark it fresh."""
        hit = self.tokens.get(b.asset_id)
        if hit is None:
            return []
        m, is_yes = hit
        cid = m.condition_id
        yes, no = token_levels(is_yes, b.bids, b.asks)
        if b.tick_size and b.tick_size != self.ticks[cid]:
            # a snapshot may be the only news of a tick_size_change (one missed while the
            # channel was down): the signer and the strategy's grid must hear of it too
            self._retick(cid, b.tick_size)
            self.tick_changes += [(m.yes_token, b.tick_size), (m.no_token, b.tick_size)]
        try:
            self.books[cid].apply_snapshot(yes, no)
        except BookError as e:
            return self._stale(cid, ts_ns, f"bad snapshot: {e}")
        self.fresh[cid] = True
        self.needs_resync.discard(cid)
        return [ev.BookSnapshot(cid, ts_ns, tuple(yes), tuple(no))]

    def _price_change(self, pc: w.PolyPriceChange, ts_ns: int, out: list[ev.Event]) -> None:
        cid = pc.market
        book = self.books.get(cid)
        if book is None:
            return
        if not self.fresh[cid]:
            self.needs_resync.add(cid)
            return
        self.applied[cid] += 1
        check: tuple[str | None, str | None] | None = None
        lvl, sz = self._lvl, self._sz
        try:
            for e in pc.price_changes:
                key = (e.asset_id, e.side, e.price)
                hit = lvl.get(key)
                if hit is None:
                    hit = self._level(book, key)
                    if hit is None:
                        continue
                leg_yes, t, lp, is_yes = hit
                size = sz.get(e.size)
                if size is None:
                    if len(sz) > 50_000:
                        sz.clear()
                    size = sz[e.size] = level_qty(e.size)
                cur = book._yes[t] if leg_yes else book._no[t]
                if size != cur:
                    book.apply_tick(leg_yes, t, size - cur)
                    out.append(ev.BookDelta(cid, ts_ns, leg_yes, lp, size - cur))
                if is_yes:
                    check = (e.best_bid, e.best_ask)
        except (BookError, ProtocolViolation) as err:
            out.extend(self._stale(cid, ts_ns, f"bad price_change: {err}"))
            return
        # A crossed book is a match in flight: the venue's bests already show its outcome and
        # the removals follow in the next frames, so judge only uncrossed books.
        if check is not None and not book.crossed() and not self._agrees(book, *check, self.px):
            out.extend(self._stale(cid, ts_ns, "best bid/ask disagree with the venue"))

    def _level(
        self, book: BinaryBook, key: tuple[str, str, str]
    ) -> tuple[bool, int, int, bool] | None:
        """(leg is YES, tick on that leg, leg price, token is YES) of a wire level, cached."""
        asset, side, price = key
        hit = self.tokens.get(asset)
        if hit is None:
            return None
        is_yes = hit[1]
        if side not in ("BUY", "SELL"):
            raise ProtocolViolation(f"bad side {side!r}")
        p = self.px(price)
        own_leg = side == "BUY"
        leg_yes = is_yes if own_leg else not is_yes
        lp = p if own_leg else ONE - p
        t = book.yes_tick(lp) if leg_yes else book.no_tick(lp)
        if len(self._lvl) > 50_000:
            self._lvl.clear()
        v = self._lvl[key] = (leg_yes, t, lp, is_yes)
        return v

    @staticmethod
    def _agrees(book: BinaryBook, bb: str | None, ba: str | None, px: Callable[[str], int]) -> bool:
        if bb is None or ba is None:
            return True
        mine_b = book.yes_bid_price()
        mine_a = book.yes_ask_price()
        want_b = px(bb) if bb not in ("", "0") else None
        want_a = px(ba) if ba not in ("", "1") else None
        return mine_b == want_b and mine_a == want_a

    def _tick(self, t: w.PolyTickSizeChange) -> None:
        hit = self.tokens.get(t.asset_id)
        if hit is not None:
            m = hit[0]
            self._retick(m.condition_id, t.new_tick_size)
            # the tick is the market's: both tokens sign on it (as a snapshot's does)
            self.tick_changes += [(m.yes_token, t.new_tick_size), (m.no_token, t.new_tick_size)]

    def _retick(self, cid: str, tick: str) -> None:
        """Record the new tick; move the book onto a finer grid when the old one cannot hold it."""
        self.ticks[cid] = tick
        g = grid_for(tick_units(tick))
        old = self.books[cid]
        if g.prices[1] < old.grid.prices[1]:
            yes, no = old.levels()
            nb = BinaryBook(g, cid)
            nb.apply_snapshot(yes, no)
            self.books[cid] = nb
            self._lvl.clear()  # ticks index the old grid


@dataclass(slots=True)
class UserStream:
    """Our orders and fills from the user channel. `owner` is our API key.

    Fill sizes: the venue's fills are exact micro-shares, `Fill.qty` is a `Qty` (1e-2). The
    stream books each (market, side) with a carry: a fill's `qty` is the increase of
    floor(cumulative exact size) on that side, so the booked total never drifts from the
    exact one by a whole 0.01 share, however many fractional fills arrive; `dust` holds the
    unbooked remainder (micro-shares, < 0.01 share per side) for the summary and for
    reconciliation against the venue's token balances. A voided fill gives back exactly
    what it booked.
    """

    markets: list[MarketInfo]
    owner: str
    addresses: frozenset[str] = frozenset()  # funder/maker addresses, lower case
    seen: dict[tuple[str, str], str] = field(default_factory=dict)  # (trade, order) -> last status
    fills: dict[tuple[str, str], tuple[ev.Fill, int]] = field(default_factory=dict)  # + exact e6
    adopted: set[tuple[str, str]] = field(default_factory=set)  # from an earlier run's ledger
    exact: dict[tuple[str, str], int] = field(default_factory=dict)  # (cid, side) -> micro-shares
    booked: dict[tuple[str, str], int] = field(default_factory=dict)  # (cid, side) -> Qty
    # our fills' token movements no balance read has shown yet (`PolymarketPort` holdings):
    # (trade, order) -> (token, +micro-shares bought / -micro-shares sold)
    moves: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    _tokens: dict[str, tuple[MarketInfo, bool]] = field(default_factory=dict)
    _markets: dict[str, MarketInfo] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # messages skipped, for the shell to log

    def __post_init__(self) -> None:
        for m in self.markets:
            self._tokens[m.yes_token] = (m, True)
            self._tokens[m.no_token] = (m, False)
            self._markets[m.condition_id] = m

    # ---- token movements, for what we may sell (doc §5 balance reservation, §7.4) ---------
    def sold_unread(self, token: str) -> int:
        """Micro-shares of `token` our fills sold that the last balance read did not show:
        a SELL fill is owed at once (the venue counts it against new SELLs from MATCHED on),
        while its balance moves only when mined. FAILED fills gave the tokens back."""
        return sum(
            -d
            for k, (tok, d) in self.moves.items()
            if d < 0 and tok == token and self.seen.get(k) != "FAILED"
        )

    def read_keys(self, token: str) -> list[tuple[str, str]]:
        """The movements of `token` a balance read started now shows (mined, or FAILED: nothing
        moved): `retire` them once the read is back."""
        return [
            k
            for k, (tok, _) in self.moves.items()
            if tok == token and self.seen.get(k) in _ON_CHAIN
        ]

    def retire(self, keys: Iterable[tuple[str, str]]) -> None:
        for k in keys:
            self.moves.pop(k, None)

    def to_read(self) -> set[str]:
        """Tokens our mined BUY fills added since the last read of them: a read now shows
        them (bought tokens can be sold only once settled, and only the balance proves it)."""
        return {
            tok
            for k, (tok, d) in self.moves.items()
            if d > 0 and self.seen.get(k) in ("MINED", "CONFIRMED")
        }

    def _ours(self, owner: str, addr: str) -> bool:
        return owner == self.owner or addr.lower() in self.addresses

    def dust(self, ticker: str) -> dict[str, int]:
        """Unbooked micro-shares per side of one market (exact minus booked)."""
        return {
            side: self.exact.get((ticker, side), 0) - self.booked.get((ticker, side), 0) * 10_000
            for side in ("bid", "ask")
        }

    def on_frame(self, frame: bytes | str, ts_ns: int) -> list[ev.Event]:
        out: list[ev.Event] = []
        bad: ProtocolViolation | None = None
        for msg in w.decode_user(frame):
            # one message we cannot read must not lose the others' events: the stream has
            # already booked them (seen/fills), so they would never be emitted again
            try:
                if isinstance(msg, w.PolyOrderEvent):
                    u = self.order_update(msg, ts_ns)
                    if u is not None:
                        out.append(u)
                else:
                    out.extend(self.trade(msg, ts_ns))
            except ProtocolViolation as e:
                bad = bad or e
        if bad is not None:
            self.errors.append(str(bad))
        return out

    def order_update(self, o: w.PolyOrderEvent, ts_ns: int) -> ev.OrderUpdate | None:
        hit = self._tokens.get(o.asset_id)
        if hit is None:
            return None
        m, is_yes = hit
        side, price = order_side(is_yes, o.side, parse_px(o.price))
        orig, matched = parse_qty(o.original_size), parse_qty(o.size_matched)
        status = order_status(o.status)
        if o.type == "CANCELLATION":
            status = order_status("CANCELED")
        rem = 0 if status.terminal else max(0, orig - matched)
        return ev.OrderUpdate(
            o.id, None, m.condition_id, side, price, status, orig, matched, rem, ts_ns
        )

    def legs(self, t: w.PolyTradeEvent | w.PolyTrade) -> list[tuple[str, str, str, str, str, bool]]:
        """Our legs of a trade: (order id, token, side, price, size, is taker)."""
        legs: list[tuple[str, str, str, str, str, bool]] = []
        if t.trader_side == "TAKER" and self._ours(t.owner, t.maker_address):
            legs.append((t.taker_order_id, t.asset_id, t.side, t.price, t.size, True))
        for mo in t.maker_orders:
            if self._ours(mo.owner, mo.maker_address):
                mside = mo.side or _maker_side(t, mo)
                legs.append(
                    (
                        mo.order_id,
                        mo.asset_id or t.asset_id,
                        mside,
                        mo.price,
                        mo.matched_amount,
                        False,
                    )
                )
        return legs

    def trade(self, t: w.PolyTradeEvent | w.PolyTrade, ts_ns: int) -> list[ev.Event]:
        """Our fills in one trade status event: first sighting -> Fill (provisional unless
        CONFIRMED), CONFIRMED later -> FillConfirmed, FAILED -> FillVoided."""
        out: list[ev.Event] = []
        status = t.status.upper().removeprefix("TRADE_STATUS_")
        for oid, token, side_s, price_s, size_s, taker in self.legs(t):
            hit = self._tokens.get(token)
            if hit is None:
                continue
            m, is_yes = hit
            key = (t.id, oid)
            prev = self.seen.get(key)
            if prev == "FAILED":
                continue  # terminal: a late MINED/CONFIRMED frame changes nothing
            self.seen[key] = status
            if status == "FAILED":
                if prev is not None and prev != "FAILED":
                    self._unbook(key)
                    out.append(ev.FillVoided(t.id, oid, ts_ns))
                continue
            if prev is not None:
                if status == "CONFIRMED" and prev != "CONFIRMED":
                    out.append(ev.FillConfirmed(t.id, oid, ts_ns))
                continue  # MINED / RETRYING of a fill already reported
            f = self.fill(t, oid, token, side_s, price_s, size_s, taker, ts_ns, status, m, is_yes)
            out.append(f)
        return out

    def rest_fills(self, t: w.PolyTradeEvent | w.PolyTrade, ts_ns: int) -> list[ev.Fill]:
        """Our standing fills in a REST trade (reconciliation backfill), without events.

        A fill the stream already booked comes back as booked; a new one is booked now
        (carry included) and marked seen, so the WS copy does not book it twice and a
        later FAILED still voids it. FAILED trades give nothing.
        """
        out: list[ev.Fill] = []
        status = t.status.upper().removeprefix("TRADE_STATUS_")
        for oid, token, side_s, price_s, size_s, taker in self.legs(t):
            hit = self._tokens.get(token)
            key = (t.id, oid)
            if hit is None or status == "FAILED" or self.seen.get(key) == "FAILED":
                continue
            known = self.fills.get(key)
            if known is not None:
                f0 = known[0]
                if f0.provisional and self.seen.get(key) == "CONFIRMED":
                    f0 = dataclasses.replace(f0, provisional=False)
                out.append(f0)
                continue
            m, is_yes = hit
            self.seen[key] = status
            out.append(
                self.fill(t, oid, token, side_s, price_s, size_s, taker, ts_ns, status, m, is_yes)
            )
        return out

    def fill(
        self,
        t: w.PolyTradeEvent | w.PolyTrade,
        oid: str,
        token: str,
        side_s: str,
        price_s: str,
        size_s: str,
        taker: bool,
        ts_ns: int,
        status: str,
        m: MarketInfo,
        is_yes: bool,
    ) -> ev.Fill:
        own_price = parse_px(price_s)
        side, yes_price = order_side(is_yes, side_s, own_price)
        qty_e6 = parse_micro(size_s)
        fee = taker_fee(qty_e6, own_price, int(t.fee_rate_bps or 0)) if taker else 0
        k = (m.condition_id, side.value)
        ex = self.exact.get(k, 0) + qty_e6
        q = max(0, ex // 10_000 - self.booked.get(k, 0))
        self.exact[k] = ex
        self.booked[k] = self.booked.get(k, 0) + q
        f = ev.Fill(
            t.id,
            oid,
            m.condition_id,
            side,
            yes_price,
            q,
            fee,
            taker,
            ts_ns,
            provisional=status != "CONFIRMED",
        )
        self.fills[(t.id, oid)] = (f, qty_e6)
        self.moves[(t.id, oid)] = (token, qty_e6 if side_s == "BUY" else -qty_e6)
        return f

    def adopt_pending(self, fills: Iterable[ev.Fill]) -> int:
        """Take over provisional fills an earlier run booked (from its ledger): they count
        as not mined until the venue says otherwise, so the position check asks for their
        status (`unsettled_keys`) and a trade that FAILED while we were down is voided,
        not kept as a phantom position. Returns how many were new here."""
        n = 0
        for f in fills:
            key = (f.trade_id, f.order_id)
            if key in self.fills:
                continue
            e6 = f.qty * 10_000  # the ledger keeps 1e-2 shares: no sub-cent carry
            k = (f.ticker, f.side.value)
            self.exact[k] = self.exact.get(k, 0) + e6
            self.booked[k] = self.booked.get(k, 0) + f.qty
            self.fills[key] = (f, e6)
            self.seen[key] = "MATCHED"
            self.adopted.add(key)
            m = self._markets.get(f.ticker)
            if m is not None:  # which token it moved is not kept: take it as a sale of the
                # token that side sells (YES for an ask, NO for a bid), the cautious reading
                self.moves[key] = (m.yes_token if f.side is Side.ASK else m.no_token, -e6)
            n += 1
        return n

    def unknown_to_venue(self, trade_id: str) -> int:
        """The venue's trade lookup knows nothing of this trade id (too old, or never
        there). An adopted fill (an earlier run's) then stops counting as pending: after a
        restart the token balances are the better truth (counting it on top of a balance
        that already holds it doubled the position for good). A fill of this run stays
        pending: the lookup may just lag the match. Returns how many stopped counting."""
        n = 0
        for key in [k for k in self.adopted if k[0] == trade_id]:
            if self.seen.get(key) not in _ON_CHAIN:
                self.seen[key] = "MINED"
                n += 1
        return n

    def _unbook(self, key: tuple[str, str]) -> None:
        hit = self.fills.get(key)
        if hit is None:
            return
        f, e6 = hit
        k = (f.ticker, f.side.value)
        self.exact[k] = self.exact.get(k, 0) - e6
        self.booked[k] = self.booked.get(k, 0) - f.qty

    def unsettled(self) -> dict[str, int]:
        """Per market, the micro-shares (YES terms: YES minus NO tokens) of our fills not
        mined yet (MATCHED or RETRYING): the token balances the venue reports move only when
        a trade is mined (doc §7), so a position compared with them must add these."""
        out: dict[str, int] = {}
        for key in self.unsettled_keys():
            f, e6 = self.fills[key]
            out[f.ticker] = out.get(f.ticker, 0) + f.side.sign * e6
        return out

    def unsettled_keys(self) -> list[tuple[str, str]]:
        """(trade id, order id) of our fills not mined yet: every status before MINED (MATCHED,
        RETRYING, REST's MATCHED_NOT_BROADCASTED, any the venue adds), since token balances
        move only when the trade is mined."""
        return [k for k in self.fills if self.seen.get(k) not in _ON_CHAIN]

    def confirmed(self, trade_id: str, order_id: str) -> bool:
        return self.seen.get((trade_id, order_id)) == "CONFIRMED"


_ON_CHAIN = frozenset(("MINED", "CONFIRMED", "FAILED"))  # in the balances, or never will be


def _maker_side(t: w.PolyTradeEvent | w.PolyTrade, mo: w.PolyMakerOrder) -> str:
    """A maker on the taker's token takes the other side; on the complement, the same side."""
    same_token = (mo.asset_id or t.asset_id) == t.asset_id
    if same_token:
        return "SELL" if t.side == "BUY" else "BUY"
    return t.side
