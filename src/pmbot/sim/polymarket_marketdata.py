"""The simulator's public routes: market metadata, books and prices, and the Gamma subset.

A mixin of PolySim (it reads `engine`, `markets`, `last_trade`, `page_size`).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from pmbot.sim.polymarket_auth import AuthFail
from pmbot.sim.polymarket_views import (
    SimMarket,
    book_json,
    clob_market_json,
    gamma_market,
    market_json,
    px,
)

if TYPE_CHECKING:
    from pmbot.sim.polymarket_engine import PolyEngine

__all__ = ["END_CURSOR", "MarketDataRoutes"]

END_CURSOR = "LTE="


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":"), default=str),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _err(text: str, status: int = 400, **extra: Any) -> web.Response:
    return _json({"error": text, **extra}, status)


class MarketDataRoutes:
    engine: PolyEngine
    markets: dict[str, SimMarket]
    last_trade: dict[str, str]
    page_size: int
    faults: Any  # polymarket_server.Faults

    def now_ms(self) -> int:  # provided by PolySim
        raise NotImplementedError

    def market_of(self, token: str) -> SimMarket:
        book, _ = self.engine.token(token)
        return self.markets[book.cid]

    def public_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get("/tick-size", self._tick)
        r.add_get("/neg-risk", self._neg_risk)
        r.add_get("/fee-rate", self._fee_rate)
        r.add_get("/markets-by-token/{token}", self._by_token)
        r.add_get("/clob-markets/{cid}", self._clob_market)
        r.add_get("/markets", self._markets)
        r.add_get("/markets/{cid}", self._market)
        r.add_get("/book", self._book)
        r.add_post("/books", self._books)
        r.add_get("/midpoint", self._midpoint)
        r.add_get("/price", self._price)
        r.add_get("/last-trade-price", self._last)
        r.add_get("/spread", self._spread)
        r.add_post("/midpoints", self._midpoints)
        r.add_post("/prices", self._prices)
        r.add_post("/spreads", self._spreads)
        r.add_post("/last-trades-prices", self._lasts)
        r.add_get("/gamma/markets", self._gamma_markets)
        r.add_get("/gamma/events", self._gamma_events)

    # ---- public market data ----------------------------------------------------------------------
    def _token(self, request: web.Request) -> str:
        t = request.query.get("token_id", "")
        if not t.isdigit():
            raise AuthFail("Invalid token id", 400)
        if t not in self.engine.by_token:
            raise AuthFail("No orderbook exists for the requested token id", 404)
        return t

    async def _tick(self, request: web.Request) -> web.Response:
        return _json({"minimum_tick_size": float(self.market_of(self._token(request)).tick)})

    async def _neg_risk(self, request: web.Request) -> web.Response:
        return _json({"neg_risk": self.market_of(self._token(request)).neg_risk})

    async def _fee_rate(self, request: web.Request) -> web.Response:
        return _json({"base_fee": self.market_of(self._token(request)).fee_rate_bps})

    async def _by_token(self, request: web.Request) -> web.Response:
        m = self.market_of(request.match_info["token"])
        return _json(
            {
                "condition_id": m.condition_id,
                "primary_token_id": m.yes_token,
                "secondary_token_id": m.no_token,
            }
        )

    async def _clob_market(self, request: web.Request) -> web.Response:
        m = self.markets.get(request.match_info["cid"])
        return _json(clob_market_json(m)) if m else _err("market not found", 404)

    async def _market(self, request: web.Request) -> web.Response:
        m = self.markets.get(request.match_info["cid"])
        return _json(market_json(m)) if m else _err("market not found", 404)

    def page(self, items: list[Any], cursor: str) -> dict[str, Any]:
        """Cursor pagination: base64 offsets from "MA==", "LTE=" at the end."""
        try:
            off = int(base64.b64decode(cursor or "MA==").decode())
        except ValueError:
            off = 0
        off = max(off, 0)
        chunk = items[off : off + self.page_size]
        nxt = off + self.page_size
        return {
            "limit": self.page_size,
            "count": len(chunk),
            "data": chunk,
            "next_cursor": base64.b64encode(str(nxt).encode()).decode()
            if nxt < len(items)
            else END_CURSOR,
        }

    async def _markets(self, request: web.Request) -> web.Response:
        items = [market_json(m) for m in self.markets.values()]
        return _json(self.page(items, request.query.get("next_cursor", "")))

    def _book_of(self, token: str) -> dict[str, Any]:
        book, is_yes = self.engine.token(token)
        return book_json(
            book, is_yes, self.now_ms(), self.markets[book.cid], self.last_trade.get(token, "")
        )

    async def _book(self, request: web.Request) -> web.Response:
        body = self._book_of(self._token(request))
        gate = self.faults.hold_book
        if gate is not None:  # the reply, made now, is held in flight until the test says
            self.faults.books_held += 1
            await gate.wait()
        return _json(body)

    async def _books(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read() or b"[]")
        return _json([self._book_of(str(b["token_id"])) for b in body])

    def _bests(self, token: str) -> tuple[int | None, int | None]:
        book, is_yes = self.engine.token(token)
        bids, asks = book.token_levels(is_yes)
        return (bids[-1][0] if bids else None, asks[-1][0] if asks else None)

    async def _midpoint(self, request: web.Request) -> web.Response:
        b, a = self._bests(self._token(request))
        if b is None or a is None:
            return _err("No orderbook exists for the requested token id", 404)
        return _json({"mid": px((b + a) // 2)})

    async def _price(self, request: web.Request) -> web.Response:
        b, a = self._bests(self._token(request))
        p = b if request.query.get("side", "BUY").upper() == "BUY" else a
        return _json({"price": px(p) if p is not None else "0"})

    async def _last(self, request: web.Request) -> web.Response:
        t = self._token(request)
        return _json({"price": self.last_trade.get(t, "0.5"), "side": "BUY"})

    async def _spread(self, request: web.Request) -> web.Response:
        b, a = self._bests(self._token(request))
        return _json({"spread": px(a - b) if a is not None and b is not None else "0"})

    async def _tokens_body(self, request: web.Request) -> list[dict[str, str]]:
        body = json.loads(await request.read() or b"[]")
        out = [{k: str(v) for k, v in b.items()} for b in body if isinstance(b, dict)]
        for b in out:
            if b.get("token_id") not in self.engine.by_token:
                raise AuthFail("Invalid token id", 400)
        return out

    async def _midpoints(self, request: web.Request) -> web.Response:
        out = {}
        for b in await self._tokens_body(request):
            bid, ask = self._bests(b["token_id"])
            if bid is not None and ask is not None:
                out[b["token_id"]] = px((bid + ask) // 2)
        return _json(out)

    async def _prices(self, request: web.Request) -> web.Response:
        out: dict[str, dict[str, str]] = {}
        for b in await self._tokens_body(request):
            bid, ask = self._bests(b["token_id"])
            side = b.get("side", "BUY").upper()
            p = bid if side == "BUY" else ask
            out.setdefault(b["token_id"], {})[side] = px(p) if p is not None else "0"
        return _json(out)

    async def _spreads(self, request: web.Request) -> web.Response:
        out = {}
        for b in await self._tokens_body(request):
            bid, ask = self._bests(b["token_id"])
            out[b["token_id"]] = px(ask - bid) if bid is not None and ask is not None else "0"
        return _json(out)

    async def _lasts(self, request: web.Request) -> web.Response:
        return _json(
            [
                {
                    "token_id": b["token_id"],
                    "price": self.last_trade.get(b["token_id"], "0.5"),
                    "side": "BUY",
                }
                for b in await self._tokens_body(request)
            ]
        )

    # ---- gamma -----------------------------------------------------------------------------------
    def _gamma_filter(self, request: web.Request) -> list[SimMarket]:
        q = request.query
        out = list(self.markets.values())
        if "slug" in q:
            out = [m for m in out if m.slug in q.getall("slug")]
        if "condition_ids" in q:
            out = [m for m in out if m.condition_id in q.getall("condition_ids")]
        if "clob_token_ids" in q:
            ids = set(q.getall("clob_token_ids"))
            out = [m for m in out if {m.yes_token, m.no_token} & ids]
        for flag in ("active", "closed"):
            if flag in q:
                want = q[flag].lower() == "true"
                out = [m for m in out if getattr(m, flag) == want]
        off, lim = int(q.get("offset", 0)), int(q.get("limit", 500))
        return out[off : off + lim]

    async def _gamma_markets(self, request: web.Request) -> web.Response:
        return _json([gamma_market(m) for m in self._gamma_filter(request)])

    async def _gamma_events(self, request: web.Request) -> web.Response:
        ms = self._gamma_filter(request)
        return _json(
            [
                {
                    "id": "ev-" + m.gamma_id,
                    "slug": m.slug,
                    "title": m.question,
                    "negRisk": m.neg_risk,
                    "markets": [gamma_market(m)],
                }
                for m in ms
            ]
        )
