"""`PolymarketPort`: the order manager's `VenuePort` on top of `PolymarketVenue`.

What differs from Kalshi, and how the port absorbs it:
* No amend, no decrease: `supports_amend = False`, so the planner sends cancel + create.
* No client order ids: the venue's order id is the EIP-712 hash of the signed order, known
  before the request leaves. The port remembers hash -> our client_order_id for every order
  it signs, and puts it back on every `OrderUpdate` it lists (and `client_order_id()` lets
  the app do the same for stream events); `on_signed` lets the app write the hash to the
  ledger before the request leaves, so an order whose answer is lost (timeout, or the bot
  killed mid-call) is still recognised by reconciliation, also after a restart.
* No orders-history list: `/data/orders` lists only open orders. For history the port asks
  `/data/order/{id}` for each order it sent in that market that is neither open nor known
  to be over (bounded by the orders of this process).
* Trades: `get_fills` walks REST trades through the same `UserStream` as the user channel
  (one booking per fill, the size carry included); voids and confirmations it learns
  first go to the app's sink at once.
* No positions endpoint: the position of a market is its YES token balance minus its NO
  token balance, truncated to `Qty`.
* Two forms per side: an ask SELLs YES at p when the YES tokens we may sell cover it, else
  it BUYs NO at 1 - p; a bid SELLs NO at 1 - p when our NO tokens cover it, else it BUYs YES
  (buying the other token while holding one locks $1 per share in a YES+NO pair, back only
  by a merge or at resolution). Tokens we may sell (`sellable`): the balance as last read,
  less our SELL fills that read did not show, less what our resting SELLs reserve
  (`resting_sells`, from the app's state). Tokens bought count once a read shows them
  (`refresh_holdings` reads a token after a BUY fill of it is mined). A SELL the venue
  refuses for balance is `insufficient_tokens` (no money is short: not the kill switch's
  `insufficient_balance`), and that token counts as none until the next read.
* No order groups: the heartbeat kill switch (venue.run) is the exchange-side safety; the
  order-group calls raise.
Batches: <= 15 orders per create (doc §3.4), cancels in one call.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from pmbot.core.events import Fill, OrderUpdate, PositionSnapshot
from pmbot.core.money import Micros, Qty, fmt_count, fmt_price
from pmbot.core.orders import OrderStatus, Side
from pmbot.core.requests import (
    AmendOrder,
    CancelAck,
    CancelOrder,
    CreateOrder,
    DecreaseOrder,
    OrderAck,
    TimeInForce,
)
from pmbot.errors import NotFound, OrderRejected, ProtocolViolation, VenueError
from pmbot.venues.polymarket import rest
from pmbot.venues.polymarket import wire as w
from pmbot.venues.polymarket.convert import parse_qty
from pmbot.venues.polymarket.signing import BuiltOrder
from pmbot.venues.polymarket.venue import PolymarketVenue, open_order_update

__all__ = ["PolymarketPort", "map_reject"]

log = logging.getLogger("pmbot.venues.polymarket")

# the venue's reject codes (rest.classify) -> the codes the order manager understands
_CODES = {
    "post_only_crosses": "post_only_cross",
    "duplicated": "order_already_exists",
    "closed_only": "market_closed",
    "market_not_ready": "market_closed",
}
_GTD_THRESHOLD_S = 60
_TIF = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "FAK",
    TimeInForce.FOK: "FOK",
}


def map_reject(e: OrderRejected) -> OrderRejected:
    """The same rejection under the order manager's code names."""
    code = _CODES.get(e.code or "", e.code)
    if code == e.code:
        return e
    return OrderRejected(e.message, status=e.status, code=code, details=e.details)


class PolymarketPort:
    """VenuePort for Polymarket CLOB V2 (production or the simulator)."""

    supports_amend = False

    def __init__(self, venue: PolymarketVenue) -> None:
        self.venue = venue
        self.http = venue.http
        self._coid: dict[str, str] = {}  # order id (hash) -> our client_order_id
        self._ticker: dict[str, str] = {}  # order id -> market (condition id)
        self._over: set[str] = set()  # order ids known to rest no more
        # called with (client_order_id, order id) after signing, before the request leaves:
        # the app records the hash in the ledger (ledger first, as for client ids)
        self.on_signed: Callable[[str, str], None] | None = None
        self._sell: dict[str, bool] = {}  # order id -> a SELL (of tokens held), else a BUY
        self._held: dict[str, int] = {}  # token -> balance as last read (micro-shares)
        self._reads: dict[str, int] = {}  # token -> balance reads started
        self._read_applied: dict[str, int] = {}  # token -> the newest read applied to _held
        # (ticker, side) -> what our live SELL orders there still reserve (Qty; the app's
        # state). None: no hook, nothing reserved is known, so nothing is sold
        self.resting_sells: Callable[[str, Side], Qty] | None = None

    @property
    def max_batch_create(self) -> int:
        return rest.MAX_BATCH

    @property
    def max_batch_cancel(self) -> int:
        return 100

    def _now(self) -> int:
        return self.venue.clock.now_ns()

    def client_order_id(self, order_id: str) -> str | None:
        """Our client_order_id of a venue order id (None for orders this process never sent)."""
        return self._coid.get(order_id)

    def learn(self, order_id: str, client_order_id: str, ticker: str) -> None:
        """Teach the port an order sent by an earlier run (from the ledger)."""
        self._coid[order_id] = client_order_id
        self._ticker[order_id] = ticker

    # ---- tokens held: which form an order takes ----------------------------------------
    def is_sell(self, order_id: str | None) -> bool | None:
        """Whether our order sells tokens (True), buys (False), or is unknown here (None:
        an earlier run's order not listed yet)."""
        return None if order_id is None else self._sell.get(order_id)

    def sell_token(self, ticker: str, side: Side) -> str:
        """The token a SELL on this YES-leg side sells: YES for an ask, NO for a bid."""
        m = self.venue.markets[ticker]
        return m.yes_token if side is Side.ASK else m.no_token

    def sellable(self, ticker: str, side: Side) -> Qty:
        """Tokens a SELL on this side may sell, before our resting SELLs' reservations: the
        last balance read less our SELL fills it did not show (0 before any read)."""
        token = self.sell_token(ticker, side)
        bal = self._held.get(token)
        if bal is None:
            return 0
        feed = self.venue.user_feed
        sold = 0 if feed is None else feed.stream.sold_unread(token)
        return max(0, bal - sold) // 10_000

    def _sells_now(self, r: CreateOrder) -> bool:
        if self.resting_sells is None:
            return False
        free = self.sellable(r.ticker, r.side) - self.resting_sells(r.ticker, r.side)
        return free >= r.qty

    async def _read_token(self, token: str, update: bool = False) -> int:
        """One token's balance; the fill movements it shows stop being counted beside it."""
        feed = self.venue.user_feed
        n = self._reads.get(token, 0) + 1  # reads of this token may overlap (reconciliation,
        self._reads[token] = n  # refresh_holdings): an older answer landing last is stale
        keys = [] if feed is None else feed.stream.read_keys(token)  # before the read leaves
        bal = await self.http.balance("CONDITIONAL", token, update=update)
        if n > self._read_applied.get(token, 0):
            self._read_applied[token] = n
            self._held[token] = bal
            if feed is not None:
                feed.stream.retire(keys)
        return bal

    async def refresh_holdings(self) -> int:
        """Read the tokens our mined BUY fills added (the venue's cache refreshed first), so
        they can be sold without waiting for the next reconciliation. Returns how many."""
        feed = self.venue.user_feed
        tokens = sorted(feed.stream.to_read()) if feed is not None else []
        for token in tokens:
            await self._read_token(token, update=True)
        return len(tokens)

    # ---- create ----------------------------------------------------------------------
    def _sign(self, r: CreateOrder) -> BuiltOrder:
        # `expiration_ts_s` is when the order ends; the venue ends a GTD order 60 s before its
        # signed expiration (a security threshold, protocol §3.4)
        exp = r.expiration_ts_s + _GTD_THRESHOLD_S if r.expiration_ts_s else 0
        market = self._type(r) in ("FAK", "FOK")
        sell = self._sells_now(r)
        o: BuiltOrder = self.venue._order(r.ticker, r.side, r.price, r.qty, exp, market, sell)
        self._sell[o.order_id] = sell
        self.learn(o.order_id, r.client_order_id, r.ticker)
        if self.on_signed is not None:
            self.on_signed(r.client_order_id, o.order_id)
        return o

    def _type(self, r: CreateOrder) -> str:
        if r.expiration_ts_s:
            return "GTD"
        return _TIF.get(r.time_in_force, "GTC")

    def _ack(self, r: CreateOrder, o: BuiltOrder, resp: w.PolyOrderResponse) -> OrderAck:
        oid = resp.orderID or o.order_id
        st = (resp.status or "").lower()
        filled: Qty | None = None
        remaining: Qty | None = None
        if st == "matched" and self._type(r) in ("FAK", "FOK"):
            # traded on arrival and nothing rests; a FAK may have traded only in part: the
            # shares moved are what a BUY takes (a SELL makes); unknown when "" (the fills
            # tell how much traded)
            took = (resp.takingAmount if o.wire.get("side") == "BUY" else resp.makingAmount) or ""
            filled, remaining = (parse_qty(took) if took else None), 0
            self._over.add(oid)
        # "matched" for a GTC/GTD order (never a post-only one): traded on arrival, perhaps
        # in part, the rest resting; left unknown here, the user channel and the
        # reconciliation tell what rests (taking it as done would leave a remainder untracked)
        log.info(
            "polymarket order created ticker=%s side=%s price=%s count=%s order_id=%s "
            "client_order_id=%s status=%s wire=%s token_id=%s",
            r.ticker, r.side.value, fmt_price(r.price), fmt_count(r.qty), oid,
            r.client_order_id, st or "-", o.wire.get("side"), o.wire.get("tokenId"),
        )  # fmt: skip
        return OrderAck(oid, r.client_order_id, self._now(), filled, remaining)

    def _refused(self, o: BuiltOrder, e: OrderRejected) -> OrderRejected:
        """A venue rejection under our code names; a SELL refused for balance lacked tokens
        (our count ran ahead of the venue's): that token counts as none until read again."""
        e = map_reject(e)
        if e.code != "insufficient_balance" or o.wire.get("side") != "SELL":
            return e
        token = str(o.wire.get("tokenId", ""))
        self._held.pop(token, None)
        log.warning("polymarket SELL refused for balance token=%s order_id=%s", token, o.order_id)
        return OrderRejected(
            e.message, status=e.status, code="insufficient_tokens", details=e.details
        )

    async def create_order(self, req: CreateOrder) -> OrderAck:
        try:
            o = self._sign(req)
        except OrderRejected as e:
            raise map_reject(e) from None
        try:
            resp = await self.http.post_order(o, self._type(req), post_only=req.post_only)
        except OrderRejected as e:
            raise self._refused(o, e) from None
        return self._ack(req, o, resp)

    async def batch_create(self, reqs: Sequence[CreateOrder]) -> list[OrderAck | VenueError]:
        out: list[OrderAck | VenueError] = []
        signed: list[tuple[int, CreateOrder, BuiltOrder]] = []
        for r in reqs:
            try:
                signed.append((len(out), r, self._sign(r)))
                out.append(VenueError("batch create: not sent"))
            except OrderRejected as e:
                out.append(map_reject(e))
        if signed:
            res = await self.http.post_orders(
                [(o, self._type(r), r.post_only) for _, r, o in signed]
            )
            for (i, r, o), item in zip(signed, res, strict=False):
                out[i] = (
                    self._refused(o, item)
                    if isinstance(item, OrderRejected)
                    else self._ack(r, o, item)
                )
        return out

    # ---- cancel ----------------------------------------------------------------------
    def _cancel_result(self, r: CancelOrder, resp: w.PolyCancelResponse) -> CancelAck | VenueError:
        if r.order_id in (resp.canceled or []):
            self._over.add(r.order_id)
            log.info(
                "polymarket order canceled order_id=%s client_order_id=%s",
                r.order_id,
                r.client_order_id,
            )
            # the answer does not say what rested (what had matched is the stream's)
            return CancelAck(r.order_id, None, self._now(), r.client_order_id)
        why = (resp.not_canceled or {}).get(r.order_id, "no answer for this order")
        return NotFound(why, code="not_found")  # matched, already canceled, or unknown

    async def cancel(self, req: CancelOrder) -> CancelAck:
        res = self._cancel_result(req, await self.http.cancel(req.order_id))
        if isinstance(res, VenueError):
            raise res
        return res

    async def batch_cancel(self, reqs: Sequence[CancelOrder]) -> list[CancelAck | VenueError]:
        resp = await self.http.cancel_orders([r.order_id for r in reqs])
        return [self._cancel_result(r, resp) for r in reqs]

    async def amend(self, req: AmendOrder) -> OrderAck:
        raise OrderRejected("Polymarket has no amend: cancel + create", code="unsupported")

    async def decrease(self, req: DecreaseOrder) -> OrderAck:
        raise OrderRejected("Polymarket has no decrease: cancel + create", code="unsupported")

    # ---- queries ---------------------------------------------------------------------
    def _update(self, o: w.PolyOpenOrder, now: int) -> OrderUpdate | None:
        m = self.venue.markets.get(o.market)
        if m is None:
            return None
        try:
            u = open_order_update(o, m, now)
        except ProtocolViolation:
            return None
        self._sell[o.id] = o.side == "SELL"
        coid = self._coid.get(u.order_id)
        return dataclasses.replace(u, client_order_id=coid) if coid else u

    async def list_orders(
        self,
        *,
        status: OrderStatus | None = None,
        ticker: str | None = None,
        event_ticker: str | None = None,
        min_ts_ns: int | None = None,
    ) -> list[OrderUpdate]:
        now = self._now()
        market = ticker or event_ticker
        filters = {"market": market} if market else {}
        opens = [u for o in await self.http.open_orders(**filters) if (u := self._update(o, now))]
        if status is OrderStatus.RESTING:
            return opens
        out = list(opens)
        open_ids = {u.order_id for u in opens}
        for oid, t in list(self._ticker.items()):
            if oid in self._over:
                del self._ticker[oid]  # settled for good: never looked up again
                self._sell.pop(oid, None)
                continue
            if oid in open_ids or (market and t != market):
                continue
            try:
                u = self._update(await self.http.order(oid), now)
            except NotFound:
                self._over.add(oid)  # never arrived (or long gone): nothing to settle
                continue
            if u is None:
                continue
            if u.status.terminal:
                self._over.add(oid)
            out.append(u)
        if status is not None:
            out = [u for u in out if u.status is status]
        return out

    async def get_fills(
        self, *, since_ns: int | None = None, ticker: str | None = None
    ) -> list[Fill]:
        feed = self.venue.user_feed
        if feed is None:
            return []
        now = self._now()
        out: list[Fill] = []
        q = {} if since_ns is None else {"after": str(max(0, since_ns // 1_000_000_000))}
        for cid in [ticker] if ticker else list(self.venue.markets):
            for t in await self.http.trades(market=cid, **q):
                # the stream learns what REST knows first: a new fill is booked (and returned
                # for the backfill), a FAILED or CONFIRMED one is announced at once, so the
                # positions compared right after already exclude a failed trade
                told = [e for e in feed.stream.trade(t, now) if not isinstance(e, Fill)]
                if told:
                    self.venue.emit(told)
                out += feed.stream.rest_fills(t, now)
        out.sort(key=lambda f: f.ts_ns)
        return out

    async def get_positions(self) -> list[PositionSnapshot]:
        """Token balances, plus our fills matched but not mined yet (the balances move only
        when a trade is mined): the position once every trade we know of settles."""
        now = self._now()
        out = []
        feed = self.venue.user_feed
        if feed is not None:  # the trades still pending: their status now, not the stream's
            for trade_id in dict.fromkeys(k[0] for k in feed.stream.unsettled_keys()):
                found = await self.http.trades(id=trade_id)
                if not found and feed.stream.unknown_to_venue(trade_id):
                    log.warning(
                        "trade of an earlier run unknown to the venue: taken as settled "
                        "(the token balances hold it, or never will) trade_id=%s",
                        trade_id,
                    )
                for t in found:
                    told = [e for e in feed.stream.trade(t, now) if not isinstance(e, Fill)]
                    if told:
                        self.venue.emit(told)
        # (a trade mined between that look-up and the balance reads below counts twice;
        # the next reconciliation, a few seconds on, sees it once)
        pending = {} if feed is None else feed.stream.unsettled()
        for cid, m in self.venue.markets.items():
            yes = await self._read_token(m.yes_token)
            no = await self._read_token(m.no_token)
            net = yes - no + pending.get(cid, 0)  # micro-shares, YES terms
            q = net // 10_000 if net >= 0 else -(-net // 10_000)
            out.append(PositionSnapshot(cid, q, now))
        return out

    async def get_balance(self) -> Micros:
        return await self.http.balance()

    async def get_settlements(self, tickers: Sequence[str]) -> dict[str, bool]:
        """Nothing leaves the position list here: a resolved market's tokens stay in the
        balances until redeemed (the market channel's `market_resolved` tells the result)."""
        return {}

    async def create_order_group(self, contracts_limit: Qty) -> str:
        raise VenueError(
            "Polymarket has no order groups: the heartbeat is the exchange-side kill switch",
            code="unsupported",
        )

    async def trigger_order_group(self, group_id: str) -> None:
        await self.create_order_group(0)

    async def delete_order_group(self, group_id: str) -> None:
        await self.create_order_group(0)

    async def reuse_order_group(self, group_id: str, contracts_limit: Qty) -> None:
        await self.create_order_group(0)
