"""KalshiHttp against a tiny real aiohttp server on loopback: signatures, pages, DELETE bodies,
429 absorption, and a create whose reply is lost resolved by client_order_id lookup."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pmbot.clock import LiveClock
from pmbot.core.orders import Side
from pmbot.errors import AuthError, NotFound, RateLimited
from pmbot.venues.kalshi.http import KalshiHttp
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.urls import KalshiUrls


class FastClock(LiveClock):
    """Real time, but backoff sleeps are skipped (loopback tests never wait)."""

    async def sleep(self, seconds: float) -> None:
        return None


class Server:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.pub = key.public_key()
        self.fail_429 = 0
        self.expire_ts_below = 0  # answer 401 header_timestamp_expired to older timestamps
        self.seen_ts: list[int] = []
        self.sigs: list[str] = []
        self.drop_after_create = 0
        self.refuse_creates_429 = 0  # answer the next N creates 429 (before processing)
        self.refuse_after_drop = 0  # once a reply is dropped, refuse this many creates
        self.hide_orders = False  # the orders list lags: new orders are not in it yet
        self.orders: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str, bytes]] = []

    def verify(self, r: web.Request) -> None:
        msg = (r.headers["KALSHI-ACCESS-TIMESTAMP"] + r.method + r.path).encode()
        try:
            self.pub.verify(
                base64.b64decode(r.headers["KALSHI-ACCESS-SIGNATURE"]),
                msg,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        except Exception:
            raise web.HTTPUnauthorized(
                text=json.dumps(
                    {
                        "error": {
                            "code": "authentication_error",
                            "message": "authentication_error",
                            "details": "INCORRECT_API_KEY_SIGNATURE",
                        }
                    }
                ),
                content_type="application/json",
            ) from None

    @web.middleware
    async def mw(self, r: web.Request, handler: Any) -> web.StreamResponse:
        body = await r.read()
        self.log.append((r.method, r.path_qs, body))
        self.verify(r)
        self.seen_ts.append(int(r.headers["KALSHI-ACCESS-TIMESTAMP"]))
        self.sigs.append(r.headers["KALSHI-ACCESS-SIGNATURE"])
        if self.expire_ts_below and self.seen_ts[-1] < self.expire_ts_below:
            return web.json_response(
                {
                    "error": {
                        "code": "header_timestamp_expired",
                        "message": "header timestamp expired",
                    }
                },
                status=401,
            )
        if self.fail_429:
            self.fail_429 -= 1
            return web.json_response({"error": "too many requests"}, status=429)
        return await handler(r)

    def app(self) -> web.Application:
        a = web.Application(middlewares=[self.mw])
        a.router.add_get("/trade-api/v2/markets", self.markets)
        a.router.add_post("/trade-api/v2/portfolio/events/orders", self.create)
        a.router.add_get("/trade-api/v2/portfolio/orders", self.list_orders)
        a.router.add_delete("/trade-api/v2/portfolio/events/orders/batched", self.batch_cancel)
        a.router.add_delete("/trade-api/v2/portfolio/events/orders/{oid}", self.cancel)
        return a

    async def markets(self, r: web.Request) -> web.Response:
        page = int(r.query.get("cursor") or 0)
        ms = [
            {
                "ticker": f"M{page}{i}",
                "event_ticker": "E",
                "status": "active",
                "close_time": "2026-11-24T21:00:00Z",
                "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
                "yes_bid_dollars": "0.0000",
                "yes_ask_dollars": "1.0000",
            }
            for i in range(2)
        ]
        return web.json_response({"markets": ms, "cursor": str(page + 1) if page < 2 else ""})

    async def create(self, r: web.Request) -> web.StreamResponse:
        b = await r.json()
        if self.refuse_creates_429:
            self.refuse_creates_429 -= 1
            return web.json_response({"error": "too many requests"}, status=429)
        if b["client_order_id"] in {o["client_order_id"] for o in self.orders.values()}:
            return web.json_response(
                {"error": {"code": "order_already_exists", "message": "order already exists"}},
                status=409,
            )
        oid = f"o{len(self.orders)}"
        self.orders[oid] = {
            "order_id": oid,
            "client_order_id": b["client_order_id"],
            "ticker": b["ticker"],
            "status": "resting",
            "book_side": b["side"],
            "yes_price_dollars": b["price"],
            "fill_count_fp": "0.00",
            "remaining_count_fp": b["count"],
            "initial_count_fp": b["count"],
        }
        if self.drop_after_create:
            self.drop_after_create -= 1
            self.refuse_creates_429 = self.refuse_after_drop
            assert r.transport is not None
            r.transport.close()  # the order exists, the reply is lost
            return web.Response()
        return web.json_response(
            {
                "order_id": oid,
                "client_order_id": b["client_order_id"],
                "fill_count": "0.00",
                "remaining_count": b["count"],
                "ts_ms": 1,
            },
            status=201,
        )

    async def list_orders(self, r: web.Request) -> web.Response:
        shown = [] if self.hide_orders else list(self.orders.values())
        return web.json_response({"orders": shown, "cursor": ""})

    async def cancel(self, r: web.Request) -> web.Response:
        o = self.orders.get(r.match_info["oid"])
        if o is None or o["status"] != "resting":
            return web.json_response(
                {"error": {"code": "not_found", "message": "not found", "service": "exchange"}},
                status=404,
            )
        o["status"] = "canceled"
        return web.json_response(
            {"order_id": o["order_id"], "reduced_by": o["remaining_count_fp"], "ts_ms": 2}
        )

    async def batch_cancel(self, r: web.Request) -> web.Response:
        b = await r.json()
        return web.json_response(
            {
                "orders": [
                    {
                        "order_id": x["order_id"],
                        "reduced_by": "0.00",
                        "error": {"code": "not_found", "message": "not found"},
                    }
                    for x in b["orders"]
                ]
            }
        )


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def rig(key: rsa.RSAPrivateKey) -> AsyncIterator[tuple[Server, KalshiHttp]]:
    srv = Server(key)
    runner = web.AppRunner(srv.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    urls = KalshiUrls(
        f"http://127.0.0.1:{port}/trade-api/v2", f"ws://127.0.0.1:{port}/trade-api/ws/v2"
    )
    http = KalshiHttp(urls, KalshiSigner("kid", key), clock=FastClock(), rng=random.Random(1))
    async with http:
        yield srv, http
    await runner.cleanup()


async def test_pages_signatures_and_delete_body(rig: tuple[Server, KalshiHttp]) -> None:
    srv, http = rig
    ms = await http.markets(status="open")
    assert [m.ticker for m in ms] == ["M00", "M01", "M10", "M11", "M20", "M21"]
    assert srv.log[1][1].startswith(
        "/trade-api/v2/markets?status=open&cursor=1"
    )  # query not signed, still verified
    r = await http.batch_cancel(["a", "b"])
    assert [i.error.code for i in r.orders if i.error] == ["not_found", "not_found"]
    assert json.loads(srv.log[-1][2]) == {"orders": [{"order_id": "a"}, {"order_id": "b"}]}


async def test_429_burst_absorbed_without_losing_an_order(rig: tuple[Server, KalshiHttp]) -> None:
    srv, http = rig
    srv.fail_429 = 3
    r = await http.create_order("T", Side.BID, 4700, 100)
    assert r.order_id == "o0" and len(srv.orders) == 1 and http.retries_429 == 3
    srv.fail_429 = 2
    assert len(await http.markets()) == 6
    srv.fail_429 = 99
    with pytest.raises(RateLimited):
        await http.create_order("T", Side.BID, 4600, 100, client_order_id="again")
    srv.fail_429 = 0
    assert (
        await http.create_order("T", Side.BID, 4600, 100, client_order_id="again")
    ).order_id == "o1"
    srv.fail_429 = 99
    with pytest.raises(RateLimited):
        await http.amend_order(
            "o0", ticker="T", side=Side.BID, price=4800, count=100
        )  # not retried
    srv.fail_429 = 0


async def test_lost_create_reply_resolved_by_lookup_not_resubmission(
    rig: tuple[Server, KalshiHttp],
) -> None:
    srv, http = rig
    srv.drop_after_create = 1
    r = await http.create_order("T", Side.ASK, 5300, 200, client_order_id="mine-1")
    assert r.order_id == "o0" and r.client_order_id == "mine-1"
    assert len(srv.orders) == 1 and sum(1 for m, p, _ in srv.log if m == "POST") == 1
    with pytest.raises(ValueError):
        await http.create_order("T", Side.ASK, 5300, 200, client_order_id="mine-1")
    await http.cancel_order("o0")
    with pytest.raises(NotFound) as ei:
        await http.cancel_order("o0")
    assert ei.value.code == "not_found" and ei.value.status == 404


async def test_refused_resend_of_a_lost_create_is_outcome_unknown(
    rig: tuple[Server, KalshiHttp],
) -> None:
    """Regression (review): the first create landed but its reply was lost, the lookup could
    not see it yet (read lag), and the resend of the same id was refused with 429. That
    refusal says nothing about the first try: the outcome is unknown (reconciliation finds
    the order), not 'rate limited' (which the order manager takes as never placed)."""
    from pmbot.errors import VenueUnavailable

    srv, http = rig
    srv.drop_after_create, srv.hide_orders, srv.refuse_after_drop = 1, True, 10
    with pytest.raises(VenueUnavailable):
        await http.create_order("T", Side.BID, 4700, 100, client_order_id="lost-1")
    assert len(srv.orders) == 1  # the first try rests at the venue
    with pytest.raises(ValueError):  # and its id stays burned
        await http.create_order("T", Side.BID, 4700, 100, client_order_id="lost-1")


async def test_bad_key_is_auth_error_with_server_code(rig: tuple[Server, KalshiHttp]) -> None:
    _, http = rig
    http.signer = KalshiSigner(
        "kid", rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    with pytest.raises(AuthError) as ei:
        await http.orders()
    assert (
        ei.value.code == "authentication_error"
        and ei.value.details == "INCORRECT_API_KEY_SIGNATURE"
    )


async def test_refused_connection_retries_even_a_write(key: rsa.RSAPrivateKey) -> None:
    """Regression (chaos suite, exchange restart): a refused connect sent nothing, so the
    cancel that pulls quotes is retried instead of left UNKNOWN until reconciliation."""
    import socket

    from pmbot.errors import VenueUnavailable

    with socket.socket() as s:  # a port on which nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    urls = KalshiUrls(
        f"http://127.0.0.1:{port}/trade-api/v2", f"ws://127.0.0.1:{port}/trade-api/ws/v2"
    )
    http = KalshiHttp(
        urls, KalshiSigner("kid", key), clock=FastClock(), rng=random.Random(1), max_retries=3
    )
    async with http:
        with pytest.raises(VenueUnavailable):
            await http.batch_cancel(["a"])
    assert http.calls == 4


async def test_prepaid_writes_spend_the_credit_not_the_bucket(
    rig: tuple[Server, KalshiHttp],
) -> None:
    """The order manager pays for a plan at commit; its calls then take nothing more."""
    _srv, http = rig
    b = http.write_bucket
    http.prepay_writes(20)
    level = b.available(http.clock.monotonic())
    assert http.write_credit == 20 and level <= 80.5
    await http.create_order("T", Side.BID, 4700, 100)  # 10 tokens, from the credit
    await http.create_order("T", Side.BID, 4600, 100)
    assert http.write_credit == 0
    assert b.available(http.clock.monotonic()) >= level  # only refilled since
    await http.create_order("T", Side.BID, 4500, 100)  # no credit left: the bucket pays
    assert b.available(http.clock.monotonic()) < level
    # never more than the bucket holds: the rest is reserved by the calls themselves
    http.prepay_writes(10_000)
    assert http.write_credit <= 100 and b.available(http.clock.monotonic()) < 1


async def test_create_never_resent_after_its_deadline(rig: tuple[Server, KalshiHttp]) -> None:
    """A quote is only good while fresh: a create refused by 429s or lost to 5xx is not sent
    again once `create_max_age_s` has passed; the caller gets the error and requotes."""
    srv, http = rig
    http.create_max_age_s = 0.0
    srv.fail_429 = 3
    with pytest.raises(RateLimited):
        await http.create_order("T", Side.BID, 4700, 100, client_order_id="late-1")
    assert srv.orders == {} and sum(1 for m, p, _ in srv.log if m == "POST") == 1
    srv.fail_429 = 0
    # refused before processing: the id was not burned
    assert (await http.create_order("T", Side.BID, 4700, 100, client_order_id="late-1")).order_id


def _stock_create_signature(http: KalshiHttp, age_ms: int) -> tuple[Any, str, int]:
    """Give `http` a signature stock holding one create signature `age_ms` old."""
    from pmbot.venues.kalshi.presign import PresignedHeaders

    assert http.signer is not None
    pool = http.presign = PresignedHeaders(http.signer, max_age_ms=5_000, refresh_ms=1_000)
    path = http.urls.signed_path("/portfolio/events/orders")
    now_ms = http.wall.now_ns() // 1_000_000
    pool.add(pool.sign_many(pool.due([("POST", path)], now_ms), now_ms - age_ms))
    return pool, path, now_ms


async def test_presigned_write_is_used_once_and_verifies(rig: tuple[Server, KalshiHttp]) -> None:
    """A ready-made signature (signed ahead, in another thread in the app) is what the
    venue sees for a stocked path; it verifies, and it is never sent twice."""
    srv, http = rig
    pool, _path, now_ms = _stock_create_signature(http, age_ms=100)
    await http.create_order("T", Side.BID, 4700, 100)
    await http.create_order("T", Side.BID, 4600, 100)  # the stock is empty: signed on the spot
    assert (pool.hits, pool.misses) == (1, 1)
    assert srv.seen_ts[-2] == now_ms - 100 and srv.seen_ts[-1] >= now_ms
    assert len(set(srv.sigs)) == len(srv.sigs)  # every signature the venue saw is distinct


async def test_timestamp_expired_turns_presigning_off_and_resends(
    rig: tuple[Server, KalshiHttp],
) -> None:
    """If the venue's clock disagrees with ours by more than the stock's age, the venue says
    header_timestamp_expired: the request goes again signed on the spot, the stock is off."""
    srv, http = rig
    pool, path, now_ms = _stock_create_signature(http, age_ms=3_000)
    srv.expire_ts_below = now_ms - 1_000  # the venue is 2 s less tolerant than our stock
    r = await http.create_order("T", Side.BID, 4700, 100, client_order_id="ts-1")
    assert r.order_id and len(srv.orders) == 1
    assert not pool.enabled and pool.take("POST", path, now_ms) is None
    assert srv.seen_ts[-2] == now_ms - 3_000 and srv.seen_ts[-1] >= now_ms
