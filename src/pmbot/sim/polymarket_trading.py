"""The simulator's trading routes: orders, cancels, queries, balances, heartbeats, lifecycle.

Validation order follows the venue: L2 HMAC, rate-limit bucket, faults (425 / 5xx /
cancel-only / post-only mode), payload version, owner, signature, amounts precision, tick,
size, expiration, balance; then matching. Rejections use the exact texts of doc §3.3:
validation failures are HTTP 400 `{"error"}`, matching outcomes 200 `success:false`.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from pmbot.core.money import ONE
from pmbot.sim.polymarket_accounts import notional, taker_fee
from pmbot.sim.polymarket_auth import KeyRecord, recover_order
from pmbot.sim.polymarket_engine import EngineOrder, MatchError, Place
from pmbot.sim.polymarket_queries import QueryRoutes
from pmbot.sim.polymarket_views import (
    Trade,
    best_bid_ask,
    book_json,
    dec6,
    order_json,
    price_change,
    px,
    trade_json,
)
from pmbot.venues.polymarket.signing import TICK_ROUNDING
from pmbot.venues.polymarket.wire import PolyOrderRequest

if TYPE_CHECKING:
    from pmbot.sim.polymarket_server import PolySim

__all__ = ["Trading"]

MAX_BATCH = 15


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


class _Reject(Exception):
    def __init__(
        self, text: str, status: int = 400, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(text)
        self.text, self.status, self.headers, self.extra = text, status, headers, extra


def _dp_ok(v: int, dp: int) -> bool:
    return bool(v % 10 ** (6 - dp) == 0)


class Trading(QueryRoutes):
    def __init__(self, sim: PolySim) -> None:
        self.sim = sim

    def routes(self, r: web.UrlDispatcher) -> None:
        r.add_post("/order", self.post_order)
        r.add_post("/orders", self.post_orders)
        r.add_delete("/order", self.cancel_one)
        r.add_delete("/orders", self.cancel_many)
        r.add_delete("/cancel-all", self.cancel_all)
        r.add_delete("/cancel-market-orders", self.cancel_market)
        r.add_get("/data/orders", self.orders)
        r.add_get("/data/order/{id}", self.order)
        r.add_get("/data/trades", self.get_trades)
        r.add_get("/balance-allowance", self.balance)
        r.add_get("/balance-allowance/update", self.balance)
        r.add_post("/v1/heartbeats", self.heartbeat)
        r.add_get("/order-scoring", self.order_scoring)
        r.add_post("/orders-scoring", self.orders_scoring)

    # ---- gates -------------------------------------------------------------------------------
    def _gate(self, signer: str, bucket: str, cost: int, *, cancel: bool = False) -> None:
        s, f, now = self.sim, self.sim.faults, self.sim.clock.monotonic()
        wait = s.take(signer.lower(), bucket, cost)
        if wait > 0:
            raise _Reject(
                "Too Many Requests",
                429,
                {
                    "Retry-After": str(max(1, round(wait))),
                    "Poly-RateLimit-Remaining": "0",
                    "Poly-RateLimit-Tier": "standard",
                },
            )
        if now < f.too_early_until:
            raise _Reject("Too Early: the matching engine is restarting", 425)
        if f.http_5xx > 0:
            f.http_5xx -= 1
            raise _Reject("could not insert order" if not cancel else "internal error", 500)
        if f.cancel_only and not cancel:
            raise _Reject("Trading is currently cancel-only", 503)

    async def _run(self, coro: Any) -> web.Response:
        try:
            return await coro  # type: ignore[no-any-return]
        except _Reject as e:
            return _json({"error": e.text, **e.extra}, e.status, e.headers)

    # ---- placement ---------------------------------------------------------------------------
    async def post_order(self, request: web.Request) -> web.Response:
        return await self._run(self._post(request, batch=False))

    async def post_orders(self, request: web.Request) -> web.Response:
        return await self._run(self._post(request, batch=True))

    async def _post(self, request: web.Request, *, batch: bool) -> web.Response:
        rec, body = await self.sim.l2(request)
        try:
            payload = json.loads(body)
        except ValueError:
            raise _Reject("Invalid order payload") from None
        items = payload if batch else [payload]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _Reject("Invalid order payload")
        if batch and len(items) > MAX_BATCH:
            raise _Reject(f"Too many orders in payload: {len(items)}, max allowed: {MAX_BATCH}")
        self._gate(rec.address, "order", len(items))
        post_only_mode = self.sim.clock.monotonic() < self.sim.faults.post_only_until
        results = []
        for it in items:
            try:
                results.append(await self._place(rec, it, post_only_mode))
            except _Reject as e:
                if not batch:
                    raise
                results.append({"success": False, "errorMsg": e.text, "orderID": None})
        return _json(results if batch else results[0])

    async def _place(
        self, rec: KeyRecord, item: dict[str, Any], post_only_mode: bool
    ) -> dict[str, Any]:
        s = self.sim
        o = item.get("order")
        if isinstance(o, dict) and ("nonce" in o or "taker" in o or "timestamp" not in o):
            raise _Reject("order_version_mismatch")
        try:
            req = msgspec.convert(item, PolyOrderRequest)
        except msgspec.ValidationError as e:
            raise _Reject(f"Invalid order payload: {e}") from None
        w = req.order
        if req.owner != rec.api_key:
            raise _Reject("the order owner has to be the owner of the API KEY")
        if req.orderType not in ("GTC", "GTD", "FOK", "FAK"):
            raise _Reject(f"invalid order type {req.orderType}")
        if req.postOnly and req.orderType in ("FOK", "FAK"):
            raise _Reject("invalid post-only order type", code="INVALID_POST_ONLY_ORDER_TYPE")
        if post_only_mode and not req.postOnly:
            retry = max(1, round(s.faults.post_only_until - s.clock.monotonic()))
            raise _Reject(
                "post-only mode: only post-only orders and cancels are allowed",
                503,
                {"Retry-After": str(retry)},
                code="post_only_mode",
                retry_after_seconds=retry,
            )
        try:
            book, is_yes = s.engine.token(w.tokenId)
        except MatchError:
            raise _Reject("Invalid token id") from None
        m = s.markets[book.cid]
        order_hash, recovered = recover_order(msgspec.to_builtins(w), s.chain_id, m.neg_risk)
        self._check_signer(rec, w.maker, w.signer, w.signatureType, recovered)
        self.sim.funders[(rec.api_key, int(w.signatureType))] = w.maker.lower()
        side = w.side
        if side not in ("BUY", "SELL"):
            raise _Reject("invalid side")
        mk, tk = int(w.makerAmount), int(w.takerAmount)
        if mk <= 0 or tk <= 0:
            raise _Reject("invalid amounts")
        market_order = req.orderType in ("FOK", "FAK")
        _, size_dp, amount_dp = TICK_ROUNDING[m.tick]
        if market_order:
            cash_dp, share_dp = (2, 4) if side == "BUY" else (amount_dp, size_dp)
        else:
            cash_dp, share_dp = amount_dp, size_dp
        maker_dp, taker_dp = (cash_dp, share_dp) if side == "BUY" else (share_dp, cash_dp)
        if not (_dp_ok(mk, maker_dp) and _dp_ok(tk, taker_dp)):
            kind = "market" if market_order else "limit"
            raise _Reject(
                f"invalid amounts, the {kind} {side.lower()} orders maker amount supports a max accuracy "
                f"of {maker_dp} decimals, taker amount a max of {taker_dp} decimals"
            )
        shares, cash = (tk, mk) if side == "BUY" else (mk, tk)
        if market_order:
            price = cash * ONE // shares if side == "BUY" else -(-cash * ONE // shares)
            price -= price % book.tick if side == "BUY" else -(-price % book.tick)
        else:
            price = cash * ONE // shares
            if cash * ONE % shares:
                price += 1  # off-grid: let the tick rule refuse it with the venue's text
        exp = int(w.expiration or 0)
        now_s = s.now_s()
        if (req.orderType == "GTD" and exp <= now_s + 60) or (req.orderType != "GTD" and exp):
            return {
                "success": False,
                "errorMsg": "invalid expiration",
                "orderID": order_hash,
                "status": "",
            }
        live = s.engine.live()
        need = notional(shares, price) if side == "BUY" else shares
        if s.accounts.available(w.maker, w.tokenId, side == "BUY", live) < need:
            raise _Reject("not enough balance / allowance")
        eo = EngineOrder(
            id=order_hash,
            owner=rec.api_key,
            maker_address=w.maker,
            market=book.cid,
            token_id=w.tokenId,
            is_yes=is_yes,
            side=side,
            price=price,
            original=shares,
            order_type=req.orderType,
            expiration=exp,
            created_ms=s.now_ms(),
        )
        try:
            res = s.engine.place(eo, post_only=req.postOnly)
        except MatchError as e:
            if e.code in (
                "INVALID_ORDER_MIN_TICK_SIZE",
                "INVALID_ORDER_MIN_SIZE",
                "INVALID_ORDER_DUPLICATED",
            ):
                raise _Reject(e.text) from None
            return {"success": False, "errorMsg": e.text, "orderID": order_hash, "status": ""}
        trades = await self._after_place(res, m)
        filled = eo.matched
        making = notional(filled, price) if side == "BUY" else filled
        taking = filled if side == "BUY" else sum(notional(t.size, t.taker_price) for t in trades)
        return {
            "success": True,
            "errorMsg": "",
            "orderID": order_hash,
            "status": "matched" if trades else "live",
            "makingAmount": dec6(making) if trades else "",
            "takingAmount": dec6(taking) if trades else "",
            "transactionsHashes": [t.tx_hash for t in trades],
            "tradeIDs": [t.id for t in trades],
        }

    def _check_signer(
        self, rec: KeyRecord, maker: str, signer: str, sig_type: int, recovered: str
    ) -> None:
        a = rec.address.lower()
        if sig_type not in (0, 1, 2, 3):
            raise _Reject("invalid signature type")
        if recovered.lower() != a:
            raise _Reject("invalid signature")
        if sig_type == 3:
            if signer.lower() != maker.lower() or self.sim.wallet_owners.get(maker.lower()) != a:
                raise _Reject("the order signer address has to be the address of the API KEY")
            return
        if signer.lower() != a:
            raise _Reject("the order signer address has to be the address of the API KEY")
        if sig_type == 0 and maker.lower() != a:
            raise _Reject("invalid signature")
        if sig_type in (1, 2) and self.sim.wallet_owners.get(maker.lower()) != a:
            raise _Reject("invalid signature")

    async def _after_place(self, res: Place, m: Any) -> list[Trade]:
        s = self.sim
        o, now = res.order, s.now_ms()
        book = s.engine.books[o.market]
        trades: list[Trade] = []
        market_msgs: list[dict[str, Any]] = []
        for f in res.fills:
            tp, mp = f.price_for(o), f.price_for(f.maker)
            t = Trade(
                id=s.next_id("trade-"),
                market=o.market,
                taker=o,
                maker=f.maker,
                size=f.size,
                taker_price=tp,
                maker_price=mp,
                fee_rate_bps=book.fee_rate_bps,
                match_ms=now,
                last_ms=now,
            )
            t.tx_hash = "0x" + hashlib.sha256(t.id.encode()).hexdigest()
            fee = taker_fee(f.size, tp, book.fee_rate_bps)
            t.transfers = [
                s.accounts.fill(o, f.size, tp, fee),
                s.accounts.fill(f.maker, f.size, mp),
            ]
            o.trades.append(t.id)
            f.maker.trades.append(t.id)
            s.trades[t.id] = t
            s.last_trade[o.token_id] = px(tp)
            trades.append(t)
            market_msgs.append(
                {
                    "event_type": "last_trade_price",
                    "market": o.market,
                    "asset_id": o.token_id,
                    "price": px(tp),
                    "side": o.side,
                    "size": dec6(f.size),
                    "fee_rate_bps": str(book.fee_rate_bps),
                    "timestamp": str(now),
                }
            )
        if res.changes:
            market_msgs.insert(0, price_change(book, res.changes, now, o.id))
            market_msgs += best_bid_ask(book, now, s.bbo_sent)
        if trades:  # a trade that changed the book is followed by both tokens' books (§4.1)
            market_msgs += [
                book_json(book, y, now, m, s.last_trade.get(tok, ""), ws=True)
                for y, tok in ((True, book.yes_token), (False, book.no_token))
            ]
        await s.hub.market(market_msgs)
        await s.maybe_retick(o.market)
        await s.hub.user(o.owner, o.market, [order_json(o, m, event="PLACEMENT", ts_ms=now)])
        for t in trades:
            await s.hub.user(
                t.maker.owner, t.market, [order_json(t.maker, m, event="UPDATE", ts_ms=now)]
            )
            await self._trade_event(t)
            s.spawn(self._lifecycle(t))
        if (trades and o.status != "LIVE") or (trades and o.remaining):
            await s.hub.user(o.owner, o.market, [order_json(o, m, event="UPDATE", ts_ms=now)])
        return trades

    async def _trade_event(self, t: Trade) -> None:
        m = self.sim.markets[t.market]
        await self.sim.hub.user(t.taker.owner, t.market, [trade_json(t, t.taker.owner, m, ws=True)])
        if t.maker.owner != t.taker.owner:
            await self.sim.hub.user(
                t.maker.owner, t.market, [trade_json(t, t.maker.owner, m, ws=True)]
            )

    async def _lifecycle(self, t: Trade) -> None:
        s = self.sim
        fo = s.faults.fail_owner
        fail = s.faults.fail_trades > 0 and (fo is None or fo in (t.taker.owner, t.maker.owner))
        if fail:
            s.faults.fail_trades -= 1
        steps = ("RETRYING", "FAILED") if fail else ("MINED", "CONFIRMED")
        for status, delay in zip(steps, (s.mined_delay, s.confirmed_delay), strict=True):
            await s.clock.sleep(delay)
            t.status, t.last_ms = status, s.now_ms()
            if status in ("MINED", "FAILED"):  # the chain moves the funds, or nothing moves
                for tr in t.transfers:
                    (s.accounts.settle if status == "MINED" else s.accounts.drop)(tr)
            await self._trade_event(t)

    # ---- cancels -----------------------------------------------------------------------------
    async def cancel_ids(
        self, owner: str, ids: list[str], status: str = "CANCELED"
    ) -> dict[str, Any]:
        s = self.sim
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        by_market: dict[str, list[Any]] = {}
        for oid in dict.fromkeys(ids):
            o = s.engine.orders.get(oid)
            if o is None or o.owner != owner:
                not_canceled[oid] = "Order not found or already canceled"
                continue
            ch = s.engine.cancel(oid, status)
            if ch is None:
                not_canceled[oid] = (
                    "Order already matched"
                    if o.status == "MATCHED"
                    else "Order not found or already canceled"
                )
                continue
            canceled.append(oid)
            by_market.setdefault(o.market, []).append((o, ch))
        now = s.now_ms()
        for cid, pairs in by_market.items():
            book, m = s.engine.books[cid], s.markets[cid]
            await s.hub.market(
                [
                    price_change(book, [c for _, c in pairs], now, pairs[-1][0].id),
                    *best_bid_ask(book, now, s.bbo_sent),
                ]
            )
            for o, _ in pairs:
                await s.hub.user(o.owner, cid, [order_json(o, m, event="CANCELLATION", ts_ms=now)])
            await s.maybe_retick(cid)
        return {"canceled": canceled, "not_canceled": not_canceled}

    async def _cancel(
        self, request: web.Request, pick: Any, *, after: bool = False
    ) -> web.Response:
        """`after`: cancel-all / cancel-market-orders cost 1 up front and the number cancelled
        after the fact (the bucket may go negative); the others cost one per id, up front."""
        rec, body = await self.sim.l2(request)
        try:
            data = json.loads(body) if body else None
        except ValueError:
            raise _Reject("Invalid payload") from None
        ids = pick(rec, data)
        self._gate(rec.address, "cancel", 1 if after else max(1, len(ids)), cancel=True)
        out = await self.cancel_ids(rec.api_key, ids)
        if after:
            self.sim.debit(rec.address.lower(), "cancel", len(out["canceled"]))
        return _json(out)

    async def cancel_one(self, request: web.Request) -> web.Response:
        return await self._run(
            self._cancel(request, lambda _, d: [str((d or {}).get("orderID", ""))])
        )

    async def cancel_many(self, request: web.Request) -> web.Response:
        def pick(_: KeyRecord, d: Any) -> list[str]:
            if not isinstance(d, list) or len(d) > 1000:
                raise _Reject("Invalid payload: expected at most 1000 order ids")
            return [str(x) for x in d]

        return await self._run(self._cancel(request, pick))

    async def cancel_all(self, request: web.Request) -> web.Response:
        return await self._run(
            self._cancel(
                request, lambda r, _: [o.id for o in self.sim.engine.live(r.api_key)], after=True
            )
        )

    async def cancel_market(self, request: web.Request) -> web.Response:
        def pick(r: KeyRecord, d: Any) -> list[str]:
            d = d or {}
            return [
                o.id
                for o in self.sim.engine.live(r.api_key)
                if (not d.get("market") or o.market == d["market"])
                and (not d.get("asset_id") or o.token_id == d["asset_id"])
            ]

        return await self._run(self._cancel(request, pick, after=True))
