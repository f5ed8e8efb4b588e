"""Simulator throughput over loopback (server and client share one process and event loop).

1. Signed V2 create + cancel round trips per second (RSA-PSS signing and verification included)
   against the baseline of plain unsigned GET /exchange/status round trips on the same server.
2. orderbook_delta frames per second fanned out to one WS subscriber, against the baseline of
   the same number of pre-encoded frames pushed through a bare aiohttp WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import Reporter, parse_args
from pmbot.clock import ManualClock
from pmbot.sim.kalshi_server import KalshiSim, SimConfig

START = 1_795_532_400 * 10**9  # 2026-11-24 10:00 ET (a Tuesday, session open)
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def signer(sim: KalshiSim):  # type: ignore[no-untyped-def]
    key = serialization.load_pem_private_key(sim.private_key_pem, password=None)

    def headers(method: str, path: str) -> dict[str, str]:
        ts = str(int(time.time() * 1000))
        sig = key.sign(f"{ts}{method}{path}".encode(), PSS, hashes.SHA256())  # type: ignore[union-attr,call-arg]
        return {
            "KALSHI-ACCESS-KEY": sim.key_id,
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
            "Content-Type": "application/json",
        }

    return headers


async def bench_orders(n: int) -> tuple[float, float]:
    sim = KalshiSim(
        SimConfig(rate_limits=False, flow=None, balance="1000000.0000"), clock=ManualClock(START)
    )
    await sim.start()
    t = next(t for t, m in sim.exchange.markets.items() if m.status == "active")
    sign = signer(sim)
    base = sim.rest_url.split("/trade-api")[0]
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(20):
                await (await s.get(f"{sim.rest_url}/exchange/status")).read()
            t0 = time.perf_counter()
            for _ in range(n):
                async with s.get(f"{sim.rest_url}/exchange/status") as r:
                    await r.read()
            base_rate = n / (time.perf_counter() - t0)
            path = "/trade-api/v2/portfolio/events/orders"
            t0 = time.perf_counter()
            for i in range(n):
                body = json.dumps(
                    {
                        "ticker": t,
                        "side": "bid",
                        "count": "1.00",
                        "price": "0.0100",
                        "time_in_force": "good_till_canceled",
                        "client_order_id": f"b{i}",
                        "self_trade_prevention_type": "taker_at_cross",
                    }
                )
                async with s.post(base + path, data=body, headers=sign("POST", path)) as r:
                    oid = (await r.json())["order_id"]
                    assert r.status == 201
                p2 = f"{path}/{oid}"
                async with s.delete(base + p2, headers=sign("DELETE", p2)) as r:
                    assert r.status == 200
            rate = n / (time.perf_counter() - t0)
    finally:
        await sim.stop()
    return rate, base_rate


async def bench_deltas(n: int) -> tuple[float, float]:
    sim = KalshiSim(SimConfig(rate_limits=False, flow=None), clock=ManualClock(START))
    sim.add_key("mm")
    await sim.start()
    t = next(t for t, m in sim.exchange.markets.items() if m.status == "active")
    sign = signer(sim)
    x = sim.exchange
    try:
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(sim.ws_url, headers=sign("GET", "/trade-api/ws/v2"))
            await ws.send_str(
                json.dumps(
                    {
                        "id": 1,
                        "cmd": "subscribe",
                        "params": {"channels": ["orderbook_delta"], "market_ticker": t},
                    }
                )
            )
            for _ in range(2):
                await ws.receive()
            # only the fan-out is timed: the creates that make the deltas are not (they rest
            # on one account, and each create's balance check walks its resting orders)
            elapsed = 0.0
            done = 0
            batch = 500
            while done < n:
                for i in range(batch):
                    x.create(
                        "mm",
                        ticker=t,
                        side="bid",
                        price=100 + (i % 40) * 100,
                        count=100,
                        tif="good_till_canceled",
                        stp="maker",
                        ts_ns=sim.now_ns(),
                    )
                t0 = time.perf_counter()
                sim.hub.dispatch(x.drain(), sim.now_ns())
                for _ in range(batch):
                    await ws.receive()
                elapsed += time.perf_counter() - t0
                done += batch
            rate = done / elapsed
            await ws.close()
    finally:
        await sim.stop()
    # baseline: a bare aiohttp WS pushing same-size pre-encoded frames
    frame = json.dumps(
        {
            "type": "orderbook_delta",
            "sid": 1,
            "seq": 2,
            "msg": {
                "market_ticker": t,
                "market_id": "f5ed38e2-0991-4c8f-817e-08c4fd9cbfdb",
                "price_dollars": "0.4700",
                "delta_fp": "1.00",
                "side": "yes",
                "ts": "2026-06-11T06:31:29.957081Z",
                "ts_ms": 1781159489957,
            },
        }
    )

    async def handler(request: web.Request) -> web.WebSocketResponse:
        w = web.WebSocketResponse()
        await w.prepare(request)
        await w.receive()
        for _ in range(n):
            await w.send_str(frame)
        await w.close()
        return w

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(f"ws://127.0.0.1:{port}/ws")
        t0 = time.perf_counter()
        await ws.send_str("go")
        for _ in range(n):
            await ws.receive()
        base_rate = n / (time.perf_counter() - t0)
        await ws.close()
    await runner.cleanup()
    return rate, base_rate


def main() -> int:
    args = parse_args(__doc__ or "", lambda p: p.add_argument("--n", type=int, default=1000))
    rep = Reporter(args.json)
    rate, base = asyncio.run(bench_orders(args.n))
    rep.figure(
        "sim_signed_create_cancel_round_trips",
        rate,
        "pairs/s",
        "unsigned GET /exchange/status",
        base,
        higher_is_better=True,
    )
    # context: the client's own RSA-PSS signing (2 per pair) bounds the pair rate from above
    from _bench import median_ns_per_op
    from pmbot.sim.kalshi_auth import generate_key

    k = generate_key()
    key = serialization.load_pem_private_key(k.private_pem, password=None)
    ns = median_ns_per_op(
        lambda: key.sign(
            b"1781159360866POST/trade-api/v2/portfolio/events/orders",
            PSS,  # type: ignore[union-attr,call-arg]
            hashes.SHA256(),
        ),
        1,
        repeat=3,
        min_time=0.1,
    )
    rep.figure(
        "client_rsa_pss_sign_2048",
        ns / 1000,
        "us/op",
        "one create+cancel pair (2 signs)",
        1e6 / rate / 1,
        higher_is_better=False,
    )
    rate, base = asyncio.run(bench_deltas(args.n * 20))
    rep.figure(
        "sim_ws_orderbook_deltas_fanout",
        rate,
        "frames/s",
        "bare aiohttp WS pre-encoded frames",
        base,
        higher_is_better=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
